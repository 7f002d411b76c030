import PostgresNIO

/// The outbox side of the audit pipeline: events leave Postgres only once the broker has them.
extension TradingStore {
    /// Hands the oldest waiting events, at most `limit`, to `publish` as one JSON array and
    /// deletes them once `publish` returns (the broker confirmed them). Returns how many went.
    ///
    /// The rows stay locked (FOR UPDATE SKIP LOCKED) while they are published, so every instance
    /// can relay at once without two sending the same rows; if `publish` throws, or this process
    /// dies, the transaction rolls back and the rows are sent again later. The audit server
    /// drops the duplicates that this at-least-once delivery can cause.
    public func relayOutbox(limit: Int, publish: (_ message: [UInt8]) async throws -> Void) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT id, event FROM audit_outbox ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED",
                logger: logger
            )
            var ids: [Int64] = []
            var message: [UInt8] = [UInt8(ascii: "[")]
            for try await (id, event) in rows.decode((Int64, String).self) {
                if !ids.isEmpty { message.append(UInt8(ascii: ",")) }
                ids.append(id)
                message.append(contentsOf: event.utf8)
            }
            guard !ids.isEmpty else { return 0 }
            message.append(UInt8(ascii: "]"))
            try await publish(message)
            try await connection.query("DELETE FROM audit_outbox WHERE id = ANY(\(ids))", logger: logger)
            return ids.count
        }
    }
}
