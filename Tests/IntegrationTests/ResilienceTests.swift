import ChildProcess
import DayTraderCore
import Foundation
import Testing

/// Redis going away and coming back, and two instances racing on one account.
@Suite(.timeLimit(.minutes(15))) struct ResilienceTests {
    let symbol = StockSymbol.unchecked("RES")

    /// A redis-server of this test's own, so stopping it disturbs no other test.
    struct PrivateRedis {
        // From freePort like every test's port: a port picked at random here once took one a
        // private RabbitMQ had been given and was still booting towards (eaddrinuse).
        let port: Int
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)").path

        init() throws {
            port = try freePort()
        }

        func start() async throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // ChildProcess: the daemon inherits none of this process's descriptors or blocked signals.
            let status = await ChildProcess.runShell("redis-server --port \(port) --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile \(directory)/pid --dir \(directory) --logfile \(directory)/log")
            #expect(status == 0, "redis-server did not start")
            #expect(try await eventually(within: .seconds(10), every: .milliseconds(50)) { await answers() }, "redis-server did not answer")
        }

        /// SIGKILL: a crash, and a signal no mask can hold off. For `defer`; `crash()` also waits
        /// until the server has stopped answering.
        func kill() {
            guard let text = try? String(contentsOfFile: "\(directory)/pid", encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return }
            Glibc.kill(pid, SIGKILL)
        }

        func crash() async throws {
            kill()
            #expect(try await eventually(within: .seconds(10), every: .milliseconds(50)) { await !answers() }, "redis-server still answers after SIGKILL")
        }

        private func answers() async -> Bool {
            await ChildProcess.runShell("redis-cli -p \(port) ping >/dev/null 2>&1") == 0
        }

        /// A field of a hash, or "" when there is none.
        func hashField(_ key: String, _ field: String) -> String {
            let pipe = popen("redis-cli -p \(port) HGET '\(key)' '\(field)'", "r")
            defer { pclose(pipe) }
            var buffer = [CChar](repeating: 0, count: 256)
            guard fgets(&buffer, 256, pipe) != nil else { return "" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func keyCount() -> Int {
            let pipe = popen("redis-cli -p \(port) dbsize", "r")
            defer { pclose(pipe) }
            var buffer = [CChar](repeating: 0, count: 64)
            guard fgets(&buffer, 64, pipe) != nil else { return -1 }
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
    }

    @Test func tradingGoesOnWhileRedisIsDownAndUsesItAgainWhenItReturns() async throws {
        let redis = try PrivateRedis()
        try await redis.start()
        defer { redis.kill() }
        let fixture = try await TradingServerFixture.make(redisPort: redis.port)
        fixture.emulator.setPrice(Money(cents: 5_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            #expect(try await client.send("add", ["user": user, "amount": "100.00"]).isOK)
            #expect(try await client.send("quote", ["user": user, "symbol": "RES"]).isOK)
            #expect(redis.keyCount() > 0)

            try await redis.crash()
            #expect(try await client.send("add", ["user": user, "amount": "1.00"])["cash"] == "101.00")
            #expect(try await client.send("buy", ["user": user, "symbol": "RES", "amount": "10.00"]).isOK)
            #expect(try await client.send("commit-buy", ["user": user]).isOK)
            #expect(try await client.send("display-summary", ["user": user])["cash"] == "91.00")
            #expect(try await client.get("/health/ready").status == .ok)

            try await redis.start()
            #expect(redis.keyCount() == 0)
            // A summary read from PostgreSQL fills the cache again once Redis answers.
            var cachedAgain = false
            for _ in 0..<100 where !cachedAgain {
                #expect(try await client.send("display-summary", ["user": user])["cash"] == "91.00")
                cachedAgain = redis.keyCount() > 0
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(cachedAgain, "the server did not use Redis again after it came back")
            // Then each change is written through: the cache holds the committed state and its
            // version, not the one from before the change.
            #expect(try await client.send("add", ["user": user, "amount": "1.00"])["cash"] == "92.00")
            let key = "\(fixture.database):account:\(user)"
            #expect(redis.hashField(key, "cash") == "9200")
            #expect(redis.hashField(key, "v") == String(try await fixture.int64("SELECT version FROM accounts WHERE user_id = \(user)")))
            #expect(try await client.send("display-summary", ["user": user])["cash"] == "92.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func twoInstancesHammeringOneUserLeaveEveryBalanceExact() async throws {
        let fixture = try await TradingServerFixture.make()
        fixture.emulator.setPrice(Money(cents: 1_00), for: symbol)
        let user = Unique.user()
        let workersPerInstance = 3
        let rounds = 20
        try await fixture.withServer(name: "a") { first in
            try await first.send("add", ["user": user, "amount": "1000.00"])
            try await fixture.withServer(name: "b") { second in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for instance in [first, second] {
                        for _ in 0..<workersPerInstance {
                            group.addTask {
                                try await instance.withConnection { connection in
                                    for _ in 0..<rounds {
                                        #expect(try await connection.send("add", ["user": user, "amount": "1.00"]).isOK)
                                        try await connection.send("buy", ["user": user, "symbol": "RES", "amount": "2.00"])
                                        try await connection.send("commit-buy", ["user": user])
                                        try await connection.send("sell", ["user": user, "symbol": "RES", "amount": "1.00"])
                                        try await connection.send("commit-sell", ["user": user])
                                    }
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
        // Whatever the interleaving, money is only moved, never made: cash plus reserves plus the
        // value of the shares (all at 1.00) is exactly what was added.
        let total = try await fixture.int64(
            """
            SELECT (a.cash + a.reserved_cash + COALESCE((SELECT sum(shares + reserved_shares) * 100 FROM holdings h WHERE h.user_id = a.user_id), 0))::bigint
            FROM accounts a WHERE a.user_id = \(user)
            """
        )
        #expect(total == 1000_00 + Int64(2 * workersPerInstance * rounds) * 1_00)
        try await fixture.checkLedgerMatchesBalances()
    }
}
