import Testing
import TradingRuleCases
@testable import DayTraderCore

/// The rejection code a throwing rule gives, or `nil` when it succeeds.
private func code<T>(_ body: () throws(Rejection) -> T) -> Rejection.Code? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.code
    }
}

/// Interesting values for the "never traps" sweeps.
private let extremes: [Int64] = [
    Int64.min, Int64.min + 1, -100_00, -1, 0, 1, 2, 3, 99, 100, 30_00,
    Int64.max / 3, Int64.max / 2, Int64.max / 2 + 1, Int64.max - 1, Int64.max,
]

@Suite("TradingRules: the 60 s lifetime")
struct LifetimeTests {
    @Test("the lifetime is 60,000 ms")
    func lifetime() {
        #expect(TradingRules.lifetimeMillis == 60_000)
        let start = Timestamp(unixMillis: 1_583_452_412_110)
        #expect(TradingRules.expiry(from: start) == start.adding(milliseconds: 60_000))
        #expect(TradingRules.expiry(from: start, lifetime: 2_000) == start.adding(milliseconds: 2_000))
    }

    @Test("a pending order is live for exactly 60 s", arguments: [
        (0, true),
        (1, true),
        (30_000, true),
        (59_999, true),
        (60_000, false),
        (60_001, false),
        (3_600_000, false),
        (-1, true),  // a clock that stepped back does not expire anything early
    ] as [(Int64, Bool)])
    func isLive(elapsed: Int64, live: Bool) {
        let placed = Timestamp(unixMillis: 1_583_452_412_110)
        #expect(TradingRules.isLive(until: TradingRules.expiry(from: placed), at: placed.adding(milliseconds: elapsed)) == live)
        let quote = QuoteInfo(symbol: "ABC", price: dollars("1"), quoteServerTime: 0, cryptokey: "k", cached: true,
                              expiresAt: TradingRules.expiry(from: placed).unixMillis)
        #expect(quote.isLive(at: placed.adding(milliseconds: elapsed)) == live)
    }

    @Test("Timestamp basics")
    func timestamp() {
        let t = Timestamp(unixMillis: 1_583_452_412_110)
        #expect(t.description == "1583452412110")
        #expect(t.adding(milliseconds: 60_000).unixMillis == 1_583_452_472_110)
        #expect(t < t.adding(milliseconds: 1))
        #expect(!(t < t))
        #expect(Timestamp(unixMillis: 0) == Timestamp(unixMillis: 0))
    }
}

@Suite("TradingRules: fill")
struct FillTests {
    @Test("floor(amount / price) whole shares and their exact cost", arguments: [
        ("100.00", "30.00", 3, "90.00"),
        ("90.00", "30.00", 3, "90.00"),
        ("30.00", "30.00", 1, "30.00"),
        ("59.99", "30.00", 1, "30.00"),
        ("276.83", "276.83", 1, "276.83"),
        ("63511.53", "383.82", 165, "63330.30"),
        ("1.00", "0.01", 100, "1.00"),
        ("0.01", "0.01", 1, "0.01"),
    ] as [(String, String, Int64, String)])
    func fills(amount: String, price: String, shares: Int64, cost: String) throws {
        let fill = try TradingRules.fill(amount: dollars(amount), price: dollars(price))
        #expect(fill.shares == shares)
        #expect(fill.price == dollars(price))
        #expect(fill.cost == dollars(cost))
        #expect(fill.cost <= dollars(amount))
    }

    @Test("zero shares is a rejection", arguments: [
        (29_99, 30_00),
        (0, 1),
        (1, 2),
        (-100_00, 1_00),
        (Int64.min, 1),
        (Int64.max - 1, Int64.max),
    ] as [(Int64, Int64)])
    func zeroShares(amount: Int64, price: Int64) {
        #expect(code { () throws(Rejection) in try TradingRules.fill(amount: cents(amount), price: cents(price)) } == .amountBelowPrice)
    }

