import DayTraderCore
import Foundation
import Logging
import PostgresNIO
import SchemaMigrations

/// The audit database: every record's events once, and the log read back in order.
public struct AuditStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates or upgrades the schema; safe when several instances start at once.
    public func migrate() async throws {
        try await SchemaMigrations(advisoryLockKey: AuditSchema.advisoryLockKey, migrations: AuditSchema.migrations).apply(on: client, logger: logger)
    }

    /// Stores the events of the records in one statement, so one transaction, in the records'
    /// order; a record already stored (delivery is at least once) adds nothing. Returns how many
    /// records were new.
    ///
    /// A record's events are stored rendered as the log's XML, one row per transactionNum they
    /// carry (a command's own, and those of the orders it released), in the order the record
    /// gives them. A record whose events would not make a valid log (`AuditEvent.missingFields`)
    /// is not stored as events: it goes to `refused_records` with the reason, and DUMPLOG reports
    /// the log incomplete while any such record exists. The other records are stored as usual.
    @discardableResult
    public func insert(_ records: [TransactionRecord]) async throws -> Int {
        var groups = EventGroups()
        var ids: [UUID] = []
        var refused: [(id: String, reason: String, record: TransactionRecord)] = []
        for record in records {
            guard let id = UUID(uuidString: record.head.id) else {
                refused.append((record.head.id, "the record's id is not a UUID", record))
                continue
            }
            let events = AuditEvent.events(of: record)
            if let broken = events.first(where: { !$0.missingFields.isEmpty }) {
                refused.append((record.head.id, "\(broken.kind.rawValue) event: \(broken.missingFields.joined(separator: ", "))", record))
                continue
            }
            ids.append(id)
            groups.append(events, record: ids.count, user: record.head.user)
        }
        let inserted = ids.isEmpty ? 0 : try await insert(ids: ids, groups)
        if !refused.isEmpty {
            try await refuse(refused)
        }
        return inserted
    }

    private func insert(ids: [UUID], _ groups: EventGroups) async throws -> Int {
        let rows = try await client.query(
            """
            WITH batch AS (
                SELECT id, n FROM unnest(\(ids)::uuid[]) WITH ORDINALITY AS r(id, n)
            ), new AS (
                INSERT INTO records (id) SELECT id FROM batch ON CONFLICT (id) DO NOTHING RETURNING id
            ), added AS (
                INSERT INTO event_groups (transaction_num, at_ms, username, events, xml)
                SELECT g.transaction_num, g.at_ms, g.username, g.events, g.xml
                FROM unnest(\(groups.record)::bigint[], \(groups.transactionNum)::bigint[], \(groups.at)::bigint[],
                            \(groups.username)::text[], \(groups.events)::int[], \(groups.xml)::text[])
                     WITH ORDINALITY AS g(record, transaction_num, at_ms, username, events, xml, n)
                JOIN batch ON batch.n = g.record
                WHERE batch.id IN (SELECT id FROM new)
                ORDER BY g.n
                RETURNING 1
            )
            SELECT count(*)::bigint FROM new
            """,
            logger: logger
        )
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    private func refuse(_ refused: [(id: String, reason: String, record: TransactionRecord)]) async throws {
        for entry in refused {
            logger.error("audit record refused: its events would not make a valid log", metadata: ["record": "\(entry.id)", "reason": "\(entry.reason)"])
            let text = LogText.safe(entry.record.json)
            try await client.query(
                "INSERT INTO refused_records (id, reason, record) VALUES (\(LogText.safe(entry.id)), \(entry.reason), \(text))",
                logger: logger
            )
        }
    }

    /// Records that arrived but could not be stored as events, kept for a person to look at.
    public func refusedRecordCount() async throws -> Int {
        for try await count in try await client.query("SELECT count(*)::bigint FROM refused_records", logger: logger).decode(Int64.self) {
            return Int(count)
        }
        return 0
    }

    /// The log in order (transactionNum, then time, then arrival), whole or one user's, as the
    /// XML of each stored group of events and how many events it holds; streamed from PostgreSQL
    /// row by row with backpressure, so memory stays flat at any size.
    public func forEachGroup(of user: String?, _ body: (_ xml: String, _ events: Int) async throws -> Void) async throws {
        // A whole log streams for as long as it is long (seconds for a million commands): its
        // statement is not bounded by the session's statement timeout.
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(SessionBounds.liftedForThisTransaction, logger: logger)
            let rows = if let user {
                try await connection.query(
                    "SELECT xml, events FROM event_groups WHERE username = \(user) ORDER BY transaction_num, at_ms, seq", logger: logger)
            } else {
                try await connection.query("SELECT xml, events FROM event_groups ORDER BY transaction_num, at_ms, seq", logger: logger)
            }
            for try await (xml, events) in rows.decode((String, Int32).self) {
                try await body(xml, Int(events))
            }
        }
    }
}

/// A batch of records' events, grouped by record and transactionNum and rendered as XML, as
/// one array per column.
struct EventGroups {
    /// The record's place in the batch, from 1.
    var record: [Int64] = []
    var transactionNum: [Int64] = []
    var at: [Int64] = []
    var username = NullableArray<String>([])
    var events: [Int32] = []
    var xml: [String] = []

    /// Adds one record's events: a group per transactionNum, in the order they first appear,
    /// each holding its events in the record's order.
    mutating func append(_ recordEvents: [AuditEvent], record place: Int, user: String?) {
        var order: [Int64] = []
        var byNumber: [Int64: [AuditEvent]] = [:]
        for event in recordEvents {
            if byNumber[event.transactionNum] == nil { order.append(event.transactionNum) }
            byNumber[event.transactionNum, default: []].append(event)
        }
        for number in order {
            let group = byNumber[number]!
            var bytes: [UInt8] = []
            bytes.reserveCapacity(256 * group.count)
            for event in group { AuditLogXML.append(event, to: &bytes) }
            record.append(Int64(place))
            transactionNum.append(number)
            at.append(group[0].timestamp)
            username.elements.append(user)
            events.append(Int32(group.count))
            xml.append(String(decoding: bytes, as: UTF8.self))
        }
    }
}
