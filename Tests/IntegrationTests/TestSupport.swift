import Configuration
import DayTraderCore
import Foundation
import Hummingbird
import HummingbirdTesting
import LegacyQuote
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import ServiceSupport
import Testing
import TransactionServer

/// The real services `make test` starts (scripts/services.sh); tests fail, never skip, without them.
enum TestServices {
    static func value(_ name: String) -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            Issue.record("\(name) is not set: run the integration tests through `make test`, which starts PostgreSQL and Redis")
            return ""
        }
        return value
    }
    static var postgresPort: Int { Int(value("POSTGRES_PORT")) ?? 0 }
    static var redisPort: Int { Int(value("REDIS_PORT")) ?? 0 }
    static var rabbitMQPort: Int { Int(value("RABBITMQ_PORT")) ?? 0 }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    static func postgres(database: String, user: String = "daytrader") -> PostgresClient {
        PostgresClient(
            configuration: .init(host: "127.0.0.1", port: postgresPort, username: user, password: nil, database: database, tls: .disable),
            backgroundLogger: logger
        )
    }

    /// Runs `body` with a pooled client; the pool runs only for the body's duration.
    static func withPostgres<T: Sendable>(database: String, user: String = "daytrader", _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = postgres(database: database, user: user)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            // Let run() start before the first lease, so the pool does not warn.
            await Task.yield()
            return try await body(client)
        }
    }

    /// A new, empty database for one test, so tests never see each other's accounts.
    static func freshDatabase() async throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        _ = try await withPostgres(database: "postgres", user: "postgres") { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER daytrader"), logger: logger)
        }
        return String(name)
    }
}

/// A clock the test moves by hand.
final class ManualClock: TradingClock {
    private let current: Mutex<Int64>
    init(_ start: Int64 = 1_700_000_000_000) { current = Mutex(start) }
    func now() -> Timestamp { Timestamp(unixMillis: current.withLock { $0 }) }
    func advance(milliseconds: Int64) { current.withLock { $0 += milliseconds } }
}

/// A transaction server under test, with its own database and a quote emulator.
struct TradingServerFixture: Sendable {
    let database: String
    let emulator: QuoteEmulator
    let quotePort: Int
    let redisPort: Int
    let rabbitMQPort: Int
    let clock: (any TradingClock)?
    let extraSettings: [String: ConfigValue]

    /// The test's own audit exchange and queue (both have this name), so audit servers of
    /// other tests never see its events.
    var auditQueue: String { "audit-\(database)" }

    /// Starts the emulator and makes a fresh database; `redisPort` and `rabbitMQPort` default
    /// to the shared services.
    static func make(clock: (any TradingClock)? = nil, redisPort: Int? = nil, rabbitMQPort: Int? = nil, settings: [String: ConfigValue] = [:]) async throws -> TradingServerFixture {
        let emulator = QuoteEmulator(port: 0, seed: 468, latency: .immediate, logger: TestServices.logger)
        let port = try await emulator.start()
        return TradingServerFixture(
            database: try await TestServices.freshDatabase(),
            emulator: emulator,
            quotePort: port,
            redisPort: redisPort ?? TestServices.redisPort,
            rabbitMQPort: rabbitMQPort ?? TestServices.rabbitMQPort,
            clock: clock,
            extraSettings: settings
        )
    }