    @Test("a price that is not positive is an unusable quote", arguments: [0, -1, Int64.min] as [Int64])
    func badPrice(price: Int64) {
        #expect(code { () throws(Rejection) in try TradingRules.fill(amount: dollars("100"), price: cents(price)) } == .quoteUnavailable)
    }

    @Test("the largest amounts fill without overflow")
    func largest() throws {
        let one = try TradingRules.fill(amount: cents(Int64.max), price: cents(1))
        #expect(one.shares == Int64.max)
        #expect(one.cost == cents(Int64.max))
        let two = try TradingRules.fill(amount: cents(Int64.max), price: cents(2))
        #expect(two.shares == Int64.max / 2)
        #expect(two.cost == cents(Int64.max - 1))
    }

    @Test("shares * price <= amount < (shares + 1) * price, for seeded random orders")
    func property() throws {
        var generator = SplitMix64(seed: 60_000)
        for _ in 0..<5000 {
            let price = cents(Int64.random(in: 1...5_000_00, using: &generator))
            let amount = cents(Int64.random(in: price.cents...1_000_000_00, using: &generator))
            let fill = try TradingRules.fill(amount: amount, price: price)
            #expect(fill.shares >= 1)
            #expect(fill.cost.cents == fill.shares * price.cents)
            #expect(fill.cost <= amount)
            #expect(amount.cents - fill.cost.cents < price.cents)
        }
    }
}

@Suite("TradingRules: a buy trigger firing")
struct BuyTriggerFiringTests {
    @Test("fires at and below the trigger, not above, and refunds the rest exactly", arguments: [
        ("30.01", nil),
        ("45.00", nil),
        ("30.00", TradingRules.BuyExecution(shares: 3, cost: dollars("90.00"), refund: dollars("10.00"))),
        ("29.99", TradingRules.BuyExecution(shares: 3, cost: dollars("89.97"), refund: dollars("10.03"))),
        ("25.00", TradingRules.BuyExecution(shares: 4, cost: dollars("100.00"), refund: .zero)),
        ("33.33", nil),
        ("0.01", TradingRules.BuyExecution(shares: 10000, cost: dollars("100.00"), refund: .zero)),
        ("0.03", TradingRules.BuyExecution(shares: 3333, cost: dollars("99.99"), refund: dollars("0.01"))),
    ] as [(String, TradingRules.BuyExecution?)])
    func fires(price: String, expected: TradingRules.BuyExecution?) {
        let execution = TradingRules.buyTrigger(reserve: dollars("100.00"), triggerPrice: dollars("30.00"), price: dollars(price))
        #expect(execution == expected)
    }

    @Test("a price that is not positive never fires", arguments: [0, -1, Int64.min] as [Int64])
    func nonPositivePrice(price: Int64) {
        #expect(TradingRules.buyTrigger(reserve: dollars("100"), triggerPrice: dollars("30"), price: cents(price)) == nil)
    }

    @Test("extreme reserves do not overflow")
    func extreme() {
        let all = TradingRules.buyTrigger(reserve: cents(Int64.max), triggerPrice: cents(Int64.max), price: cents(1))
        #expect(all == TradingRules.BuyExecution(shares: Int64.max, cost: cents(Int64.max), refund: .zero))
        let half = TradingRules.buyTrigger(reserve: cents(Int64.max), triggerPrice: cents(Int64.max), price: cents(2))
        #expect(half == TradingRules.BuyExecution(shares: Int64.max / 2, cost: cents(Int64.max - 1), refund: cents(1)))
    }

