import ChildProcess
import Configuration
import DayTraderCore
import Foundation
import PostgresNIO
import Testing

/// The trigger engine, with the emulator's settable prices: triggers fire on their own, at the
/// rules' prices, exactly once, and cost no more quote hits than the quote lifetime allows.
@Suite(.timeLimit(.minutes(15))) struct TriggerTests {
    /// A short quote lifetime so the tests run fast; the engine looks every 50 ms.
    static let lifetimeMillis = 2_000
    /// Added to the lifetime when waiting for a firing: the engine's round and the firing's own
    /// work, with room for a loaded CI machine (the time it took is printed: 1.9-2.4 s here,
    /// 4.8 s with both cores also running two busy loops).
    static let firingAllowanceMillis = 10_000
    static let fastTriggers: [String: ConfigValue] = [
        "quote.lifetime.ms": .init(.int(lifetimeMillis), isSecret: false),
        "trigger.interval.ms": 50,
    ]

    /// A fixture whose relay cannot reach a broker, so every audit event stays in the outbox
    /// for the test to read.
    static func fixtureKeepingAuditEvents(settings: [String: ConfigValue] = fastTriggers) async throws -> TradingServerFixture {
        try await TradingServerFixture.make(rabbitMQPort: try freePort(), settings: settings)
    }

    @Test func aBuyTriggerFiresAtOrBelowItsPriceAndReturnsTheRestOfTheReserve() async throws {
        let fixture = try await Self.fixtureKeepingAuditEvents()
        let below = StockSymbol.unchecked("TBL")
        let at = StockSymbol.unchecked("TAT")
        for symbol in [below, at] { fixture.emulator.setPrice(Money(cents: 12_01), for: symbol) }
        let user = Unique.user()
        try await fixture.withServer { client in
            try await client.send("add", ["user": user, "amount": "1000.00", "transactionNum": 1])
            for (offset, symbol) in [below, at].enumerated() {
                try await client.send("set-buy-amount", ["user": user, "symbol": symbol.rawValue, "amount": "150.00", "transactionNum": 2 + 2 * offset])
                #expect(try await client.send("set-buy-trigger", ["user": user, "symbol": symbol.rawValue, "amount": "12.00", "transactionNum": 3 + 2 * offset]).isOK)
            }
            // The engine fetched 12.01 for both and left the triggers alone: a cent above does not fire.
            #expect(try await eventually(within: .seconds(30)) { fixture.emulator.hitCount(for: below) > 0 && fixture.emulator.hitCount(for: at) > 0 })
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await fixture.int64("SELECT count(*) FROM triggers WHERE trigger_price IS NOT NULL") == 2)

            fixture.emulator.setPrice(Money(cents: 11_00), for: below)
            fixture.emulator.setPrice(Money(cents: 12_00), for: at)
            let crossed = ContinuousClock.now
            // No command from here on: the engine refreshes the quotes when they expire.
            let fired = try await eventually(within: .milliseconds(Self.lifetimeMillis + Self.firingAllowanceMillis)) {
                try await fixture.int64("SELECT count(*) FROM triggers") == 0
            }
            #expect(fired, "the triggers did not fire within one quote lifetime (plus the allowance for the work) of the price crossing")
            try #require(fired)
            let elapsed = ContinuousClock.now - crossed

            let summary = try await client.send("display-summary", ["user": user])
            // floor(150.00 / 11.00) = 13 shares cost 143.00, 7.00 back; floor(150.00 / 12.00) = 12 cost 144.00, 6.00 back.
            #expect(summary["cash"] == "713.00")
            #expect(summary["reservedCash"] == "0.00")
            let holdings = (summary.json["holdings"] as? [[String: Any]] ?? []).map { ($0["symbol"] as? String ?? "", $0["shares"] as? Int ?? -1) }
            #expect(holdings.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" } == ["TAT=12", "TBL=13"])
            #expect((summary.json["triggers"] as? [Any])?.isEmpty == true)
            let history = (summary.json["history"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "buy_trigger_fill" }
            #expect(Set(history.compactMap { $0["transactionNum"] as? Int }) == [3, 5], "each fill carries the SET_BUY_TRIGGER's transactionNum")
            print("buy triggers fired \(elapsed) after the price crossed (quote lifetime \(Self.lifetimeMillis) ms)")
        }

        let events = try await fixture.outboxEvents()
        for (symbol, transactionNum, cost, refund) in [("TBL", Int64(3), "143.00", "7.00"), ("TAT", 5, "144.00", "6.00")] {
            let fired = events.filter { $0.kind == .systemEvent && $0.command == "SET_BUY_TRIGGER" && $0.stockSymbol == symbol }
            #expect(fired.map(\.transactionNum) == [transactionNum], "one systemEvent for \(symbol)'s firing, under the setting command's number")
            #expect(fired.first?.funds?.description == cost)
            let refunds = events.filter { $0.kind == .accountTransaction && $0.transactionNum == transactionNum && $0.action == "add" }
            #expect(refunds.map { $0.funds?.description } == [refund])
            // The engine's own hits are in the log too, under a trigger's number.
            #expect(events.contains { $0.kind == .quoteServer && $0.stockSymbol == symbol && $0.transactionNum == transactionNum && $0.price == Money(cents: symbol == "TBL" ? 11_00 : 12_00) })
        }
        try await fixture.checkLedgerMatchesBalances()
        try await fixture.checkAuditCashMatchesAccounts(events)
    }

    @Test func aSellTriggerFiresAtOrAboveItsPriceAndReturnsTheSharesItDidNotSell() async throws {
        let fixture = try await Self.fixtureKeepingAuditEvents()
        let symbol = StockSymbol.unchecked("TSL")
        fixture.emulator.setPrice(Money(cents: 30_00), for: symbol)
        let user = Unique.user()
        try await fixture.withServer { client in
            try await client.send("add", ["user": user, "amount": "1000.00", "transactionNum": 1])
            try await client.send("buy", ["user": user, "symbol": "TSL", "amount": "300.00", "transactionNum": 2])
            try await client.send("commit-buy", ["user": user, "transactionNum": 3])
            try await client.send("set-sell-amount", ["user": user, "symbol": "TSL", "amount": "70.00", "transactionNum": 4])
            let trigger = try await client.send("set-sell-trigger", ["user": user, "symbol": "TSL", "amount": "35.00", "transactionNum": 5])
            #expect(trigger["reservedShares"] == "2")

            fixture.emulator.setPrice(Money(cents: 34_99), for: symbol)
            let hits = fixture.emulator.hitCount(for: symbol)
            #expect(try await eventually(within: .seconds(30)) { fixture.emulator.hitCount(for: symbol) > hits })
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await fixture.int64("SELECT count(*) FROM triggers") == 1, "a cent below the trigger does not fire")

            fixture.emulator.setPrice(Money(cents: 36_00), for: symbol)
            let fired = try await eventually(within: .milliseconds(Self.lifetimeMillis + Self.firingAllowanceMillis)) {
                try await fixture.int64("SELECT count(*) FROM triggers") == 0
            }
            #expect(fired, "the trigger did not fire within one quote lifetime (plus the allowance for the work) of the price crossing")

            // floor(70.00 / 36.00) = 1 share sold for 36.00; the other reserved share comes back.
            let summary = try await client.send("display-summary", ["user": user])
            #expect(summary["cash"] == "736.00")
            let holding = (summary.json["holdings"] as? [[String: Any]])?.first
            #expect(holding?["shares"] as? Int == 9)
            #expect(holding?["reservedShares"] as? Int == 0)
        }
        let events = try await fixture.outboxEvents()
        let fired = events.filter { $0.kind == .systemEvent && $0.command == "SET_SELL_TRIGGER" }
        #expect(fired.map(\.transactionNum) == [5])
        #expect(fired.first?.funds == LoggedDecimal(Money(cents: 36_00)))
        #expect(events.filter { $0.kind == .accountTransaction && $0.transactionNum == 5 }.map { "\($0.action ?? "") \($0.funds?.description ?? "")" } == ["add 36.00"])
        try await fixture.checkLedgerMatchesBalances()
        try await fixture.checkAuditCashMatchesAccounts(events)
    }

    @Test func anAmountWithoutATriggerNeverFiresAndCancellingReturnsEverything() async throws {
        let fixture = try await TradingServerFixture.make(settings: Self.fastTriggers)
        let symbol = StockSymbol.unchecked("TAW")
        // Far below any trigger and any amount: an active buy trigger would fire at once.
        fixture.emulator.setPrice(Money(cents: 1), for: symbol)
        let user = Unique.user()
        try await fixture.withServer { client in
            try await client.send("add", ["user": user, "amount": "500.00"])
            #expect(try await client.send("set-buy-trigger", ["user": user, "symbol": "TAW", "amount": "5.00"]).errorCode == "no_buy_amount")
            #expect(try await client.send("set-sell-trigger", ["user": user, "symbol": "TAW", "amount": "5.00"]).errorCode == "no_sell_amount")
            try await client.send("set-buy-amount", ["user": user, "symbol": "TAW", "amount": "123.45"])
            // Several rounds: nothing is watched, so nothing is fetched and nothing fires.
            try await Task.sleep(for: .milliseconds(500))
            #expect(fixture.emulator.hitCount(for: symbol) == 0, "a stock without active triggers costs no quote hits")
            let summary = try await client.send("display-summary", ["user": user])
            let trigger = (summary.json["triggers"] as? [[String: Any]])?.first
            #expect(trigger?["state"] as? String == "awaiting_trigger")
            #expect(trigger?["amount"] as? String == "123.45")
            #expect(trigger?["reservedCash"] as? String == "123.45")
            #expect(trigger?["triggerPrice"] is NSNull)
            let cancelled = try await client.send("cancel-set-buy", ["user": user, "symbol": "TAW"])
            #expect(cancelled["cash"] == "500.00")
            #expect(cancelled["reservedCash"] == "0.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func aQuoteFetchedForACommandFiresTheStocksTriggersBeforeItsReply() async throws {
        // Rounds far apart and a long lifetime: only the commands can fire the triggers.
        let fixture = try await TradingServerFixture.make(settings: ["trigger.interval.ms": 3_600_000])
        let symbol = StockSymbol.unchecked("TQC")
        fixture.emulator.setPrice(Money(cents: 5_00), for: symbol)
        let owner = Unique.user()
        let other = Unique.user()
        try await fixture.withServer { client in
            try await client.send("add", ["user": owner, "amount": "100.00"])
            try await client.send("set-buy-amount", ["user": owner, "symbol": "TQC", "amount": "50.00"])
            try await client.send("set-buy-trigger", ["user": owner, "symbol": "TQC", "amount": "6.00"])
            #expect(fixture.emulator.hitCount(for: symbol) == 0, "setting a trigger fetches no quote")
            try await client.send("add", ["user": other, "amount": "1.00"])
            #expect(try await client.send("quote", ["user": other, "symbol": "TQC"])["price"] == "5.00")
            // The other user's QUOTE fetched 5.00, which holds for the trigger: it fired before that reply.
            #expect(try await fixture.int64("SELECT count(*) FROM triggers") == 0)
            #expect(try await client.send("display-summary", ["user": owner])["cash"] == "50.00", "10 shares for 50.00, nothing back")
            #expect(fixture.emulator.hitCount(for: symbol) == 1)
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    @Test func aTriggerSetWhileTheCurrentQuoteHoldsFiresBeforeItsReply() async throws {
        let fixture = try await TradingServerFixture.make(settings: ["trigger.interval.ms": 3_600_000])
        let symbol = StockSymbol.unchecked("TSH")
        fixture.emulator.setPrice(Money(cents: 5_00), for: symbol)
        let user = Unique.user()
        try await fixture.withServer { client in
            try await client.send("add", ["user": user, "amount": "100.00"])
            try await client.send("quote", ["user": user, "symbol": "TSH"])
            try await client.send("set-buy-amount", ["user": user, "symbol": "TSH", "amount": "52.00"])
            #expect(try await client.send("set-buy-trigger", ["user": user, "symbol": "TSH", "amount": "6.00"]).isOK)
            // The current quote (5.00) holds: floor(52.00 / 5.00) = 10 shares for 50.00, 2.00 back.
            let summary = try await client.send("display-summary", ["user": user])
            #expect(summary["cash"] == "50.00")
            #expect((summary.json["holdings"] as? [[String: Any]])?.first?["shares"] as? Int == 10)
            #expect(fixture.emulator.hitCount(for: symbol) == 1, "the trigger used the cached quote")
        }
        try await fixture.checkLedgerMatchesBalances()
    }

    /// 100 users, 1,000 triggers (500 buys, 500 sells) on 50 stocks, three instances.
    @Test func threeInstancesFireEachOfAThousandTriggersOnceWithOneHitPerStockPerLifetime() async throws {
        let fixture = try await TradingServerFixture.make(settings: Self.fastTriggers)
        let symbols = (0..<50).map { StockSymbol.unchecked(String(format: "M%02d", $0)) }
        for symbol in symbols { fixture.emulator.setPrice(Money(cents: 10_00), for: symbol) }
        let users = (0..<100).map { _ in Unique.user("m") }

        try await fixture.withServer(name: "a") { first in
            try await fixture.withServer(name: "b") { second in
                try await fixture.withServer(name: "c") { third in
                    let instances = [first, second, third]
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (index, user) in users.enumerated() {
                            group.addTask {
                                try await instances[index % 3].withConnection { client in
                                    try await Self.placeTriggers(for: user, on: (0..<10).map { symbols[(index * 10 + $0) % 50] }, client)
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                    #expect(try await fixture.int64("SELECT count(*) FROM triggers WHERE trigger_price IS NOT NULL") == 1_000)

                    fixture.emulator.resetHitCounts()
                    let start = ContinuousClock.now
                    // Down through every buy trigger (8.00), then up through every sell trigger (12.00).
                    for (price, side) in [(Money(cents: 7_00), "buy"), (Money(cents: 13_00), "sell")] {
                        for symbol in symbols { fixture.emulator.setPrice(price, for: symbol) }
                        let done = try await eventually(within: .seconds(60), every: .milliseconds(100)) {
                            try await fixture.int64("SELECT count(*) FROM triggers WHERE side = \(side)") == 0
                        }
                        #expect(done, "\(side) triggers left unfired")
                    }
                    let elapsedMillis = Int((ContinuousClock.now - start) / .milliseconds(1))
                    let lifetimes = elapsedMillis / Self.lifetimeMillis + 1
                    let hits = symbols.map { fixture.emulator.hitCount(for: $0) }
                    #expect(hits.reduce(0, +) <= 50 * lifetimes, "\(hits.reduce(0, +)) hits in \(elapsedMillis) ms: more than 50 per quote lifetime")
                    // A stock's requests are at least one lifetime apart. Their arrival at the
                    // emulator may lag by scheduling delays under load, hence a quarter lifetime's grace.
                    let perStock = (elapsedMillis + Self.lifetimeMillis / 4) / Self.lifetimeMillis + 1
                    #expect(hits.allSatisfy { $0 <= perStock }, "hits per stock \(hits), at most \(perStock) each in \(elapsedMillis) ms")
                    print("1,000 triggers on 50 stocks, 3 instances: fired in \(elapsedMillis) ms with \(hits.reduce(0, +)) quote hits, at most \(hits.max() ?? 0) per stock")
                }
            }
        }

        // Exactly once: one fill per trigger, and every user's cash is exactly as computed.
        #expect(try await fixture.int64("SELECT count(*) FROM ledger WHERE kind = 'buy_trigger_fill'") == 500)
        #expect(try await fixture.int64("SELECT count(*) FROM ledger WHERE kind = 'sell_trigger_fill'") == 500)
        #expect(try await fixture.int64("SELECT count(*) FROM (SELECT DISTINCT user_id, kind, symbol FROM ledger WHERE kind LIKE '%_trigger_fill') f") == 1_000)
        // 1000.00 - 5 x 50.00 bought - 5 x 80.00 reserved + 5 x 3.00 back (11 shares at 7.00)
        // + 5 x 13.00 (one share of two sold at 13.00) = 430.00.
        #expect(try await fixture.int64("SELECT count(*) FROM accounts WHERE cash = 43000 AND reserved_cash = 0") == 100)
        try await fixture.checkLedgerMatchesBalances()
    }

    /// Five sell triggers (5 shares bought at 10.00, sell 24.00 at 12.00: 2 shares held) and
    /// five buy triggers (80.00 at 8.00).
    private static func placeTriggers(for user: String, on symbols: [StockSymbol], _ client: CommandClient) async throws {
        func ok(_ route: String, _ fields: [String: any Sendable], sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandClient.Reply {
            let reply = try await client.send(route, fields.merging(["user": user]) { $1 })
            #expect(reply.isOK, "\(route): \(reply.status.code) \(reply.body.prefix(300))", sourceLocation: sourceLocation)
            return reply
        }
        _ = try await ok("add", ["amount": "1000.00"])
        for (index, symbol) in symbols.enumerated() {
            let stock = symbol.rawValue
            if index < 5 {
                // The fixture's lifetime is 2 s, which a loaded machine can let lapse between
                // the BUY and its COMMIT, or before a fetched quote reaches the BUY (answered 503
                // quote_unavailable, as it should be): then the client buys again, as a trader would.
                var committed = false
                for _ in 0..<5 where !committed {
                    let buy = try await client.send("buy", ["user": user, "symbol": stock, "amount": "50.00"])
                    if buy.errorCode == "quote_unavailable" { continue }
                    #expect(buy.isOK, "buy: \(buy.status.code) \(buy.body.prefix(300))")
                    committed = try await client.send("commit-buy", ["user": user]).isOK
                }
                #expect(committed, "commit-buy of \(stock) for \(user)")
                _ = try await ok("set-sell-amount", ["symbol": stock, "amount": "24.00"])
                #expect(try await ok("set-sell-trigger", ["symbol": stock, "amount": "12.00"])["reservedShares"] == "2")
            } else {
                _ = try await ok("set-buy-amount", ["symbol": stock, "amount": "80.00"])
                _ = try await ok("set-buy-trigger", ["symbol": stock, "amount": "8.00"])
            }
        }
    }
}

extension TradingServerFixture {
    /// The audit events of the records waiting in the outbox, oldest first.
    func outboxEvents() async throws -> [AuditEvent] {
        try await withPostgres { postgres in
            var events: [AuditEvent] = []
            for try await text in try await postgres.query("SELECT record FROM audit_outbox ORDER BY id", logger: TestServices.logger).decode(String.self) {
                events += AuditEvent.events(of: try TransactionRecord(parsing: text))
            }
            return events
        }
    }

    /// For every account, the audit log's cash adds minus removes equal its cash.
    func checkAuditCashMatchesAccounts(_ events: [AuditEvent], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var logged: [String: Int64] = [:]
        for event in events where event.kind == .accountTransaction {
            let cents = event.funds.flatMap { try? Money(parsing: $0.text) }?.cents ?? 0
            logged[event.username ?? "", default: 0] += event.action == "add" ? cents : -cents
        }
        #expect(logged == (try await cashByUser()), "the audit log's cash disagrees with the accounts", sourceLocation: sourceLocation)
    }
}
