import Configuration
import DayTraderCore
import Foundation
import PostgresNIO
import Testing

/// Each command costs one database statement (one round trip, one commit) and at most one Redis
/// round trip, counted by the servers' peers themselves: PostgreSQL's pg_stat_statements (loaded
/// by `make test`) and Redis's INFO commandstats (a Redis of this test's own).
@Suite(.timeLimit(.minutes(10))) struct RoundTripTests {
    static let symbol = StockSymbol.unchecked("RTT")

    /// Every command a transaction server answers, in an order that gives each something to do,
    /// with a refusal and an invalid request of their own.
    static let script: [(route: String, fields: [String: any Sendable])] = [
        ("add", ["amount": "1000.00"]),
        ("quote", ["symbol": "RTT"]),
        ("buy", ["symbol": "RTT", "amount": "100.00"]),
        ("commit-buy", [:]),
        ("buy", ["symbol": "RTT", "amount": "100.00"]),
        ("cancel-buy", [:]),
        ("sell", ["symbol": "RTT", "amount": "20.00"]),
        ("commit-sell", [:]),
        ("sell", ["symbol": "RTT", "amount": "20.00"]),
        ("cancel-sell", [:]),
        ("set-buy-amount", ["symbol": "RTT", "amount": "50.00"]),
        ("set-buy-trigger", ["symbol": "RTT", "amount": "5.00"]),
        ("cancel-set-buy", ["symbol": "RTT"]),
        ("set-sell-amount", ["symbol": "RTT", "amount": "20.00"]),
        ("set-sell-trigger", ["symbol": "RTT", "amount": "20.00"]),
        ("cancel-set-sell", ["symbol": "RTT"]),
        ("display-summary", [:]),
        ("commit-buy", [:]),
        ("add", ["amount": "-5.00"]),
    ]

    @Test func everyCommandIsOneStatementAndAtMostOneRedisRoundTrip() async throws {
        let redis = try ResilienceTests.PrivateRedis()
        try await redis.start()
        defer { redis.kill() }
        // The background services wait an hour between rounds, so only commands talk to the databases.
        let quiet: [String: ConfigValue] = [
            "sweep.interval.ms": 3_600_000, "trigger.interval.ms": 3_600_000, "audit.relay.interval.ms": 3_600_000,
        ]
        let fixture = try await TradingServerFixture.make(redisPort: redis.port, settings: quiet)
        fixture.emulator.setPrice(Money(cents: 10_00), for: Self.symbol)
        let database = fixture.database
        _ = try await TestServices.withPostgres(database: "postgres", user: "postgres") { postgres in
            try await postgres.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", logger: TestServices.logger)
        }
        try await fixture.withServer { client in
            let user = Unique.user("rt")
            // The first round loads the prepared statement on the pool's connections, the Redis
            // scripts and the stock's quote: what is paid once, not per command.
            for step in Self.script {
                try await client.send(step.route, step.fields.merging(["user": user]) { $1 })
            }
            try await Task.sleep(for: .milliseconds(300))
            for step in Self.script {
                try await Self.resetStatements(database)
                let redisCalls = redis.commandCount()
                let reply = try await client.send(step.route, step.fields.merging(["user": user]) { $1 })
                #expect(reply.status.code < 500, "\(step.route): \(reply.body.prefix(200))")
                // The pool's own keep-alive (`SELECT 1;` on a connection idle for 30 s, which a
                // slow CI machine reaches mid-script) is not a command's cost.
                let statements = try await Self.statements(database).filter { $0 != "SELECT $1" }
                #expect(statements.count == 1, "\(step.route) ran \(statements.count) statement(s): \(statements)")
                #expect(statements.allSatisfy { $0.hasPrefix("SELECT replayed, body, version, state FROM dt_execute(") }, "\(step.route): \(statements)")
                #expect(redis.commandCount() - redisCalls <= 1, "\(step.route) made \(redis.commandCount() - redisCalls) Redis round trips")
            }
        }
    }

    static func resetStatements(_ database: String) async throws {
        _ = try await TestServices.withPostgres(database: "postgres", user: "postgres") { postgres in
            try await postgres.query(
                "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = \(database)), 0)",
                logger: TestServices.logger
            )
        }
    }

    /// The statements the database ran since the reset, once per call.
    static func statements(_ database: String) async throws -> [String] {
        try await TestServices.withPostgres(database: "postgres", user: "postgres") { postgres in
            let rows = try await postgres.query(
                """
                SELECT query, calls FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = \(database)) AND toplevel AND calls > 0
                """,
                logger: TestServices.logger
            )
            var statements: [String] = []
            for try await (query, calls) in rows.decode((String, Int64).self) {
                statements += Array(repeating: query, count: Int(calls))
            }
            return statements
        }
    }
}

extension ResilienceTests.PrivateRedis {
    /// The commands the servers send Redis themselves (scripts by SHA-1, GET and SET of quotes),
    /// run since it started. Redis counts the commands a script runs under their own names, so
    /// those (HSET, LPUSH, ...) are left out, as is INFO.
    func commandCount() -> Int {
        let pipe = popen("redis-cli -p \(port) INFO commandstats", "r")
        defer { pclose(pipe) }
        var total = 0
        var buffer = [CChar](repeating: 0, count: 1024)
        while fgets(&buffer, 1024, pipe) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard ["cmdstat_evalsha:", "cmdstat_eval:", "cmdstat_script|load:", "cmdstat_get:", "cmdstat_set:"].contains(where: line.hasPrefix),
                  let calls = line.split(separator: ":").last?.split(separator: ",").first?.split(separator: "=").last.flatMap({ Int($0) })
            else { continue }
            total += calls
        }
        return total
    }
}
