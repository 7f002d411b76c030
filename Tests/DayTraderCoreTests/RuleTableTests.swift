import Testing
import TradingRuleCases
@testable import DayTraderCore

/// The Swift side of the rule table (TradingRuleCases): what the rules compute before the
/// database call, and how a refusal the database reports is worded. The database side runs the
/// same cases through `dt_execute` (IntegrationTests' RuleTableTests).
@Suite("The rule table: the Swift side")
struct RuleTableTests {
    static let now = Timestamp(unixMillis: 1_700_000_000_000)

    static func command(_ rule: TradingRuleCases.Case) throws -> Command {
        try Command(validating: CommandRequest(
            name: rule.command.rawValue, user: "ruler", symbol: TradingRuleCases.symbol, amount: rule.amount
        ))
    }

    static func quote(_ rule: TradingRuleCases.Case) -> QuoteInfo? {
        rule.price.map {
            QuoteInfo(symbol: TradingRuleCases.symbol, price: Money(cents: $0), quoteServerTime: 1, cryptokey: "k", cached: true, expiresAt: now.unixMillis + 60_000)
        }
    }

    @Test("the plan: whole shares and costs, or a refusal the request alone decides", arguments: TradingRuleCases.all)
    func plan(rule: TradingRuleCases.Case) throws {
        let command = try Self.command(rule)
        do {
            let plan = try CommandPlan(command, quote: Self.quote(rule), now: Self.now)
            if rule.command == .buy || rule.command == .sell {
                #expect(rule.expected.code != .amountBelowPrice, "the rules should have refused it before the call")
            }
            if let shares = rule.expected.shares { #expect(plan.shares == shares) }
            if let cost = rule.expected.cost { #expect(plan.amount == cost) }
            if rule.command == .buy || rule.command == .sell {
                #expect(plan.expiresAt == Self.now.unixMillis + 60_000)
                #expect(plan.price == rule.price)
            }
        } catch {
            #expect(error.code == rule.expected.code)
            #expect(error.message == rule.expected.message)
        }
    }

    @Test("a refusal the database reports is worded from its numbers", arguments: TradingRuleCases.all.filter { $0.expected.code != nil })
    func wording(rule: TradingRuleCases.Case) throws {
        guard (try? CommandPlan(Self.command(rule), quote: Self.quote(rule), now: Self.now)) != nil else { return }
        let request = CommandRequest(name: rule.command.rawValue, user: "ruler", symbol: TradingRuleCases.symbol, amount: rule.amount)
        var result = RecordResult(transactionNum: 1, code: try #require(rule.expected.code).rawValue)
        result.available = rule.expected.available
        result.shares = rule.expected.neededShares
        result.amount = rule.expected.storedAmount
        let record = TransactionRecord(head: .command(request, id: "id", server: "ts", at: Self.now.unixMillis, quote: Self.quote(rule)), result: result)
        #expect(record.rejection?.code == rule.expected.code)
        #expect(record.rejection?.message == rule.expected.message)
        #expect(record.reply.error?.message == rule.expected.message)
    }
}
