import DayTraderCore
import Foundation
import PostgresNIO
import Testing

/// Every server session is bounded (statement and lock timeouts): a command that cannot get its
/// account's row lock is refused in time, changes nothing, and holds up no one else.
@Suite(.timeLimit(.minutes(10))) struct DatabaseBoundsTests {
    @Test func aCommandOnALockedAccountIsRefusedInTimeAndOthersGoOn() async throws {
        let fixture = try await TradingServerFixture.make()
        let locked = Unique.user("locked"), other = Unique.user("other")
        try await fixture.withServer { client in
            #expect(try await client.send("add", ["user": locked, "amount": "10.00"]).isOK)
            #expect(try await client.send("add", ["user": other, "amount": "10.00"]).isOK)
            let (lockTaken, signal) = AsyncStream<Void>.makeStream()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Someone else (an operator's session, a stuck tool) holds the row for 60 s.
                group.addTask {
                    try await fixture.withPostgres { postgres in
                        try await postgres.withTransaction(logger: TestServices.logger) { connection in
                            try await connection.query("SELECT 1 FROM accounts WHERE user_id = \(locked) FOR UPDATE", logger: TestServices.logger)
                            signal.yield()
                            try await Task.sleep(for: .seconds(60))
                        }
                    }
                }
                for await _ in lockTaken { break }
                let started = ContinuousClock.now
                async let refused = client.withConnection { connection in
                    try await connection.send("add", ["user": locked, "amount": "5.00", "idempotencyKey": "bounded-\(locked)"])
                }
                async let served = client.withConnection { connection in
                    try await connection.send("add", ["user": other, "amount": "1.00"])
                }
                let (lockedReply, otherReply) = try await (refused, served)
                let waited = started.duration(to: .now)
                #expect(lockedReply.status == .serviceUnavailable && lockedReply.errorCode == "unavailable", "\(lockedReply)")
                #expect(otherReply.isOK, "\(otherReply)")
                // The bound is 3 s a try (twice: the batch, then the command alone); the margin is for a
                // loaded machine, and well short of the lock's 60 s.
                #expect(waited < .seconds(40), "answered after \(waited), with the lock still held")
                try await group.waitForAll()
            }
            // Nothing of the refused command was applied; its retry, with the row free, applies once.
            #expect(try await client.send("display-summary", ["user": locked])["cash"] == "10.00")
            #expect(try await client.send("add", ["user": locked, "amount": "5.00", "idempotencyKey": "bounded-\(locked)"]).isOK)
            #expect(try await client.send("display-summary", ["user": locked])["cash"] == "15.00")
            #expect(try await client.send("display-summary", ["user": other])["cash"] == "11.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    /// A call that never returns (its PostgreSQL backend frozen, so not even statement_timeout
    /// fires; `make chaos` met one after a crash) is given up after the call time limit: its
    /// command is answered 503 `unavailable`, and the instance serves again once the database does.
    @Test func aCallThatNeverReturnsIsGivenUpAndTheInstanceGoesOn() async throws {
        let fixture = try await TradingServerFixture.make(settings: ["command.call.time.limit.ms": 3_000])
        let user = Unique.user("frozen")
        try await fixture.withServer { client in
            #expect(try await client.send("add", ["user": user, "amount": "10.00"]).isOK)
            // No new connection either (the pool would open one beside the frozen ones), then
            // every backend of the database frozen.
            try await Self.connectionLimit(0, on: fixture.database)
            let backends = try await TestServices.withPostgres(database: "postgres", user: "postgres") { postgres in
                var pids: [Int32] = []
                let rows = try await postgres.query(
                    "SELECT pid FROM pg_stat_activity WHERE datname = \(fixture.database) AND pid <> pg_backend_pid()", logger: TestServices.logger)
                for try await pid in rows.decode(Int32.self) { pids.append(pid) }
                return pids
            }
            #expect(!backends.isEmpty)
            for pid in backends { kill(pid, SIGSTOP) }
            // Whatever happens, the backends go on: a stopped one may hold locks the whole
            // cluster needs.
            let frozen: CommandClient.Reply
            let started = ContinuousClock.now
            do {
                frozen = try await client.send("add", ["user": user, "amount": "5.00", "idempotencyKey": "frozen-\(user)"])
            } catch {
                for pid in backends { kill(pid, SIGCONT) }
                try await Self.connectionLimit(-1, on: fixture.database)
                throw error
            }
            let waited = started.duration(to: .now)
            for pid in backends { kill(pid, SIGCONT) }
            try await Self.connectionLimit(-1, on: fixture.database)
            #expect(frozen.status == .serviceUnavailable && frozen.errorCode == "unavailable", "\(frozen)")
            #expect(waited < .seconds(20), "answered after \(waited)")
            // The database back: the instance serves, and the retry with the key applies once.
            #expect(try await client.send("add", ["user": user, "amount": "5.00", "idempotencyKey": "frozen-\(user)"]).isOK)
            #expect(try await client.send("display-summary", ["user": user])["cash"] == "15.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    /// `ALTER DATABASE ... CONNECTION LIMIT`: 0 refuses every new connection of the servers'
    /// user; -1 lifts the limit.
    static func connectionLimit(_ limit: Int, on database: String) async throws {
        _ = try await TestServices.withPostgres(database: "postgres", user: "postgres") { postgres in
            try await postgres.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \"\(database)\" CONNECTION LIMIT \(limit)"), logger: TestServices.logger)
        }
    }
}
