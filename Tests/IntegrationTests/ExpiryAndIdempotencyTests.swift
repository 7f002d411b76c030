import DayTraderCore
import Foundation
import PostgresNIO
import Testing

/// Pending orders expire at exactly 60 s (injectable clock); retries with a key apply once.
@Suite(.timeLimit(.minutes(15))) struct ExpiryAndIdempotencyTests {
    let symbol = StockSymbol.unchecked("EXP")

    /// A server on a clock the test moves, whose sweeper never runs: only commands release
    /// expired orders. EXP costs 10.00.
    func fixtureWithoutSweeper() async throws -> (ManualClock, TradingServerFixture) {
        let clock = ManualClock()
        let fixture = try await TradingServerFixture.make(clock: clock, settings: ["sweep.interval.ms": 3_600_000])
        fixture.emulator.setPrice(Money(cents: 10_00), for: symbol)
        return (clock, fixture)
    }

    @Test func aBuyCanBeCommittedUntilExactlySixtySeconds() async throws {
        let (clock, fixture) = try await fixtureWithoutSweeper()
        try await fixture.withServer { client in
            let user = Unique.user()
            try await client.send("add", ["user": user, "amount": "100.00"])
            try await client.send("buy", ["user": user, "symbol": "EXP", "amount": "50.00"])
            clock.advance(milliseconds: 59_999)
            #expect(try await client.send("commit-buy", ["user": user]).isOK)

            try await client.send("buy", ["user": user, "symbol": "EXP", "amount": "20.00"])
            clock.advance(milliseconds: 60_000)
            let late = try await client.send("commit-buy", ["user": user])
            #expect(late.errorCode == "no_pending_buy")
            let summary = try await client.send("display-summary", ["user": user])
            #expect(summary["cash"] == "50.00")
            #expect(summary["reservedCash"] == "0.00")

            try await client.send("sell", ["user": user, "symbol": "EXP", "amount": "20.00"])
            clock.advance(milliseconds: 60_000)
            #expect(try await client.send("cancel-sell", ["user": user]).errorCode == "no_pending_sell")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    /// A summary never shows a reserve without its order: DISPLAY_SUMMARY, like every command,
    /// first releases the user's expired orders (here before any sweeper could), in the cache too.
    @Test func aSummaryReleasesExpiredOrdersFirst() async throws {
        let (clock, fixture) = try await fixtureWithoutSweeper()
        try await fixture.withServer { client in
            let user = Unique.user()
            try await client.send("add", ["user": user, "amount": "100.00"])
            try await client.send("buy", ["user": user, "symbol": "EXP", "amount": "30.00"])
            let before = try await client.send("display-summary", ["user": user])
            #expect(before["reservedCash"] == "30.00")
            clock.advance(milliseconds: 60_000)
            let after = try await client.send("display-summary", ["user": user])
            #expect(after["cash"] == "100.00")
            #expect(after["reservedCash"] == "0.00")
            #expect((after.json["pendingBuys"] as? [Any])?.isEmpty == true)
            let history = after.json["history"] as? [[String: Any]]
            #expect(history?.first?["kind"] as? String == "buy_expired")
            #expect(try await fixture.int64("SELECT reserved_cash FROM accounts WHERE user_id = \(user)") == 0)
            // Served from the cache the second time, with the same content.
            let again = try await client.send("display-summary", ["user": user])
            #expect(again["cash"] == "100.00" && again["reservedCash"] == "0.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func theSweeperReleasesExpiredReservesWithNoOtherTraffic() async throws {
        let clock = ManualClock()
        let fixture = try await TradingServerFixture.make(clock: clock)
        fixture.emulator.setPrice(Money(cents: 10_00), for: symbol)
        let user = Unique.user()
        try await fixture.withServer { client in
            try await client.send("add", ["user": user, "amount": "100.00"])
            try await client.send("buy", ["user": user, "symbol": "EXP", "amount": "30.00"])
            clock.advance(milliseconds: 60_000)
            let released = try await eventually(within: .seconds(30)) {
                try await fixture.int64("SELECT cash FROM accounts WHERE user_id = \(user) AND reserved_cash = 0") == 100_00
            }
            #expect(released, "the sweeper did not release the expired BUY's reserve")
            let summary = try await client.send("display-summary", ["user": user])
            #expect(summary["cash"] == "100.00")
            #expect((summary.json["pendingBuys"] as? [Any])?.isEmpty == true)
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func aRetryWithTheSameKeyReturnsTheFirstReplyAndAppliesOnce() async throws {
        let fixture = try await TradingServerFixture.make()
        try await fixture.withServer { client in
            let user = Unique.user()
            let request: [String: any Sendable] = ["user": user, "amount": "10.00", "transactionNum": 5, "idempotencyKey": "run-1-5"]
            let first = try await client.send("add", request)
            let second = try await client.send("add", request)
            #expect(first.body == second.body)
            #expect(try await client.send("display-summary", ["user": user])["cash"] == "10.00")

            let reused = try await client.send("add", ["user": user, "amount": "99.00", "transactionNum": 5, "idempotencyKey": "run-1-5"])
            #expect(reused.errorCode == "idempotency_key_reused")
            #expect(reused.status == .unprocessableContent)
        }
    }

    /// A key is its caller's: bob's request with the key alice used is bob's own, applied and
    /// answered for him (it was refused as a reused key, and alice's stored reply was his to read).
    @Test func oneKeyOfTwoUsersIsTwoKeys() async throws {
        let fixture = try await TradingServerFixture.make()
        try await fixture.withServer { client in
            let alice = Unique.user("alice"), bob = Unique.user("bob")
            let key = "shared-\(fixture.database)"
            #expect(try await client.send("add", ["user": alice, "amount": "10.00", "idempotencyKey": key]).isOK)
            let bobs = try await client.send("add", ["user": bob, "amount": "7.00", "idempotencyKey": key])
            #expect(bobs.isOK)
            #expect(bobs["user"] == bob)
            #expect(try await client.send("display-summary", ["user": bob])["cash"] == "7.00")
            #expect(try await client.send("display-summary", ["user": alice])["cash"] == "10.00")
            // Within one caller the key still names one request.
            #expect(try await client.send("add", ["user": bob, "amount": "7.00", "idempotencyKey": key]).isOK)
            #expect(try await client.send("display-summary", ["user": bob])["cash"] == "7.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    /// A quote_unavailable is the key's answer like any other: a retry whose first answer was
    /// lost on the way gets it again, and the line is logged once, even when quotes are back.
    @Test func aQuoteUnavailableIsKeptUnderItsKey() async throws {
        let fixture = try await TradingServerFixture.make()
        let symbol = StockSymbol.unchecked("U\(Int.random(in: 10...99))")
        fixture.emulator.setPrice(Money(cents: 5_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            #expect(try await client.send("add", ["user": user, "amount": "10.00"]).isOK)
            fixture.emulator.injectFault(.drop, count: 3)
            let request: [String: any Sendable] = ["user": user, "symbol": symbol.rawValue, "idempotencyKey": "unavailable-\(user)"]
            let first = try await client.send("quote", request)
            #expect(first.errorCode == "quote_unavailable", "\(first)")
            let retry = try await client.send("quote", request)
            #expect(retry.body == first.body)
            #expect(fixture.emulator.hitCount(for: symbol) == 0)
            // A new key is a new attempt, and gets the quote.
            #expect(try await client.send("quote", ["user": user, "symbol": symbol.rawValue, "idempotencyKey": "again-\(user)"]).isOK)
        }
    }

    @Test func racingRetriesApplyOnce() async throws {
        let fixture = try await TradingServerFixture.make()
        let user = Unique.user()
        try await fixture.withServer { client in
            try await client.send("add", ["user": user, "amount": "1.00"])
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await client.withConnection { connection in
                            try await connection.send("add", ["user": user, "amount": "5.00", "idempotencyKey": "race-key"]).body
                        }
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(bodies.count == 1, "every retry must get the first reply")
            #expect(try await client.send("display-summary", ["user": user])["cash"] == "6.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func aRetryOnAnotherInstanceAfterTheFirstDiedGetsTheCommittedReply() async throws {
        let fixture = try await TradingServerFixture.make()
        let user = Unique.user()
        let request: [String: any Sendable] = ["user": user, "amount": "7.00", "transactionNum": 3, "idempotencyKey": "died-3"]
        let first = try await fixture.withServer(name: "first") { client in
            try await client.send("add", request).body
        }
        // The first instance is gone; its commit is all that is left of it.
        try await fixture.withServer(name: "second") { client in
            let retry = try await client.send("add", request)
            #expect(retry.body == first)
            #expect(try await client.send("display-summary", ["user": user])["cash"] == "7.00")
        }
    }
}
