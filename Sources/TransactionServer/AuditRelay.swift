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

    /// Full batches in a row that continue after the last one's end before a scan from the start.
    static let roundsPerRescan = 16

    func run() async throws {
        var failures = 0
        // Where the next batch starts: after the last one while a backlog drains (full batches),
        // from the start otherwise (DECISIONS.md 43).
        var after: Int64 = 0
        var fullRounds = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let pauseMillis: Int
            do {
                let (sent, last) = try await store.relayOutbox(after: after, limit: Self.batchLimit) { message in
                    try await publisher.publish([message], type: nil)
                }
                if failures > 0 {
                    logger.info("audit relay is publishing again", metadata: ["failedAttempts": "\(failures)"])
                    failures = 0
                }
                // A full batch means more are waiting: go on at once.
                if sent == Self.batchLimit {
                    fullRounds += 1
                    after = fullRounds % Self.roundsPerRescan == 0 ? 0 : last
                    continue
                }
                fullRounds = 0
                if after > 0 {
                    // Caught up from the last batch on: look once more from the start.
                    after = 0
                    continue
                }
                pauseMillis = idleMillis
            } catch {
                after = 0
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
            while try await store.relayOutbox(limit: Self.batchLimit, publish: { try await publisher.publish([$0], type: nil) }).count > 0 {}
        } catch {
            logger.warning("audit events left in the outbox at shutdown; another instance will relay them", metadata: ["error": "\(error)"])
        }
    }
}
