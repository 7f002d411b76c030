import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bounds an operation that rabbitmq-c cannot bound itself: after `limit`, unless disarmed
/// first, it shuts the socket down, so a call blocked on it (rabbitmq-c writes with no timeout
/// at all) fails at once with a socket error.
///
/// Why: a broker under a memory or disk alarm stops reading from publishing connections; once
/// the socket buffers are full, `amqp_basic_publish` would block the publisher's thread forever.
///
/// The watchdog keeps its own duplicate of the descriptor, so it never touches a descriptor
/// number that rabbitmq-c has closed (and the process may have reused) in the meantime;
/// `shutdown` on the duplicate acts on the shared socket.
final class SocketWatchdog: Sendable {
    private struct State {
        var descriptor: Int32
        var fired = false
    }

    private let state: Mutex<State>

    /// Arms the watchdog on `socket` (a descriptor that stays owned by the caller).
    init(socket: Int32, limit: Duration) {
        // Close-on-exec, as rabbitmq-c's own descriptor is: a process spawned meanwhile (a
        // daemon, say) must not inherit the socket and so keep the connection open after we
        // close it.
        state = Mutex(State(descriptor: socket >= 0 ? fcntl(socket, F_DUPFD_CLOEXEC, 0) : -1))
        let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
        // Weak: a watchdog disarmed long before its deadline is freed at once.
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { [weak self] in
            self?.fire()
        }
    }

    private func fire() {
        state.withLock { state in
            guard state.descriptor >= 0 else { return }
            shutdown(state.descriptor, Int32(SHUT_RDWR))
            state.fired = true
        }
    }

    /// Stops the watchdog; returns whether it fired (and so caused whatever error was seen).
    func disarm() -> Bool {
        state.withLock { state in
            if state.descriptor >= 0 {
                close(state.descriptor)
                state.descriptor = -1
            }
            return state.fired
        }
    }

    deinit {
        _ = disarm()
    }
}
