import Logging
import ServiceLifecycle
import TradingStore

/// Releases pending BUY and SELL reserves when their 60 s run out, with no other traffic.
///
/// Runs on every instance; the store's row locks make concurrent sweeps safe, and each
/// command also releases its own user's expired orders when it starts.
struct PendingOrderSweeper: Service {
    let store: TradingStore
    let accounts: AccountCache
    let intervalMillis: Int
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(pausingMillis: intervalMillis) {
            do {
                for user in try await store.accountsWithExpiredOrders() {
                    await accounts.beginWrite(user)
                    var snapshot: AccountSnapshot?
                    do {
                        snapshot = try await store.expirePendingOrders(for: user)
                    } catch {
                        logger.warning("could not release expired orders", metadata: ["user": "\(user)", "error": "\(error)"])
                    }
                    await accounts.endWrite(user, snapshot: snapshot)
                }
                await accounts.retryInvalidations()
            } catch {
                logger.warning("pending order sweep failed; will retry", metadata: ["error": "\(error)"])
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
