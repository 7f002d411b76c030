import AMQPClient
import Logging
import ServiceLifecycle
import TradingStore

/// Moves audit events from the Postgres outbox to RabbitMQ, on every instance.
///
/// A batch leaves the outbox only after the broker confirmed it. While RabbitMQ is down the
/// events wait in Postgres (trading goes on), and the relay retries with a growing pause until
/// the broker is back; then the backlog flows in full batches.
struct AuditRelay: Service {
    let store: TradingStore
    let publisher: any MessagePublishing
    /// The pause before looking at an empty outbox again.
    let idleMillis: Int
    let logger: Logger
    /// Events per message: large enough that a backlog drains fast, small enough for one
    /// Postgres transaction and one broker confirm.
    static let batchLimit = 500
    static let longestPauseMillis = 2_000

    func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let pauseMillis: Int
            do {
                let sent = try await store.relayOutbox(limit: Self.batchLimit) { message in
                    try await publisher.publish([message], type: nil)
                }
                if failures > 0 {
                    logger.info("audit relay is publishing again", metadata: ["failedAttempts": "\(failures)"])
                    failures = 0
                }
                // A full batch means more are waiting: go on at once.
                if sent == Self.batchLimit { continue }
                pauseMillis = idleMillis
            } catch {
                failures += 1
                if failures == 1 {
                    logger.warning("audit relay cannot publish; events wait in the outbox", metadata: ["error": "\(error)"])
                }
                pauseMillis = min(Self.longestPauseMillis, idleMillis << min(failures, 10))
            }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .milliseconds(pauseMillis))
            }
        }
        await drain()
    }

    /// On the way out, hands over what is waiting, so a stopped instance leaves no events
    /// behind for others to find. Best effort: whatever stays is relayed by the next instance.
    private func drain() async {
        do {
            while try await store.relayOutbox(limit: Self.batchLimit, publish: { try await publisher.publish([$0], type: nil) }) > 0 {}
        } catch {
            logger.warning("audit events left in the outbox at shutdown; another instance will relay them", metadata: ["error": "\(error)"])
        }
    }
}