    func configuration(name: String = "test") throws -> ServerConfiguration {
        var values: [String: ConfigValue] = [
            "server.name": .init(.string(name), isSecret: false),
            "postgres.host": "127.0.0.1",
            "postgres.port": .init(.int(TestServices.postgresPort), isSecret: false),
            "postgres.user": "daytrader",
            "postgres.database": .init(.string(database), isSecret: false),
            "postgres.connections": 10,
            "redis.host": "127.0.0.1",
            "redis.port": .init(.int(redisPort), isSecret: false),
            "redis.key.prefix": .init(.string("\(database):"), isSecret: false),
            "quote.host": "127.0.0.1",
            "quote.port": .init(.int(quotePort), isSecret: false),
            "sweep.interval.ms": 50,
            "rabbitmq.port": .init(.int(rabbitMQPort), isSecret: false),
            "audit.exchange": .init(.string(auditQueue), isSecret: false),
            "audit.queue": .init(.string(auditQueue), isSecret: false),
            // Tests run many servers at once on two cores, where a call can be starved for a
            // minute; only the test of the limit itself sets a short one.
            "command.call.time.limit.ms": 600_000,
            // Sign-in is off here (anyone acts for anyone); SignInTests turn it on.
            "api.auth": "off",
        ]
        values.merge(extraSettings) { $1 }
        let provider = InMemoryProvider(values: Dictionary(uniqueKeysWithValues: values.map { key, value in
            (AbsoluteConfigKey(key.split(separator: ".").map(String.init)), value)
        }))
        return try ServerConfiguration(reader: ConfigReader(provider: provider))
    }

    /// Runs a live server (on an ephemeral port) for the body's duration.
    func withServer<T: Sendable>(name: String = "test", _ body: @escaping @Sendable (CommandClient) async throws -> T) async throws -> T {
        let app = buildApplication(configuration: try configuration(name: name), clock: clock ?? SystemClock(), logger: TestServices.logger)
        return try await app.test(.live) { live in
            // Not the live framework's own client: its read timeout is a fixed 20 s.
            try await CommandClient.connect(port: try #require(live.port), body)
        }
    }

    func withPostgres<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await TestServices.withPostgres(database: database, body)
    }

    /// The one bigint a query returns (a count, a sum), or -1 when it returns no row.
    func int64(_ query: PostgresQuery) async throws -> Int64 {
        try await withPostgres { postgres in
            for try await value in try await postgres.query(query, logger: TestServices.logger).decode(Int64.self) { return value }
            return -1
        }
    }

    /// Every account's cash, in cents.
    func cashByUser() async throws -> [String: Int64] {
        try await withPostgres { postgres in
            var cash: [String: Int64] = [:]
            for try await (user, cents) in try await postgres.query("SELECT user_id, cash FROM accounts", logger: TestServices.logger).decode((String, Int64).self) {
                cash[user] = cents
            }
            return cash
        }
    }

    /// Checks the ledger against the balances for every account: each balance column is the
    /// sum of its deltas, nothing is negative, and the reserves are exactly what the pending
    /// orders and triggers hold.
    func checkLedgerMatchesBalances(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let mismatches = try await withPostgres { client in
            let rows = try await client.query(
                """
                SELECT a.user_id FROM accounts a
                LEFT JOIN (SELECT user_id, sum(cash_delta) c, sum(reserved_cash_delta) rc FROM ledger GROUP BY user_id) l USING (user_id)
                WHERE a.cash <> COALESCE(l.c, 0) OR a.reserved_cash <> COALESCE(l.rc, 0) OR a.cash < 0 OR a.reserved_cash < 0
                UNION ALL
                SELECT h.user_id || '/' || h.symbol FROM holdings h
                LEFT JOIN (SELECT user_id, symbol, sum(shares_delta) s, sum(reserved_shares_delta) rs FROM ledger GROUP BY user_id, symbol) l
                  USING (user_id, symbol)
                WHERE h.shares <> COALESCE(l.s, 0) OR h.reserved_shares <> COALESCE(l.rs, 0) OR h.shares < 0 OR h.reserved_shares < 0
                UNION ALL
                SELECT h.user_id || '/' || h.symbol || ' reserved shares' FROM holdings h
                WHERE h.reserved_shares <> COALESCE((SELECT sum(shares) FROM pending_orders p WHERE p.user_id = h.user_id AND p.symbol = h.symbol AND p.side = 'sell'), 0)
                                         + COALESCE((SELECT sum(reserved_shares) FROM triggers t WHERE t.user_id = h.user_id AND t.symbol = h.symbol AND t.side = 'sell'), 0)
                UNION ALL
                SELECT a.user_id || ' reserved cash' FROM accounts a
                WHERE a.reserved_cash <> COALESCE((SELECT sum(amount) FROM pending_orders p WHERE p.user_id = a.user_id AND p.side = 'buy'), 0)
                                      + COALESCE((SELECT sum(amount) FROM triggers t WHERE t.user_id = a.user_id AND t.side = 'buy'), 0)
                """,
                logger: TestServices.logger
            )
            var found: [String] = []
            for try await name in rows.decode(String.self) { found.append(name) }
            return found
        }
        #expect(mismatches.isEmpty, "ledger and balances disagree for \(mismatches)", sourceLocation: sourceLocation)
    }
}

