import DayTraderCore
import Foundation
import Testing

/// Every command's success and each of its rejections, against real Postgres and Redis.
@Suite(.timeLimit(.minutes(15))) struct CommandTests {
    let symbol = StockSymbol.unchecked("ABC")

    @Test func addCreatesTheAccountAndAddsCash() async throws {
        let fixture = try await TradingServerFixture.make()
        try await fixture.withServer { client in
            let user = Unique.user()
            let first = try await client.send("add", ["user": user, "amount": "100.50", "transactionNum": 7])
            #expect(first.isOK)
            #expect(first["cash"] == "100.50")
            #expect(first["transactionNum"] == "7")
            let second = try await client.send("add", ["user": user, "amount": "0.50"])
            #expect(second["cash"] == "101.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test(arguments: [
        ("-73280.58", "invalid_amount"), ("0", "invalid_amount"), ("0.00", "invalid_amount"), ("1.234", "invalid_amount"),
        ("abc", "invalid_amount"), ("", "malformed_command"), ("1000000000.01", "amount_too_large"),
        ("99999999999999999999999", "amount_too_large"),
    ])
    func badAmountsAreRejectedAndChangeNothing(amount: String, code: String) async throws {
        let fixture = try await TradingServerFixture.make()
        try await fixture.withServer { client in
            let user = Unique.user()
            try await client.send("add", ["user": user, "amount": "10.00"])
            let reply = try await client.send("add", ["user": user, "amount": amount])
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == code)
            let summary = try await client.send("display-summary", ["user": user])
            #expect(summary["cash"] == "10.00")
        }
    }

    @Test func malformedRequestsGetClearErrors() async throws {
        let fixture = try await TradingServerFixture.make()
        try await fixture.withServer { client in
            let notJSON = try await client.sendRaw("add", "user=alice&amount=5")
            #expect(notJSON.status == .badRequest)
            #expect(notJSON.errorCode == "malformed_command")
            let wrongType = try await client.sendRaw("add", #"{"user": "alice", "amount": 12.5}"#)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.body.contains("amount"))
            let missingUser = try await client.send("add", ["amount": "1.00"])
            #expect(missingUser.errorCode == "malformed_command")
            let badUser = try await client.send("add", ["user": "../etc/passwd", "amount": "1.00"])
            #expect(badUser.errorCode == "invalid_user_id")
            let hugeUser = try await client.send("add", ["user": String(repeating: "x", count: 10_000), "amount": "1.00"])
            #expect(hugeUser.errorCode == "invalid_user_id")
            #expect(hugeUser.body.count < 500)
            let badSymbol = try await client.send("quote", ["user": "alice", "symbol": "abcd"])
            #expect(badSymbol.errorCode == "invalid_symbol")
            let extraField = try await client.send("commit-buy", ["user": "alice", "amount": "1.00"])
            #expect(extraField.errorCode == "malformed_command")
            let badNumber = try await client.send("add", ["user": "alice", "amount": "1.00", "transactionNum": 0])
            #expect(badNumber.status == .badRequest)
            let tooBig = try await client.sendRaw("add", String(repeating: " ", count: 100_000))
            #expect(tooBig.status == .contentTooLarge)
            let unknownRoute = try await client.send("steal", ["user": "alice"])
            #expect(unknownRoute.status == .notFound)
        }
    }

    /// ... and a made-up user's QUOTE, BUY or SELL costs no charged quote hit.
    @Test func everyCommandButAddNeedsAnAccount() async throws {
        let fixture = try await TradingServerFixture.make()
        let symbol = StockSymbol.unchecked("N\(Int.random(in: 10...99))")
        fixture.emulator.setPrice(Money(cents: 1_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            let stock = symbol.rawValue
            let requests: [(String, [String: any Sendable])] = [
                ("quote", ["symbol": stock]), ("buy", ["symbol": stock, "amount": "1.00"]), ("commit-buy", [:]), ("cancel-buy", [:]),
                ("sell", ["symbol": stock, "amount": "1.00"]), ("commit-sell", [:]), ("cancel-sell", [:]),
                ("set-buy-amount", ["symbol": stock, "amount": "1.00"]), ("set-buy-trigger", ["symbol": stock, "amount": "1.00"]),
                ("cancel-set-buy", ["symbol": stock]), ("set-sell-amount", ["symbol": stock, "amount": "1.00"]),
                ("set-sell-trigger", ["symbol": stock, "amount": "1.00"]), ("cancel-set-sell", ["symbol": stock]), ("display-summary", [:]),
            ]
            for (route, fields) in requests {
                let reply = try await client.send(route, fields.merging(["user": user]) { $1 })
                #expect(reply.status == .notFound, "\(route)")
                #expect(reply.errorCode == "unknown_account", "\(route)")
            }
            // A retry of the refused QUOTE gets the first reply, also with no hit.
            let keyed = ["user": user, "symbol": stock, "idempotencyKey": "made-up-\(user)"]
            #expect(try await client.send("quote", keyed).errorCode == "unknown_account")
            #expect(try await client.send("quote", keyed).errorCode == "unknown_account")
        }
        #expect(fixture.emulator.hitCount(for: symbol) == 0, "a user with no account cost a charged quote hit")
    }

    @Test func quoteReturnsThePriceAndCachesIt() async throws {
        let fixture = try await TradingServerFixture.make()
        let symbol = StockSymbol.unchecked("Q\(Int.random(in: 10...99))")
        fixture.emulator.setPrice(Money(cents: 12_34), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            try await client.send("add", ["user": user, "amount": "1.00"])
            let first = try await client.send("quote", ["user": user, "symbol": symbol.rawValue])
            #expect(first["price"] == "12.34")
            let second = try await client.send("quote", ["user": user, "symbol": symbol.rawValue])
            #expect(second["price"] == "12.34")
            #expect(fixture.emulator.hitCount(for: symbol) == 1)
            let quote = second.json["quote"] as? [String: Any]
            #expect(quote?["cached"] as? Bool == true)
            #expect((quote?["cryptokey"] as? String)?.isEmpty == false)
        }
    }

    @Test func buyReservesWholeSharesThenCommitAndCancel() async throws {
        let fixture = try await TradingServerFixture.make()
        fixture.emulator.setPrice(Money(cents: 30_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            try await client.send("add", ["user": user, "amount": "200.00"])
            let buy = try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "100.00"])
            #expect(buy.isOK)
            #expect(buy["shares"] == "3")
            #expect(buy["amount"] == "90.00")
            #expect(buy["cash"] == "110.00")
            #expect(buy["reservedCash"] == "90.00")
            let commit = try await client.send("commit-buy", ["user": user])
            #expect(commit.isOK)
            #expect(commit["cash"] == "110.00")
            #expect(commit["reservedCash"] == "0.00")

            try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "60.00"])
            let cancel = try await client.send("cancel-buy", ["user": user])
            #expect(cancel.isOK)
            #expect(cancel["cash"] == "110.00")
            let nothing = try await client.send("cancel-buy", ["user": user])
            #expect(nothing.errorCode == "no_pending_buy")
            #expect(nothing.status == .conflict)
            #expect(try await client.send("commit-buy", ["user": user]).errorCode == "no_pending_buy")

            let poor = try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "120.00"])
            #expect(poor.errorCode == "insufficient_funds")
            let tiny = try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "29.99"])
            #expect(tiny.errorCode == "amount_below_price")

            let summary = try await client.send("display-summary", ["user": user])
            let holdings = summary.json["holdings"] as? [[String: Any]]
            #expect(holdings?.first?["shares"] as? Int == 3)
            #expect(summary["cash"] == "110.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func pendingBuysFormAStack() async throws {
        let fixture = try await TradingServerFixture.make()
        fixture.emulator.setPrice(Money(cents: 10_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            try await client.send("add", ["user": user, "amount": "100.00"])
            try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "10.00"])
            try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "20.00"])
            let newest = try await client.send("commit-buy", ["user": user])
            #expect(newest["shares"] == "2")
            let older = try await client.send("cancel-buy", ["user": user])
            #expect(older["shares"] == "1")
            #expect(older["cash"] == "80.00")
        }
    }

    @Test func sellReservesSharesThenCommitAndCancel() async throws {
        let fixture = try await TradingServerFixture.make()
        fixture.emulator.setPrice(Money(cents: 10_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            #expect(try await client.send("add", ["user": user, "amount": "100.00"]).isOK)
            let noShares = try await client.send("sell", ["user": user, "symbol": "ABC", "amount": "10.00"])
            #expect(noShares.errorCode == "insufficient_shares")
            try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "50.00"])
            try await client.send("commit-buy", ["user": user])
            let tooMany = try await client.send("sell", ["user": user, "symbol": "ABC", "amount": "60.00"])
            #expect(tooMany.errorCode == "insufficient_shares")
            let sell = try await client.send("sell", ["user": user, "symbol": "ABC", "amount": "25.00"])
            #expect(sell["shares"] == "2")
            let commit = try await client.send("commit-sell", ["user": user])
            #expect(commit["cash"] == "70.00")
            try await client.send("sell", ["user": user, "symbol": "ABC", "amount": "10.00"])
            let cancel = try await client.send("cancel-sell", ["user": user])
            #expect(cancel.isOK)
            #expect(try await client.send("commit-sell", ["user": user]).errorCode == "no_pending_sell")
            #expect(try await client.send("cancel-sell", ["user": user]).errorCode == "no_pending_sell")
            let summary = try await client.send("display-summary", ["user": user])
            let holdings = summary.json["holdings"] as? [[String: Any]]
            #expect(holdings?.first?["shares"] as? Int == 3)
            #expect(holdings?.first?["reservedShares"] as? Int == 0)
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func buyAmountsAndTriggersReserveAndReturnCash() async throws {
        let fixture = try await TradingServerFixture.make()
        // Above the trigger set below, so the engine leaves it alone until it is cancelled.
        fixture.emulator.setPrice(Money(cents: 10_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            try await client.send("add", ["user": user, "amount": "100.00"])
            #expect(try await client.send("set-buy-trigger", ["user": user, "symbol": "ABC", "amount": "5.00"]).errorCode == "no_buy_amount")
            #expect(try await client.send("set-buy-amount", ["user": user, "symbol": "ABC", "amount": "100.01"]).errorCode == "insufficient_funds")
            let amount = try await client.send("set-buy-amount", ["user": user, "symbol": "ABC", "amount": "40.00"])
            #expect(amount["cash"] == "60.00")
            #expect(amount["reservedCash"] == "40.00")
            let replaced = try await client.send("set-buy-amount", ["user": user, "symbol": "ABC", "amount": "50.00"])
            #expect(replaced["cash"] == "50.00")
            #expect(replaced["reservedCash"] == "50.00")
            #expect(try await client.send("set-buy-trigger", ["user": user, "symbol": "ABC", "amount": "50.01"]).errorCode == "trigger_above_reserve")
            let trigger = try await client.send("set-buy-trigger", ["user": user, "symbol": "ABC", "amount": "9.50"])
            #expect(trigger["triggerPrice"] == "9.50")
            let summary = try await client.send("display-summary", ["user": user])
            let triggers = summary.json["triggers"] as? [[String: Any]]
            #expect(triggers?.first?["state"] as? String == "active")
            #expect(triggers?.first?["reservedCash"] as? String == "50.00")
            let cancel = try await client.send("cancel-set-buy", ["user": user, "symbol": "ABC"])
            #expect(cancel["cash"] == "100.00")
            #expect(cancel["reservedCash"] == "0.00")
            #expect(try await client.send("cancel-set-buy", ["user": user, "symbol": "ABC"]).errorCode == "no_trigger")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func sellAmountsAndTriggersReserveAndReturnShares() async throws {
        let fixture = try await TradingServerFixture.make()
        fixture.emulator.setPrice(Money(cents: 10_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user()
            try await client.send("add", ["user": user, "amount": "100.00"])
            #expect(try await client.send("set-sell-amount", ["user": user, "symbol": "ABC", "amount": "30.00"]).errorCode == "insufficient_shares")
            try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "50.00"])
            try await client.send("commit-buy", ["user": user])
            #expect(try await client.send("set-sell-trigger", ["user": user, "symbol": "ABC", "amount": "12.00"]).errorCode == "no_sell_amount")
            #expect(try await client.send("set-sell-amount", ["user": user, "symbol": "ABC", "amount": "30.00"]).isOK)
            #expect(try await client.send("set-sell-trigger", ["user": user, "symbol": "ABC", "amount": "31.00"]).errorCode == "amount_below_price")
            #expect(try await client.send("set-sell-trigger", ["user": user, "symbol": "ABC", "amount": "5.00"]).errorCode == "insufficient_shares")
            let trigger = try await client.send("set-sell-trigger", ["user": user, "symbol": "ABC", "amount": "12.00"])
            #expect(trigger["reservedShares"] == "2")
            let summary = try await client.send("display-summary", ["user": user])
            let holdings = summary.json["holdings"] as? [[String: Any]]
            #expect(holdings?.first?["shares"] as? Int == 3)
            #expect(holdings?.first?["reservedShares"] as? Int == 2)
            let cancel = try await client.send("cancel-set-sell", ["user": user, "symbol": "ABC"])
            #expect(cancel["reservedShares"] == "2")
            #expect(try await client.send("cancel-set-sell", ["user": user, "symbol": "ABC"]).errorCode == "no_trigger")
            let after = try await client.send("display-summary", ["user": user])
            #expect((after.json["holdings"] as? [[String: Any]])?.first?["shares"] as? Int == 5)
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func overflowIsARejectionNeverACrash() async throws {
        let fixture = try await TradingServerFixture.make(settings: ["limits.maximum.amount": "92233720368547758.07"])
        try await fixture.withServer { client in
            let user = Unique.user()
            #expect(try await client.send("add", ["user": user, "amount": "92233720368547758.00"]).isOK)
            let overflow = try await client.send("add", ["user": user, "amount": "1.00"])
            #expect(overflow.errorCode == "arithmetic_overflow")
            #expect(try await client.send("display-summary", ["user": user])["cash"] == "92233720368547758.00")
            #expect(try await client.get("/health/live").status == .ok)
        }
    }

    @Test func healthAndMetrics() async throws {
        let fixture = try await TradingServerFixture.make()
        try await fixture.withServer { client in
            #expect(try await client.get("/health/live").status == .ok)
            #expect(try await client.get("/health/ready").status == .ok)
            try await client.send("add", ["user": Unique.user(), "amount": "1.00"])
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == .ok)
        }
    }
}

extension StockSymbol {
    /// A symbol the test knows is valid.
    static func unchecked(_ text: String) -> StockSymbol {
        try! StockSymbol(validating: text)
    }
}
