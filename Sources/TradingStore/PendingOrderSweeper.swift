import DayTraderCore
import PostgresNIO

extension TradingStore {
    /// Accounts with pending orders whose lifetime has run out at `now`, at most `limit` of them.
    public func accountsWithExpiredOrders(at now: Timestamp, limit: Int = 100) async throws -> [UserID] {
        let rows = try await client.query(
            "SELECT DISTINCT user_id FROM pending_orders WHERE expires_at_ms <= \(now.unixMillis) LIMIT \(limit)",
            logger: logger
        )
        var users: [UserID] = []
        for try await user in rows.decode(String.self) {
            users.append(try UserID(validating: user))
        }
        return users
    }

    /// Releases the reserves of the user's expired orders in one transaction, so they come back
    /// with no other traffic. The record, or `nil` when there was nothing to do.
    ///
    /// Safe on every instance at once: an account another transaction holds is skipped
    /// (SKIP LOCKED), and that transaction releases the orders itself when it starts.
    public func expirePendingOrders(of user: UserID, head: RecordHead) async throws -> TransactionRecord? {
        let headJSON = head.json
        let rows = try await client.query("SELECT dt_expire(\(user.rawValue), \(head.at), \(headJSON))", logger: logger)
        for try await text in rows.decode(String?.self) {
            return try text.map { text throws in try TransactionRecord(parsing: text) }
        }
        return nil
    }
}
