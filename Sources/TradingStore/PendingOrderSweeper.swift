import DayTraderCore
import PostgresNIO

extension TradingStore {
    /// An account whose expired orders the sweeper released.
    public struct SweptAccount: Sendable {
        public var user: UserID
        public var summaryJSON: String?
    }

    /// Releases the reserves of pending orders whose 60 s have run out, for up to `limit`
    /// accounts, each in its own transaction. Safe to run on every instance at once: an account
    /// another instance is busy with is skipped (SKIP LOCKED), and that instance releases its
    /// orders anyway when its transaction starts.
    public func expireDuePendingOrders(limit: Int = 100) async throws -> [SweptAccount] {
        let now = clock.now()
        var due: [String] = []
        let rows = try await client.query(
            "SELECT DISTINCT user_id FROM pending_orders WHERE expires_at_ms <= \(now.unixMillis) LIMIT \(limit)",
            logger: logger
        )
        for try await user in rows.decode(String.self) {
            due.append(user)
        }
        var swept: [SweptAccount] = []
        for rawUser in due {
            let user = try UserID(validating: rawUser)
            let summary: String? = try await client.withTransaction(logger: logger) { connection in
                let locked = try await connection.query(
                    "SELECT 1 FROM accounts WHERE user_id = \(user.rawValue) FOR UPDATE SKIP LOCKED",
                    logger: logger
                )
                var isMine = false
                for try await _ in locked.decode(Int.self) { isMine = true }
                guard isMine else { return nil }
                let transaction = CommandTransaction(connection: connection, logger: logger, user: user, transactionNum: 0, now: now)
                guard try await transaction.expirePendingOrders() > 0 else { return nil }
                return try await Self.summaryJSON(for: user, now: now, on: connection, logger: logger)
            }
            if let summary {
                swept.append(SweptAccount(user: user, summaryJSON: summary))
            }
        }
        return swept
    }
}
