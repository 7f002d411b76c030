import ServiceLifecycle
import Synchronization

/// Holds background services back until start-up work is done (the schema migration, which
/// runs in `beforeServerStarts`), so that they never run against tables that do not exist yet.
///
/// A ServiceGroup starts every service at once; wrap those that need the schema with
/// ``holding(_:)`` and call ``open()`` when the work is done.
public final class StartupGate: Sendable {
    private enum State {
        case closed(waiters: [Int: CheckedContinuation<Void, any Error>])
        case open
    }

    private let state = Mutex(State.closed(waiters: [:]))
    private let nextWaiter = Atomic(0)

    public init() {}

    /// Lets every waiting service (and every later one) go on.
    public func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard case .closed(let waiters) = state else { return [] }
            state = .open
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open; throws `CancellationError` if the task is cancelled first.
    public func wait() async throws {
        let id = nextWaiter.add(1, ordering: .relaxed).newValue
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let proceed: Result<Void, any Error>? = state.withLock { state in
                    switch state {
                    case .open:
                        return .success(())
                    case .closed where Task.isCancelled:
                        return .failure(CancellationError())
                    case .closed(var waiters):
                        waiters[id] = continuation
                        state = .closed(waiters: waiters)
                        return nil
                    }
                }
                if let proceed { continuation.resume(with: proceed) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard case .closed(var waiters) = state, let waiter = waiters.removeValue(forKey: id) else { return nil }
                state = .closed(waiters: waiters)
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// `service`, started only once the gate is open (or never, if shutdown comes first).
    public func holding(_ service: some Service) -> some Service {
        GatedService(gate: self, service: service)
    }
}

private struct GatedService<Wrapped: Service>: Service {
    let gate: StartupGate
    let service: Wrapped

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await gate.wait() }
        } catch is CancellationError {
            return
        }
        try await service.run()
    }
}
