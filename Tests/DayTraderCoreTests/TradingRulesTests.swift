import Testing
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
        #expect(TradingRules.orderLifetimeMillis == 60_000)
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
        #expect(TradingRules.isLive(placedAt: placed, now: placed.adding(milliseconds: elapsed)) == live)
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

@Suite("TradingRules: BUY and SELL")
struct BuySellTests {
    @Test("BUY needs cash for the cost of the whole shares, not for the amount")
    func buyBoundary() throws {
        let fill = try TradingRules.buy(amount: dollars("100.00"), price: dollars("30.00"), availableCash: dollars("90.00"))
        #expect(fill.shares == 3)
        #expect(fill.cost == dollars("90.00"))
        _ = try TradingRules.buy(amount: dollars("100.00"), price: dollars("30.00"), availableCash: dollars("100.00"))
    }

    @Test("BUY with one cent too little cash is insufficient_funds")
    func buyInsufficient() {
        do {
            _ = try TradingRules.buy(amount: dollars("100.00"), price: dollars("30.00"), availableCash: dollars("89.99"))
            Issue.record("should be rejected")
        } catch {
            #expect(error.code == .insufficientFunds)
            #expect(error.message == "buying 3 share(s) at 30.00 costs 90.00; available cash is 89.99")
        }
        #expect(code { () throws(Rejection) in try TradingRules.buy(amount: dollars("1.00"), price: dollars("1.00"), availableCash: .zero) } == .insufficientFunds)
    }

    @Test("BUY of less than one share is amount_below_price, whatever the cash")
    func buyBelowPrice() {
        #expect(code { () throws(Rejection) in try TradingRules.buy(amount: dollars("29.99"), price: dollars("30.00"), availableCash: dollars("1000")) } == .amountBelowPrice)
        #expect(code { () throws(Rejection) in try TradingRules.buy(amount: dollars("29.99"), price: dollars("30.00"), availableCash: .zero) } == .amountBelowPrice)
        #expect(code { () throws(Rejection) in try TradingRules.buy(amount: dollars("29.99"), price: .zero, availableCash: .zero) } == .quoteUnavailable)
    }

    @Test("SELL needs the whole shares the amount is worth", arguments: [
        ("100.00", "30.00", 3, nil),
        ("100.00", "30.00", 4, nil),
        ("100.00", "30.00", 2, Rejection.Code.insufficientShares),
        ("100.00", "30.00", 0, .insufficientShares),
        ("30.00", "30.00", 1, nil),
        ("29.99", "30.00", 0, .amountBelowPrice),
        ("29.99", "30.00", 10, .amountBelowPrice),
    ] as [(String, String, Int64, Rejection.Code?)])
    func sell(amount: String, price: String, available: Int64, expected: Rejection.Code?) {
        #expect(code { () throws(Rejection) in
            try TradingRules.sell(amount: dollars(amount), price: dollars(price), availableShares: available)
        } == expected)
    }

    @Test("SELL reserves floor(amount / price) shares and names them in a rejection")
    func sellFill() throws {
        let fill = try TradingRules.sell(amount: dollars("100.00"), price: dollars("30.00"), availableShares: 3)
        #expect(fill == TradingRules.Fill(shares: 3, price: dollars("30.00"), cost: dollars("90.00")))
        do {
            _ = try TradingRules.sell(amount: dollars("100.00"), price: dollars("30.00"), availableShares: 2)
        } catch {
            #expect(error.message == "selling 100.00 at 30.00 needs 3 share(s); 2 available")
        }
    }
}

@Suite("TradingRules: SET_BUY_AMOUNT and SET_BUY_TRIGGER")
struct BuyTriggerSetupTests {
    @Test("SET_BUY_AMOUNT: the cash, plus the reserve it replaces, must cover the amount", arguments: [
        ("100.00", "100.00", "0", nil),
        ("100.01", "100.00", "0", Rejection.Code.insufficientFunds),
        ("100.00", "50.00", "50.00", nil),  // replacing: the old reserve comes back first
        ("100.01", "50.00", "50.00", .insufficientFunds),
        ("50.00", "0", "50.00", nil),  // the same reserve again, with no free cash
        ("10.00", "0", "0", .insufficientFunds),
        ("0.01", "0", "0.01", nil),
    ] as [(String, String, String, Rejection.Code?)])
    func setBuyAmount(amount: String, cash: String, existing: String, expected: Rejection.Code?) {
        #expect(code { () throws(Rejection) in
            try TradingRules.setBuyAmount(amount: dollars(amount), availableCash: dollars(cash), existingReserve: dollars(existing))
        } == expected)
    }

    @Test("SET_BUY_AMOUNT: cash plus reserve beyond Int64 is arithmetic_overflow, not a trap")
    func setBuyAmountOverflow() {
        do {
            try TradingRules.setBuyAmount(amount: cents(1), availableCash: cents(Int64.max), existingReserve: cents(1))
            Issue.record("should be rejected")
        } catch {
            #expect(error.code == .arithmeticOverflow)
            #expect(error.message == "the available cash would overflow; nothing was changed")
        }
        #expect(code { () throws(Rejection) in
            try TradingRules.setBuyAmount(amount: cents(Int64.max), availableCash: cents(Int64.max), existingReserve: .zero)
        } == nil)
    }

    @Test("SET_BUY_TRIGGER: the reserve must buy at least one share at the trigger", arguments: [
        ("100.00", "100.00", nil),
        ("100.00", "0.01", nil),
        ("100.00", "30.00", nil),
        ("100.00", "100.01", Rejection.Code.triggerAboveReserve),
        ("0.01", "0.02", .triggerAboveReserve),
        ("0", "1.00", .triggerAboveReserve),
    ] as [(String, String, Rejection.Code?)])
    func setBuyTrigger(reserve: String, trigger: String, expected: Rejection.Code?) {
        #expect(code { () throws(Rejection) in
            try TradingRules.setBuyTrigger(reserve: dollars(reserve), triggerPrice: dollars(trigger))
        } == expected)
    }

    @Test("SET_BUY_TRIGGER: a trigger price that is not positive is rejected, not a trap", arguments: [0, -1, Int64.min] as [Int64])
    func setBuyTriggerNonPositive(trigger: Int64) {
        #expect(code { () throws(Rejection) in
            try TradingRules.setBuyTrigger(reserve: dollars("100"), triggerPrice: cents(trigger))
        } == .invalidAmount)
    }
}

