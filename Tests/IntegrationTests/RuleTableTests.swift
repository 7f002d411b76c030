import DayTraderCore
import PostgresNIO
import Testing
import TradingRuleCases
import TradingStore

/// The database side of the rule table (TradingRuleCases): what `dt_execute` and `dt_fire`
/// decide for an account's state, given what the rules computed before the call. The Swift side
/// runs the same cases (DayTraderCoreTests' RuleTableTests).
@Suite(.timeLimit(.minutes(10)), .serialized) struct RuleTableTests {
    static let now = Timestamp(unixMillis: 1_700_000_000_000)

    /// A migrated database of the suite's own, and the store on it.
    static func withStore<T: Sendable>(_ body: @Sendable (TradingStore, PostgresClient) async throws -> T) async throws -> T {
        let database = try await TestServices.freshDatabase()
        return try await TestServices.withPostgres(database: database) { client in
            let store = TradingStore(client: client, logger: TestServices.logger)
            try await store.migrate()
            return try await body(store, client)
        }
    }

    /// The account of the case, written straight into the tables.
    static func arrange(_ account: TradingRuleCases.Account, for user: String, trigger: TriggerRow? = nil, on client: PostgresClient) async throws {
        let symbol = TradingRuleCases.symbol
        try await client.query(
            "INSERT INTO accounts (user_id, cash, reserved_cash) VALUES (\(user), \(account.cash), \(account.buyReserve ?? 0))",
            logger: TestServices.logger
        )
        try await client.query(
            "INSERT INTO holdings (user_id, symbol, shares, reserved_shares) VALUES (\(user), \(symbol), \(account.shares), \(account.sellReserved))",
            logger: TestServices.logger
        )
        if let reserve = account.buyReserve {
            try await client.query(
                "INSERT INTO triggers VALUES (\(user), 'buy', \(symbol), \(reserve), NULL, 0, 1)", logger: TestServices.logger)
        }
        if let amount = account.sellAmount {
            try await client.query(
                "INSERT INTO triggers VALUES (\(user), 'sell', \(symbol), \(amount), NULL, \(account.sellReserved), 1)", logger: TestServices.logger)
        }
        if let trigger {
            try await client.query(
                """
                INSERT INTO triggers VALUES (\(user), \(trigger.side.rawValue), \(trigger.symbol), \(trigger.amount), \(trigger.triggerPrice),
                                             \(trigger.reservedShares), \(trigger.transactionNum))
                """,
                logger: TestServices.logger
            )
        }
    }

    static func balances(of user: String, on client: PostgresClient) async throws -> (cash: Int64, reservedCash: Int64, shares: Int64, reservedShares: Int64) {
        let rows = try await client.query(
            """
            SELECT a.cash, a.reserved_cash, h.shares, h.reserved_shares FROM accounts a
            JOIN holdings h ON h.user_id = a.user_id AND h.symbol = \(TradingRuleCases.symbol) WHERE a.user_id = \(user)
            """,
            logger: TestServices.logger
        )
        for try await row in rows.decode((Int64, Int64, Int64, Int64).self) { return row }
        throw StoreError.inconsistent("no account \(user)")
    }

    static func call(_ command: Command, user: String, amount: String? = nil, quote: QuoteInfo?, at now: Timestamp) -> TradingStore.Call {
        let request = CommandRequest(name: command.name.rawValue, user: user, symbol: TradingRuleCases.symbol, amount: amount)
        var call = TradingStore.Call(
            command: command.name, user: command.user, symbol: StockSymbol.unchecked(TradingRuleCases.symbol), transactionNum: nil,
            idempotencyKey: nil, fingerprint: request.fingerprint(transactionNum: nil),
            head: .command(request, id: RecordID.next(), server: "rules", at: now.unixMillis, quote: quote)
        )
        do {
            call.plan = try CommandPlan(command, quote: quote, now: now)
        } catch {
            call.refusal = error.code
            call.head.message = error.message
        }
        return call
    }

    @Test("what the account's state allows, and what is left", arguments: TradingRuleCases.all.filter { !($0.expected.code == .amountBelowPrice && $0.price != nil) })
    func table(rule: TradingRuleCases.Case) async throws {
        try await Self.withStore { store, client in
            let user = Unique.user("rule")
            try await Self.arrange(rule.account, for: user, on: client)
            let command = try Command(validating: CommandRequest(name: rule.command.rawValue, user: user, symbol: TradingRuleCases.symbol, amount: rule.amount))
            let quote = rule.price.map {
                QuoteInfo(symbol: TradingRuleCases.symbol, price: Money(cents: $0), quoteServerTime: 1, cryptokey: "k", cached: true, expiresAt: Self.now.unixMillis + 60_000)
            }
            let outcome = try await store.executeAlone(Self.call(command, user: user, amount: rule.amount, quote: quote, at: Self.now))
            let result = outcome.record.result
            #expect(result.code == (rule.expected.code?.rawValue ?? RecordResult.ok))
            #expect(result.available == rule.expected.available)
            #expect(result.shares == rule.expected.neededShares)
            if rule.expected.code != nil {
                #expect(result.amount == rule.expected.storedAmount)
                #expect(outcome.record.rejection?.message == rule.expected.message)
                #expect(result.version == nil, "a refusal changes nothing")
            }
            let after = try await Self.balances(of: user, on: client)
            if let cash = rule.expected.cashAfter { #expect(after.cash == cash) }
            if let reserved = rule.expected.reservedCashAfter { #expect(after.reservedCash == reserved) }
            if let shares = rule.expected.sharesAfter { #expect(after.shares == shares) }
            if let reserved = rule.expected.reservedSharesAfter { #expect(after.reservedShares == reserved) }
        }
    }

    @Test("a firing applies what the rules computed, once", arguments: TradingRuleCases.firings.filter { $0.expected != nil })
    func firing(firing: TradingRuleCases.Firing) async throws {
        try await Self.withStore { store, client in
            let user = Unique.user("fire")
            try await client.query(
                "INSERT INTO accounts (user_id, cash, reserved_cash) VALUES (\(user), 500, \(firing.trigger.side == .buy ? firing.trigger.amount : 0))",
                logger: TestServices.logger
            )
            try await client.query(
                "INSERT INTO holdings VALUES (\(user), \(TradingRuleCases.symbol), 0, \(firing.trigger.reservedShares))", logger: TestServices.logger)
            try await client.query(
                """
                INSERT INTO triggers VALUES (\(user), \(firing.trigger.side.rawValue), \(firing.trigger.symbol), \(firing.trigger.amount),
                                             \(firing.trigger.triggerPrice), \(firing.trigger.reservedShares), \(firing.trigger.transactionNum))
                """,
                logger: TestServices.logger
            )
            let active = TradingStore.ActiveTrigger(user: try UserID(validating: user), trigger: firing.trigger)
            let fill = try #require(try TradingRules.fill(of: firing.trigger, at: Money(cents: firing.price)))
            var head = RecordHead(id: RecordID.next(), kind: .firing, server: "rules", at: Self.now.unixMillis)
            head.user = user
            let fired = try await store.fire(active, fill: fill, head: head)
            #expect(fired.result.code == RecordResult.ok)
            let row = try #require(fired.result.ledger?.first)
            let expected = try #require(firing.expected)
            #expect(TradingRuleCases.Movement(funds: fill.funds.cents, cash: row.cash, reservedCash: row.reservedCash, shares: row.shares, reservedShares: row.reservedShares) == expected)
            let after = try await Self.balances(of: user, on: client)
            #expect(after.cash == 5_00 + expected.cash)
            #expect(after.shares == expected.shares)
            #expect(after.reservedShares == firing.trigger.reservedShares + expected.reservedShares)
            // Once: the trigger is gone.
            #expect(try await store.fire(active, fill: fill, head: head).result.code == "gone")
        }
    }

    @Test("an order is live until exactly its lifetime, and a late COMMIT releases it")
    func lifetime() async throws {
        try await Self.withStore { store, client in
            let user = Unique.user("life")
            try await Self.arrange(.init(cash: 100_00), for: user, on: client)
            let quote = QuoteInfo(symbol: TradingRuleCases.symbol, price: Money(cents: 10_00), quoteServerTime: 1, cryptokey: "k", cached: true, expiresAt: Self.now.unixMillis + 120_000)
            let buy = try Command(validating: CommandRequest(name: "BUY", user: user, symbol: TradingRuleCases.symbol, amount: "10.00"))
            let commit = try Command(validating: CommandRequest(name: "COMMIT_BUY", user: user))
            _ = try await store.executeAlone(Self.call(buy, user: user, quote: quote, at: Self.now))
            let live = try await store.executeAlone(Self.call(commit, user: user, quote: nil, at: Self.now.adding(milliseconds: 59_999)))
            #expect(live.record.result.isOK)
            _ = try await store.executeAlone(Self.call(buy, user: user, quote: quote, at: Self.now))
            let late = try await store.executeAlone(Self.call(commit, user: user, quote: nil, at: Self.now.adding(milliseconds: 60_000)))
            #expect(late.record.result.code == "no_pending_buy")
            #expect(late.record.result.expired?.count == 1, "the command released the expired order first")
            #expect(try await Self.balances(of: user, on: client).cash == 90_00)
        }
    }

    @Test("a balance that would overflow is arithmetic_overflow, recorded and logged like any refusal")
    func overflow() async throws {
        try await Self.withStore { store, client in
            let user = Unique.user("big")
            try await Self.arrange(.init(cash: Int64.max - 100), for: user, on: client)
            let add = try Command(validating: CommandRequest(name: "ADD", user: user, amount: "1.01"))
            let outcome = try await store.executeAlone(Self.call(add, user: user, quote: nil, at: Self.now))
            #expect(outcome.record.result.code == "arithmetic_overflow")
            #expect(outcome.record.rejection?.message == "the account's balances would overflow; nothing was changed")
            #expect(try await Self.balances(of: user, on: client).cash == Int64.max - 100)
            var logged = 0
            for try await _ in try await client.query("SELECT 1 FROM audit_outbox", logger: TestServices.logger).decode(Int.self) { logged += 1 }
            #expect(logged == 1, "the refusal is in the outbox")
        }
    }
}
