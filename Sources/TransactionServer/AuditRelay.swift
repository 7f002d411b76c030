import AMQPClient
import Logging
import ServiceLifecycle
import TradingStore

/// Moves audit events from the Postgres outbox to RabbitMQ. Every instance runs one; the one that
/// holds the relay lease (`TradingStore.withRelayLease`) relays, the others try for the lease
/// every `standbyMillis` and take over when its holder stops or dies.
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
    /// How often an instance without the lease tries for it.
    static let standbyMillis = 1_000
    /// How often the relay vacuums the outbox while it sends rows (`OutboxRelayLease.vacuum`):
    /// at full speed about 15,000 deleted rows each time, a few megabytes.
    static let vacuumInterval = Duration.seconds(5)

    func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let pauseMillis: Int
            do {
                let held = try await store.withRelayLease { lease in
                    logger.info("this instance relays the audit outbox")
                    try await relay(on: lease, failures: &failures)
                }
                pauseMillis = held ? 0 : Self.standbyMillis
            } catch {
                // A publish that failed, or the lease's connection: the lease is given up (or
                // gone with its connection), and taken again, by this instance or another.
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

    /// Relays while this instance holds the lease, until the service shuts down or a batch fails.
    private func relay(on lease: OutboxRelayLease, failures: inout Int) async throws {
        // A new holder starts with a scan from the head (RelayCursor).
        var cursor = RelayCursor()
        var sentSinceVacuum = 0
        var lastVacuum = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let began = ContinuousClock.now
                if sentSinceVacuum > 0, began - lastVacuum >= Self.vacuumInterval {
                    do {
                        try await lease.vacuum()
                    } catch {
                        // Autovacuum still comes; a broken connection fails the next batch.
                        logger.notice("could not vacuum the audit outbox", metadata: ["error": "\(error)"])
                    }
                    sentSinceVacuum = 0
                    lastVacuum = .now
                }
                let (sent, last, assigned) = try await lease.relay(after: cursor.start, limit: Self.batchLimit) { message in
                    try await publisher.publish([message], type: nil)
                }
                sentSinceVacuum += sent
                if failures > 0 {
                    logger.info("audit relay is publishing again", metadata: ["failedAttempts": "\(failures)"])
                    failures = 0
                }
                let full = sent == Self.batchLimit
                cursor.scanned(sent: sent, last: last, full: full, assigned: assigned, began: began, ended: .now)
                // A full batch means more are waiting: go on at once.
                if full { continue }
            } catch is OutboxScanTimedOut {
                logger.notice(
                    "an audit outbox scan ran out of time; the relay drains from its last batch",
                    metadata: ["from": "\(cursor.start)", "limit": "\(OutboxScanTimedOut.limit)"])
                cursor.timedOut(at: .now)
                continue
            }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .milliseconds(idleMillis))
            }
        }
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
