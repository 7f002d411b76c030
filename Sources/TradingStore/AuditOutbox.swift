import PostgresNIO

/// The outbox side of the audit pipeline: records leave PostgreSQL only once the broker has them.
extension TradingStore {
    /// Hands the oldest waiting records after id `after`, at most `limit`, to `publish` as one
    /// JSON array and deletes them once `publish` returns (the broker confirmed them). Returns
    /// how many went and the highest id among them.
    ///
    /// The rows are deleted (so locked) before they are published, in a transaction that commits
    /// only after the confirm: every instance can relay at once without two sending the same rows,
    /// and if `publish` throws, or this process dies, the transaction rolls back and the rows are
    /// sent again later. The audit server stores a record's events once, however often it arrives.
    ///
    /// `after` lets a relay that is catching up on a backlog start where its last batch ended:
    /// the head of the table is then a long run of deleted rows not yet vacuumed, and a scan from
    /// the start would step over all of them on every batch (seen: 350 ms a batch with 400,000
    /// records waiting, so the backlog only grew). Rows below `after` that are still there (a batch
    /// another relay rolled back) are found by the next scan from the start (`after` 0).
    public func relayOutbox(after: Int64 = 0, limit: Int, publish: (_ message: [UInt8]) async throws -> Void) async throws -> (count: Int, last: Int64) {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                DELETE FROM audit_outbox WHERE id IN (
                    SELECT id FROM audit_outbox WHERE id > \(after) ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id, record
                """,
                logger: logger
            )
            var records: [(id: Int64, record: String)] = []
            for try await row in rows.decode((Int64, String).self) { records.append(row) }
            guard !records.isEmpty else { return (0, after) }
            records.sort { $0.id < $1.id }
            var message: [UInt8] = [UInt8(ascii: "[")]
            message.reserveCapacity(records.reduce(2) { $0 + $1.record.utf8.count + 1 })
            for (index, entry) in records.enumerated() {
                if index > 0 { message.append(UInt8(ascii: ",")) }
                message.append(contentsOf: entry.record.utf8)
            }
            message.append(UInt8(ascii: "]"))
            try await publish(message)
            return (records.count, records[records.count - 1].id)
        }
    }

    /// Waits until every record written to the outbox before the call has been relayed and
    /// confirmed by the broker; false if that has not happened within `timeout`.
    ///
    /// DUMPLOG's barrier (docs/ARCHITECTURE.md): once this returns true, a marker the audit
    /// server publishes comes out of the audit queue after all of those records.
    public func awaitOutboxRelayed(within timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var newest: Int64?
        for try await id in try await client.query("SELECT max(id) FROM audit_outbox", logger: logger).decode(Int64?.self) {
            newest = id
        }
        guard let newest else { return true }
        while true {
            var waiting = false
            for try await _ in try await client.query("SELECT 1 FROM audit_outbox WHERE id <= \(newest) LIMIT 1", logger: logger).decode(Int.self) {
                waiting = true
            }
            if !waiting { return true }
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
