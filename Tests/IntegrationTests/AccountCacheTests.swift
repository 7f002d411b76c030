import DayTraderCore
import Foundation
import Testing

/// The write-through account cache: after a whole workload, with orders expiring, quotes running
/// out and triggers firing along the way, every account the cache holds is the committed one, and
/// a summary served from it is the one PostgreSQL builds, byte for byte.
@Suite(.timeLimit(.minutes(15))) struct AccountCacheTests {
    @Test(.enabled(if: WorkloadReplayTests.available, "../shared/course/workloads is absent"))
    func theCacheIsTheDatabaseAfterAWholeWorkload() async throws {
        let commands = try WorkloadReplayTests.lines(of: "10User_testWorkLoad").filter { $0.request.name != CommandName.dumplog.rawValue }
        let users = Set(commands.compactMap(\.request.user))
        let clock = ManualClock()
        let fixture = try await TradingServerFixture.make(clock: clock)
        try await fixture.withServer { client in
            // Time moves a second per hundred answers, and leaps a minute per thousand: pending
            // orders expire (by command and by the sweeper), quotes run out and are fetched again,
            // and triggers fire.
            let progress = ReplayProgress()
            let ticker = Task {
                var ticks = 0
                while !Task.isCancelled {
                    while ticks < progress.count / 100 {
                        ticks += 1
                        clock.advance(milliseconds: ticks % 10 == 0 ? 61_000 : 1_000)
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            _ = try await WorkloadReplayTests.replay(commands, through: client, answered: progress)
            ticker.cancel()
            // Let the sweeper finish its round at the final time, then read everything at that time.
            try await Task.sleep(for: .milliseconds(300))
            for user in users.sorted() {
                let key = "\(fixture.database):account:\(user)"
                let version = try await fixture.int64("SELECT version FROM accounts WHERE user_id = \(user)")
                #expect(Self.redis(["HGET", key, "v"]) == String(version), "\(user): the cache holds the committed version")
                let cached = try await client.send("display-summary", ["user": user])
                _ = Self.redis(["DEL", key, "\(fixture.database):history:\(user)"])
                let built = try await client.send("display-summary", ["user": user])
                #expect(cached.isOK)
                #expect(cached.body == built.body, "\(user): the cached summary is not the one PostgreSQL builds")
            }
        }
        let fills = try await fixture.int64("SELECT count(*) FROM ledger WHERE kind LIKE '%_trigger_fill'")
        let expiries = try await fixture.int64("SELECT count(*) FROM ledger WHERE kind LIKE '%_expired'")
        #expect(fills > 0, "triggers fired along the way")
        #expect(expiries > 0, "orders expired along the way")
        try await fixture.checkLedgerMatchesBalances()
    }

    /// A command run on the shared test Redis; its one line of output.
    static func redis(_ arguments: [String]) -> String {
        let command = (["redis-cli", "-p", "\(TestServices.redisPort)"] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let pipe = popen(command, "r")
        defer { pclose(pipe) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, 256, pipe) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
