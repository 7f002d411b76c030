import DayTraderCore
import Logging
import ServiceLifecycle
import TradingStore

/// Releases pending BUY and SELL reserves when their 60 s run out, with no other traffic; and
/// forgets idempotency keys older than their retention.
///
/// Runs on every instance; the store's row locks make concurrent sweeps safe, and each
/// command also releases its own user's expired orders when it starts.
struct PendingOrderSweeper: Service {
    let store: TradingStore
    let accounts: AccountCache
    let clock: any TradingClock
    let serverName: String
    let intervalMillis: Int
    /// How long an idempotency key is remembered (docs/SPEC.md): a retry within it gets the first
    /// reply; after it, the key is free again.
    let keyRetentionMillis: Int64
    let logger: Logger
    /// How often the keys are pruned.
    static let pruneEveryMillis: Int64 = 60_000

    func run() async throws {
        var lastPruned: Int64 = 0
        await repeatUntilShutdown(pausingMillis: intervalMillis) {
            let now = clock.now()
            do {
                for user in try await store.accountsWithExpiredOrders(at: now) {
                    var head = RecordHead(id: RecordID.next(), kind: .expiry, server: serverName, at: clock.now().unixMillis)
                    head.user = user.rawValue
                    do {
                        if let record = try await store.expirePendingOrders(of: user, head: head) {
                            await accounts.apply(record, user: user)
                        }
                    } catch {
                        logger.warning("could not release expired orders", metadata: ["user": "\(user)", "error": "\(error)"])
                    }
                }
            } catch {
                logger.warning("pending order sweep failed; will retry", metadata: ["error": "\(error)"])
            }
            if now.unixMillis - lastPruned >= Self.pruneEveryMillis {
                lastPruned = now.unixMillis
                do {
                    while try await store.pruneIdempotencyKeys(usedBefore: now.unixMillis - keyRetentionMillis) > 0 {}
                } catch {
                    logger.warning("could not prune idempotency keys; will retry", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// Runs `round` again and again, pausing `pausingMillis` between rounds, until the service group
/// shuts down. The pause wakes early on shutdown, so stopping never waits out a long interval.
func repeatUntilShutdown(pausingMillis: Int, _ round: () async -> Void) async {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
        await round()
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .milliseconds(pausingMillis))
        }
    }
}
