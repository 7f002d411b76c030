import DayTraderCore
import PostgresNIO

extension TradingStore {
    /// Accounts with pending orders whose 60 s have run out, at most `limit` of them.
    public func accountsWithExpiredOrders(limit: Int = 100) async throws -> [UserID] {
        let rows = try await client.query(
            "SELECT DISTINCT user_id FROM pending_orders WHERE expires_at_ms <= \(clock.now().unixMillis) LIMIT \(limit)",
            logger: logger
        )
        var users: [UserID] = []
        for try await user in rows.decode(String.self) {
            users.append(try UserID(validating: user))
        }
        return users
    }

    /// Releases the reserves of the user's expired orders in one transaction, so they come back
    /// with no other traffic. Returns the new summary, or `nil` when there was nothing to do.
    ///
    /// Safe on every instance at once: an account another transaction holds is skipped
    /// (SKIP LOCKED), and that transaction releases the orders itself when it starts.
    public func expirePendingOrders(for user: UserID) async throws -> AccountSnapshot? {
        let audit = AuditTrail(server: serverName, now: clock.now())
        return try await client.withTransaction(logger: logger) { connection in
            // Every movement here carries its order's own transactionNum.
            let transaction = CommandTransaction(connection: connection, logger: logger, user: user, transactionNum: 0, audit: audit)
            guard try await transaction.tryLockAccount() else { return nil }
            guard try await transaction.expirePendingOrders() > 0 else { return nil }
            try await transaction.bumpVersion()
            try await audit.write(on: connection, logger: logger)
            return try await Self.summary(for: user, now: audit.now, on: connection, logger: logger)
        }
    }
}
