import DayTraderCore
import Foundation
import Logging
import PostgresNIO
import SchemaMigrations

/// The audit database: every event once, and the log read back in order.
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

    /// Stores the events of several relay messages (each a JSON array of events) in one
    /// statement, so one transaction; events already stored are skipped. Returns how many
    /// were new. Postgres parses the JSON, and the table's CHECKs refuse a malformed event.
    @discardableResult
    public func insert(messages: [String]) async throws -> Int {
        let rows = try await client.query(
            """
            WITH new AS (
                INSERT INTO events (id, kind, at_ms, server, transaction_num, command, username, stock_symbol, filename,
                                    funds, price, quote_server_time, cryptokey, action, error_message, debug_message)
                SELECT e->>'id', e->>'kind', (e->>'at_ms')::bigint, e->>'server', (e->>'transaction_num')::bigint,
                       e->>'command', e->>'username', e->>'stock_symbol', e->>'filename', (e->>'funds')::numeric,
                       (e->>'price')::numeric, (e->>'quote_server_time')::bigint, e->>'cryptokey', e->>'action',
                       e->>'error_message', e->>'debug_message'
                FROM unnest(\(messages)::text[]) WITH ORDINALITY AS m(body, n),
                     jsonb_array_elements(m.body::jsonb) WITH ORDINALITY AS a(e, i)
                ORDER BY m.n, a.i
                ON CONFLICT (id) DO NOTHING
                RETURNING 1
            )
            SELECT count(*)::bigint FROM new
            """,
            logger: logger
        )
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    /// Stores events this server produced itself (DUMPLOG's own userCommand).
    public func insert(events: [AuditEvent]) async throws {
        let encoder = JSONEncoder()
        let message = String(decoding: try encoder.encode(events), as: UTF8.self)
        try await insert(messages: [message])
    }

    /// Every event in log order (transactionNum, then time, then arrival), or one user's,
    /// streamed from Postgres row by row with backpressure: memory stays flat at any size.
    public func forEachEvent(of user: String?, _ body: (AuditEvent) async throws -> Void) async throws {
        try await client.withConnection { connection in
            let columns = """
                SELECT kind, at_ms, server, transaction_num, command, username, stock_symbol, filename, funds::text, price::text,
                       quote_server_time, cryptokey, action, error_message, debug_message
                FROM events
                """
            let rows = if let user {
                try await connection.query("\(unescaped: columns) WHERE username = \(user) ORDER BY transaction_num, at_ms, seq", logger: logger)
            } else {
                try await connection.query("\(unescaped: columns) ORDER BY transaction_num, at_ms, seq", logger: logger)
            }
            typealias Columns = (String, Int64, String, Int64, String?, String?, String?, String?, String?, String?, Int64?, String?, String?, String?, String?)
            for try await row in rows.decode(Columns.self) {
                var event = AuditEvent(
                    id: "", kind: AuditEvent.Kind(rawValue: row.0) ?? .debugEvent, timestamp: row.1, server: row.2, transactionNum: row.3
                )
                event.command = row.4
                event.username = row.5
                event.stockSymbol = row.6
                event.filename = row.7
                event.funds = try row.8.map { try Money(parsing: $0) }
                event.price = try row.9.map { try Money(parsing: $0) }
                event.quoteServerTime = row.10
                event.cryptokey = row.11
                event.action = row.12
                event.errorMessage = row.13
                event.debugMessage = row.14
                try await body(event)
            }
        }
    }
}
