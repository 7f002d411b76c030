import Synchronization

/// A wait that did not finish in time.
public struct StillWaiting: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "still waiting after the time limit: \(what)" }
}

/// Runs `operation` but gives up after `limit`, so a bug that blocks cannot hang the test run.
/// (A task group would not do: it waits for its children, including one stuck in a C call.)
public func within<T: Sendable>(
    _ limit: Duration, _ what: String, _ operation: @escaping @Sendable () async -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let waiter = FirstResumeWins(continuation)
        Task {
            let value = await operation()
            waiter.resume(with: .success(value))
        }
        Task {
            try? await Task.sleep(for: limit)
            waiter.resume(with: .failure(StillWaiting(what: what)))
        }
    }
}

/// A continuation that only the first of several racing resumers resumes.
private final class FirstResumeWins<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<T, any Error>) {
        continuation.withLock { $0.take() }?.resume(with: result)
    }
}