    @Test("cost + refund == reserve and refund < price, for seeded random triggers")
    func property() throws {
        var generator = SplitMix64(seed: 4620)
        for _ in 0..<5000 {
            let trigger = cents(Int64.random(in: 1...1_000_00, using: &generator))
            let reserve = cents(Int64.random(in: trigger.cents...10_000_000_00, using: &generator))
            // Every such reserve passes SET_BUY_TRIGGER's rule (reserve >= trigger).
            let price = cents(Int64.random(in: 1...2 * trigger.cents, using: &generator))
            let execution = TradingRules.buyTrigger(reserve: reserve, triggerPrice: trigger, price: price)
            if price > trigger {
                #expect(execution == nil)
                continue
            }
            let fired = try #require(execution)
            #expect(fired.shares >= 1)
            #expect(fired.shares == reserve.cents / price.cents)
            #expect(fired.cost.cents == fired.shares * price.cents)
            #expect(try fired.cost.adding(fired.refund) == reserve)
            #expect(fired.refund >= .zero)
            #expect(fired.refund < price)
        }
    }
}

@Suite("TradingRules: a sell trigger firing")
struct SellTriggerFiringTests {
    @Test("fires at and above the trigger, not below; returns the rest of the reserved shares", arguments: [
        ("29.99", nil),
        ("0.01", nil),
        ("30.00", TradingRules.SellExecution(sharesSold: 3, proceeds: dollars("90.00"), sharesReturned: 0)),
        ("33.33", TradingRules.SellExecution(sharesSold: 3, proceeds: dollars("99.99"), sharesReturned: 0)),
        ("33.34", TradingRules.SellExecution(sharesSold: 2, proceeds: dollars("66.68"), sharesReturned: 1)),
        ("50.00", TradingRules.SellExecution(sharesSold: 2, proceeds: dollars("100.00"), sharesReturned: 1)),
        ("50.01", TradingRules.SellExecution(sharesSold: 1, proceeds: dollars("50.01"), sharesReturned: 2)),
        ("100.00", TradingRules.SellExecution(sharesSold: 1, proceeds: dollars("100.00"), sharesReturned: 2)),
        // Above the amount itself, floor(amount / price) is 0: the trigger ends selling nothing,
        // as SPEC.md's ruling reads literally, and every reserved share goes back.
        ("100.01", TradingRules.SellExecution(sharesSold: 0, proceeds: .zero, sharesReturned: 3)),
    ] as [(String, TradingRules.SellExecution?)])
    func fires(price: String, expected: TradingRules.SellExecution?) throws {
        let amount = dollars("100.00")
        let trigger = dollars("30.00")
        let reserved = amount.wholeShares(at: trigger)
        #expect(reserved == 3)
        let execution = try TradingRules.sellTrigger(amount: amount, triggerPrice: trigger, reservedShares: reserved, price: dollars(price))
        #expect(execution == expected)
    }

    @Test("a price that is not positive never fires", arguments: [0, -1, Int64.min] as [Int64])
    func nonPositivePrice(price: Int64) throws {
        #expect(try TradingRules.sellTrigger(amount: dollars("100"), triggerPrice: dollars("30"), reservedShares: 3, price: cents(price)) == nil)
    }

    @Test("never sells more than the reserved shares")
    func cappedByReserve() throws {
        let execution = try TradingRules.sellTrigger(amount: dollars("100"), triggerPrice: dollars("30"), reservedShares: 2, price: dollars("30"))
        #expect(execution == TradingRules.SellExecution(sharesSold: 2, proceeds: dollars("60"), sharesReturned: 0))
        let extra = try TradingRules.sellTrigger(amount: dollars("100"), triggerPrice: dollars("30"), reservedShares: 5, price: dollars("30"))
        #expect(extra == TradingRules.SellExecution(sharesSold: 3, proceeds: dollars("90"), sharesReturned: 2))
    }

    @Test("proceeds beyond Int64 are arithmetic_overflow, not a trap")
    func overflow() {
        // Only a corrupt (negative) reserve can get here: sold = min(floor(amount / price), reserved).
        do {
            _ = try TradingRules.sellTrigger(amount: dollars("100"), triggerPrice: cents(2), reservedShares: Int64.min, price: cents(2))
            Issue.record("should be rejected")
        } catch {
            #expect(error.code == .arithmeticOverflow)
            #expect(error.message == "the sale's proceeds would overflow; nothing was changed")
        }
    }

