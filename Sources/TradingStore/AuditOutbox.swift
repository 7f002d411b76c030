import Logging
import PostgresNIO

/// The outbox side of the audit pipeline: records leave PostgreSQL only once the broker has them.
extension TradingStore {
    /// Hands the oldest waiting records after id `after`, at most `limit`, to `publish` as one
    /// JSON array and deletes them once `publish` returns (the broker confirmed them), on any
    /// connection of the pool; returns what `OutboxRelayLease.relay` returns.
    ///
    /// For a relay on its way out (it drains the outbox whether or not it holds the lease) and
    /// for tests; the running relay relays through its lease.
    public func relayOutbox(
        after: Int64 = 0, limit: Int, publish: (_ message: [UInt8]) async throws -> Void
    ) async throws -> (count: Int, last: Int64, assigned: Int64) {
        try await client.withConnection { connection in
            try await OutboxRelayLease(connection: connection, logger: logger).relay(after: after, limit: limit, publish: publish)
        }
    }

    /// Runs `body` with the relay lease if no other instance holds it, and returns whether it did.
    ///
    /// One relay at a time: two relays on one queue each keep their own place in it, and each
    /// steps over the rows the other deleted ahead of it that a vacuum has not yet removed (seen:
    /// one relay's scans from its place running out of time one after another while the other
    /// drained). The lease is a session advisory lock on one connection of the pool, held while
    /// `body` runs and released after it, or by PostgreSQL when the connection or its process
    /// dies, so another instance's relay takes over at its next try.
    public func withRelayLease(_ body: (OutboxRelayLease) async throws -> Void) async throws -> Bool {
        try await client.withConnection { connection in
            var held = false
            for try await granted in try await connection.query(
                "SELECT pg_try_advisory_lock(\(OutboxRelayLease.lockKey))", logger: logger
            ).decode(Bool.self) {
                held = granted
            }
            guard held else { return false }
            let outcome: Result<Void, any Error>
            do {
                outcome = .success(try await body(OutboxRelayLease(connection: connection, logger: logger)))
            } catch {
                outcome = .failure(error)
            }
            // Released on a connection that is still sound; a broken one took the lock with it.
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(OutboxRelayLease.lockKey))", logger: logger)
            try outcome.get()
            return true
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

/// The one connection the relay that holds the lease works on (`TradingStore.withRelayLease`).
public struct OutboxRelayLease {
    /// Arbitrary but fixed: the relay lease among the database's advisory locks.
    static let lockKey: Int64 = 468_002

    let connection: PostgresConnection
    let logger: Logger

    /// Hands the oldest waiting records after id `after`, at most `limit`, to `publish` as one
    /// JSON array and deletes them once `publish` returns (the broker confirmed them). Returns
    /// how many went, the highest id among them (`after` if none), and the outbox sequence's value
    /// read in the same statement (`assigned`: every row up to it had been written by then).
    ///
    /// The rows are deleted (so locked) before they are published, in a transaction that commits
    /// only after the confirm: if `publish` throws, or this process dies, the transaction rolls
    /// back and the rows are sent again later, and a relay draining on its way out skips them.
    /// The audit server stores a record's events once, however often it arrives.
    ///
    /// `after` lets the relay skip the head of the table, a run of deleted rows not yet vacuumed;
    /// `RelayCursor` says where to start. The scan may take at most `OutboxScanTimedOut.limit`,
    /// then throws `OutboxScanTimedOut` (nothing was sent). A statement that runs for long keeps
    /// every row deleted meanwhile from being vacuumed, or even skipped by an index scan, in every
    /// table; seen: one relay scan that ran for over five minutes while the outbox's dead rows
    /// grew to 690,000 and the whole run slowed by a third.
    public nonisolated(nonsending) func relay(
        after: Int64, limit: Int, publish: (_ message: [UInt8]) async throws -> Void
    ) async throws -> (count: Int, last: Int64, assigned: Int64) {
        do {
            return try await connection.withTransaction(logger: logger) { connection in
                try await connection.query(
                    PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(OutboxScanTimedOut.limit.components.seconds * 1000)"),
                    logger: logger
                )
                var assigned: Int64 = 0
                var records: [(id: Int64, record: String)] = []
                do {
                    let rows = try await connection.query(
                        """
                        WITH sent AS (
                            DELETE FROM audit_outbox WHERE id IN (
                                SELECT id FROM audit_outbox WHERE id > \(after) ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                            RETURNING id, record)
                        SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END, sent.id, sent.record
                        FROM (SELECT last_value, is_called FROM audit_outbox_id_seq) q LEFT JOIN sent ON true
                        """,
                        logger: logger
                    )
                    for try await (sequence, id, record) in rows.decode((Int64, Int64?, String?).self) {
                        assigned = sequence
                        if let id, let record { records.append((id, record)) }
                    }
                } catch let error as PSQLError where error.sqlState == "57014" {
                    throw OutboxScanTimedOut()
                }
                guard !records.isEmpty else { return (0, after, assigned) }
                records.sort { $0.id < $1.id }
                var message: [UInt8] = [UInt8(ascii: "[")]
                message.reserveCapacity(records.reduce(2) { $0 + $1.record.utf8.count + 1 })
                for (index, entry) in records.enumerated() {
                    if index > 0 { message.append(UInt8(ascii: ",")) }
                    message.append(contentsOf: entry.record.utf8)
                }
                message.append(UInt8(ascii: "]"))
                try await publish(message)
                return (records.count, records[records.count - 1].id, assigned)
            }
        } catch let error as PostgresTransactionError where error.closureError is OutboxScanTimedOut {
            throw OutboxScanTimedOut()
        }
    }
}

extension OutboxRelayLease {
    /// Vacuums the outbox: removes the rows the relay deleted (those no transaction can still
    /// see), so that their space is reused while it is still in PostgreSQL's buffers.
    ///
    /// The outbox is a queue in a table: every command adds a row and the relay deletes it
    /// moments later. Left to autovacuum (at most once a minute per database), a full-speed run
    /// piled up 160,000 dead rows (61 MB) between vacuums, and once the first vacuum had freed
    /// them, new rows went into free space spread over the whole table, read back from the
    /// operating system into buffers that other tables needed (DECISIONS.md 57). Takes only a lock
    /// that lets inserts and deletes go on; and it does not give back the table's empty tail
    /// (`TRUNCATE false`), which would take a lock that stops the commands' inserts.
    public nonisolated(nonsending) func vacuum() async throws {
        try await connection.query("VACUUM (TRUNCATE false) audit_outbox", logger: logger)
    }
}

/// A relay's scan of the outbox ran longer than `limit` and was cancelled; nothing was sent.
public struct OutboxScanTimedOut: Error {
    public static let limit = Duration.seconds(2)
}