@Suite("TradingRules: SET_SELL_TRIGGER")
struct SellTriggerSetupTests {
    @Test("reserves floor(amount / trigger) shares, at least one, all held", arguments: [
        ("100.00", "30.00", 3, 3 as Int64?, nil),
        ("100.00", "30.00", 10, 3, nil),
        ("100.00", "30.00", 2, nil, Rejection.Code.insufficientShares),
        ("100.00", "30.00", 0, nil, .insufficientShares),
        ("30.00", "30.00", 1, 1, nil),
        ("29.99", "30.00", 10, nil, .amountBelowPrice),
        ("29.99", "30.00", 0, nil, .amountBelowPrice),
        ("92233720368547758.07", "0.01", Int64.max, Int64.max, nil),
    ] as [(String, String, Int64, Int64?, Rejection.Code?)])
    func shares(amount: String, trigger: String, available: Int64, expected: Int64?, rejection: Rejection.Code?) {
        do {
            let shares = try TradingRules.sellTriggerShares(amount: dollars(amount), triggerPrice: dollars(trigger), availableShares: available)
            #expect(shares == expected)
            #expect(rejection == nil)
        } catch {
            #expect(error.code == rejection)
            #expect(expected == nil)
        }
    }

    @Test("a trigger price that is not positive is rejected, not a trap", arguments: [0, -1, Int64.min] as [Int64])
    func nonPositive(trigger: Int64) {
        #expect(code { () throws(Rejection) in
            try TradingRules.sellTriggerShares(amount: dollars("100"), triggerPrice: cents(trigger), availableShares: 100)
        } == .invalidAmount)
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
            // The setup rule accepts every such reserve.
            try TradingRules.setBuyTrigger(reserve: reserve, triggerPrice: trigger)
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
        let reserved = try TradingRules.sellTriggerShares(amount: amount, triggerPrice: trigger, availableShares: 10)
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
            let reserved = try TradingRules.sellTriggerShares(amount: amount, triggerPrice: trigger, availableShares: Int64.max)
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

@Suite("TradingRules never trap")
struct NeverTrapTests {
    /// Every rule over every combination of extreme values: each call returns or throws a
    /// Rejection; a trap would kill the test process.
    @Test("every rule, every combination of extreme values")
    func sweep() {
        var outcomes = 0
        for a in extremes {
            for b in extremes {
                outcomes += code { () throws(Rejection) in try TradingRules.fill(amount: cents(a), price: cents(b)) } == nil ? 1 : 0
                outcomes += code { () throws(Rejection) in try TradingRules.setBuyTrigger(reserve: cents(a), triggerPrice: cents(b)) } == nil ? 1 : 0
                for c in extremes {
                    _ = code { () throws(Rejection) in try TradingRules.buy(amount: cents(a), price: cents(b), availableCash: cents(c)) }
                    _ = code { () throws(Rejection) in try TradingRules.sell(amount: cents(a), price: cents(b), availableShares: c) }
                    _ = code { () throws(Rejection) in try TradingRules.setBuyAmount(amount: cents(a), availableCash: cents(b), existingReserve: cents(c)) }
                    _ = code { () throws(Rejection) in try TradingRules.sellTriggerShares(amount: cents(a), triggerPrice: cents(b), availableShares: c) }
                    _ = TradingRules.buyTrigger(reserve: cents(a), triggerPrice: cents(b), price: cents(c))
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

    @Test("a rejection never hides a result: the overflow sweep of SET_BUY_AMOUNT")
    func setBuyAmountSweep() {
        for cash in extremes {
            for reserve in extremes {
                let (sum, overflow) = cash.addingReportingOverflow(reserve)
                let result = code { () throws(Rejection) in
                    try TradingRules.setBuyAmount(amount: cents(1), availableCash: cents(cash), existingReserve: cents(reserve))
                }
                if overflow {
                    #expect(result == .arithmeticOverflow)
                } else {
                    #expect(result == (sum >= 1 ? nil : .insufficientFunds))
                }
            }
        }
    }
}