    @Test("sold + returned == reserved and proceeds == sold * price <= amount, for seeded random triggers")
    func property() throws {
        var generator = SplitMix64(seed: 4680)
        for _ in 0..<5000 {
            let trigger = cents(Int64.random(in: 1...1_000_00, using: &generator))
            let amount = cents(Int64.random(in: trigger.cents...10_000_000_00, using: &generator))
            let reserved = amount.wholeShares(at: trigger)
            #expect(reserved == amount.cents / trigger.cents)
            let price = cents(Int64.random(in: 1...3 * trigger.cents, using: &generator))
            let execution = try TradingRules.sellTrigger(amount: amount, triggerPrice: trigger, reservedShares: reserved, price: price)
            if price < trigger {
                #expect(execution == nil)
                continue
            }
            let fired = try #require(execution)
            #expect(fired.sharesSold == amount.cents / price.cents)
            #expect(fired.sharesSold + fired.sharesReturned == reserved)
            #expect(fired.sharesReturned >= 0)
            #expect(fired.proceeds.cents == fired.sharesSold * price.cents)
            #expect(fired.proceeds <= amount)
        }
    }
}

@Suite("TradingRules: the fill of a trigger")
struct TriggerFillTests {
    @Test("what a firing moves, as the rule table says", arguments: TradingRuleCases.firings)
    func table(firing: TradingRuleCases.Firing) throws {
        let fill = try TradingRules.fill(of: firing.trigger, at: cents(firing.price))
        #expect(fill.map { TradingRuleCases.Movement(funds: $0.funds.cents, cash: $0.cash, reservedCash: $0.reservedCash, shares: $0.shares, reservedShares: $0.reservedShares) } == firing.expected)
    }

    @Test("a trigger whose price is not set never fires")
    func noPrice() throws {
        let waiting = TriggerRow(side: .buy, symbol: "ABC", amount: 100_00, triggerPrice: nil, reservedShares: 0, transactionNum: 1)
        #expect(try TradingRules.fill(of: waiting, at: dollars("1")) == nil)
    }

    @Test("the price test of each side", arguments: [
        (Side.buy, 30_00, 30_00, true), (.buy, 30_00, 29_99, true), (.buy, 30_00, 30_01, false), (.buy, 30_00, 0, false),
        (.sell, 30_00, 30_00, true), (.sell, 30_00, 30_01, true), (.sell, 30_00, 29_99, false), (.sell, 30_00, -1, false),
    ] as [(Side, Int64, Int64, Bool)])
    func holds(side: Side, trigger: Int64, price: Int64, holds: Bool) {
        #expect(TradingRules.triggerHolds(side: side, triggerPrice: cents(trigger), price: cents(price)) == holds)
    }
}

@Suite("TradingRules never trap")
struct NeverTrapTests {
    /// Every rule over every combination of extreme values: each call returns or throws a
    /// Rejection; a trap would kill the test process.
    @Test("every rule, every combination of extreme values")
    func sweep() throws {
        var outcomes = 0
        for a in extremes {
            for b in extremes {
                outcomes += code { () throws(Rejection) in try TradingRules.fill(amount: cents(a), price: cents(b)) } == nil ? 1 : 0
                for c in extremes {
                    _ = TradingRules.buyTrigger(reserve: cents(a), triggerPrice: cents(b), price: cents(c))
                    for side in Side.allCases {
                        _ = code { () throws(Rejection) in
                            try TradingRules.fill(of: TriggerRow(side: side, symbol: "A", amount: a, triggerPrice: b, reservedShares: c, transactionNum: 1), at: cents(c))
                        }
                    }
                    for d in extremes {
                        _ = code { () throws(Rejection) in
                            try TradingRules.sellTrigger(amount: cents(a), triggerPrice: cents(b), reservedShares: c, price: cents(d))
                        }
                    }
                }
            }
        }
        #expect(outcomes > 0)
    }
}