/// Runs `body`, then `cleanup` whether or not `body` threw: a `defer` whose cleanup can await.
/// (A cleanup that blocks its thread instead, waiting for a server to stop, holds one of the
/// cooperative pool's threads, of which two cores have two, and stalls every other test.)
func withCleanup<T>(_ body: () async throws -> T, cleanup: () async -> Void) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return result
}

/// Polls `condition` until it holds or `limit` has passed; whether it held.
func eventually(within limit: Duration, every interval: Duration = .milliseconds(25), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}

/// A JSON client for the command routes, over a keep-alive connection of its own.
struct CommandClient: Sendable {
    /// Generous on purpose: tests check what the server answers, not how fast, and a loaded
    /// 2-core CI machine running many servers at once can stall a reply for seconds.
    static let readTimeout: Duration = .seconds(120)

    let client: HummingbirdTesting.TestClient
    /// The live server's port, for opening more connections.
    let port: Int

    /// Runs `body` with a new connection to the server on `port`.
    static func connect<T: Sendable>(port: Int, _ body: @escaping @Sendable (CommandClient) async throws -> T) async throws -> T {
        try await HummingbirdTesting.TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: readTimeout)) { client in
            try await body(CommandClient(client: client, port: port))
        }
    }

    /// Runs `body` with a connection of its own to the same server.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (CommandClient) async throws -> T) async throws -> T {
        try await Self.connect(port: port, body)
    }

    func transport(_ uri: String, _ method: HTTPRequest.Method, _ body: ByteBuffer?, contentType: String? = "application/json", headers extra: HTTPFields = [:]) async throws -> (HTTPResponse.Status, ByteBuffer, HTTPFields) {
        var headers = extra
        if let contentType { headers[.contentType] = contentType }
        let response = try await client.execute(.init(uri, method: method, headers: headers, body: body))
        return (response.status, response.body ?? ByteBuffer(), response.headers)
    }

    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let body: String
        var headers: HTTPFields = [:]
        var json: [String: Any] {
            ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
        }
        subscript(key: String) -> String? { json[key].map { "\($0)" } }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var isOK: Bool { status == .ok }
    }

    @discardableResult
    func send(_ route: String, _ fields: [String: any Sendable], headers: HTTPFields = [:]) async throws -> Reply {
        let body = try JSONSerialization.data(withJSONObject: fields)
        return try await sendRaw(route, String(decoding: body, as: UTF8.self), headers: headers)
    }

    func sendRaw(_ route: String, _ body: String, contentType: String? = "application/json", headers: HTTPFields = [:]) async throws -> Reply {
        let (status, bytes, received) = try await transport("/api/\(route)", .post, ByteBuffer(string: body), contentType: contentType, headers: headers)
        return Reply(status: status, body: String(buffer: bytes), headers: received)
    }

    func get(_ path: String, headers: HTTPFields = [:]) async throws -> Reply {
        let (status, bytes, received) = try await transport(path, .get, nil, headers: headers)
        return Reply(status: status, body: String(buffer: bytes), headers: received)
    }
}

/// Unique names so tests can share services without meeting.
enum Unique {
    private static let counter = Atomic<Int>(0)
    static func user(_ prefix: String = "u") -> String {
        "\(prefix)\(counter.add(1, ordering: .relaxed).newValue)-\(UUID().uuidString.prefix(8))"
    }
}
