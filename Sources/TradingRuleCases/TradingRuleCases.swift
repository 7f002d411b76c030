import DayTraderCore

/// The rules of the commands that depend on an account's state, as one table of cases that the
/// tests run against both homes of each rule, so the two cannot drift apart:
/// - the Swift side (`Tests/DayTraderCoreTests/RuleTableTests`): what `TradingRules` computes
///   before the database call (shares, costs, a refusal the request alone decides), and how a
///   refusal the database reports is worded;
/// - the database side (`Tests/IntegrationTests/RuleTableTests`): what `dt_execute` decides for
///   the account's state and what it leaves behind.
///
/// Only tests use this target; it holds data, no logic. Amounts are in cents.
public enum TradingRuleCases {
    /// An account before the command: its cash, and for the case's stock its available shares,
    /// a buy trigger's reserve, and a sell trigger (its amount and the shares it holds).
    public struct Account: Sendable, Hashable {
        public var cash: Int64 = 0
        public var shares: Int64 = 0
        public var buyReserve: Int64?
        /// A sell trigger's amount (its price not yet set), and the shares it holds.
        public var sellAmount: Int64?
        public var sellReserved: Int64 = 0

        public init(cash: Int64 = 0, shares: Int64 = 0, buyReserve: Int64? = nil, sellAmount: Int64? = nil, sellReserved: Int64 = 0) {
            (self.cash, self.shares, self.buyReserve, self.sellAmount, self.sellReserved) = (cash, shares, buyReserve, sellAmount, sellReserved)
        }
    }

    /// What the command must come to.
    public struct Outcome: Sendable, Hashable {
        /// `nil` when the command succeeds.
        public var code: Rejection.Code?
        /// The number the database reports for a refusal's message (`RecordResult.available`).
        public var available: Int64?
        /// The shares a sell trigger would need (`RecordResult.shares`).
        public var neededShares: Int64?
        /// A trigger's amount the database reports (`RecordResult.amount`).
        public var storedAmount: Int64?
        public var message: String?
        /// After a success: BUY and SELL's whole shares and cost (computed before the call).
        public var shares: Int64?
        public var cost: Int64?
        /// After a success: the account's balances for the case's stock.
        public var cashAfter: Int64?
        public var reservedCashAfter: Int64?
        public var sharesAfter: Int64?
        public var reservedSharesAfter: Int64?
    }

    public struct Case: Sendable, Hashable, CustomStringConvertible {
        public var name: String
        public var command: CommandName
        public var account: Account
        /// The request's amount field as sent (a trigger price for SET_*_TRIGGER).
        public var amount: String
        /// BUY and SELL: the quote's price, in cents.
        public var price: Int64?
        public var expected: Outcome

        public var description: String { "\(command.rawValue): \(name)" }
    }

    /// The stock every case trades.
    public static let symbol = "RUL"

    public static let all: [Case] = buy + sell + setBuyAmount + setBuyTrigger + setSellTrigger

    public static let buy: [Case] = [
        Case(name: "cash for the cost of the whole shares is enough, not the amount", command: .buy, account: .init(cash: 90_00),
             amount: "100.00", price: 30_00, expected: .init(shares: 3, cost: 90_00, cashAfter: 0, reservedCashAfter: 90_00)),
        Case(name: "the rest of the cash stays available", command: .buy, account: .init(cash: 100_00),
             amount: "100.00", price: 30_00, expected: .init(shares: 3, cost: 90_00, cashAfter: 10_00, reservedCashAfter: 90_00)),
        Case(name: "one cent short", command: .buy, account: .init(cash: 89_99), amount: "100.00", price: 30_00,
             expected: .init(code: .insufficientFunds, available: 89_99, message: "buying 3 share(s) at 30.00 costs 90.00; available cash is 89.99")),
        Case(name: "no cash", command: .buy, account: .init(cash: 0), amount: "1.00", price: 1_00,
             expected: .init(code: .insufficientFunds, available: 0, message: "buying 1 share(s) at 1.00 costs 1.00; available cash is 0.00")),
        Case(name: "less than one share, whatever the cash", command: .buy, account: .init(cash: 1000_00), amount: "29.99", price: 30_00,
             expected: .init(code: .amountBelowPrice, message: "29.99 is less than one share at 30.00")),
        Case(name: "less than one share and no cash", command: .buy, account: .init(cash: 0), amount: "29.99", price: 30_00,
             expected: .init(code: .amountBelowPrice, message: "29.99 is less than one share at 30.00")),
    ]

    public static let sell: [Case] = [
        Case(name: "exactly the shares the amount is worth", command: .sell, account: .init(shares: 3), amount: "100.00", price: 30_00,
             expected: .init(shares: 3, cost: 90_00, sharesAfter: 0, reservedSharesAfter: 3)),
        Case(name: "more shares than needed", command: .sell, account: .init(shares: 4), amount: "100.00", price: 30_00,
             expected: .init(shares: 3, cost: 90_00, sharesAfter: 1, reservedSharesAfter: 3)),
        Case(name: "one share short", command: .sell, account: .init(shares: 2), amount: "100.00", price: 30_00,
             expected: .init(code: .insufficientShares, available: 2, message: "selling 100.00 at 30.00 needs 3 share(s); 2 available")),
        Case(name: "no shares", command: .sell, account: .init(shares: 0), amount: "100.00", price: 30_00,
             expected: .init(code: .insufficientShares, available: 0, message: "selling 100.00 at 30.00 needs 3 share(s); 0 available")),
        Case(name: "one share at its price", command: .sell, account: .init(shares: 1), amount: "30.00", price: 30_00,
             expected: .init(shares: 1, cost: 30_00, sharesAfter: 0, reservedSharesAfter: 1)),
        Case(name: "less than one share", command: .sell, account: .init(shares: 10), amount: "29.99", price: 30_00,
             expected: .init(code: .amountBelowPrice, message: "29.99 is less than one share at 30.00")),
    ]

    public static let setBuyAmount: [Case] = [
        Case(name: "all the cash", command: .setBuyAmount, account: .init(cash: 100_00), amount: "100.00",
             expected: .init(cashAfter: 0, reservedCashAfter: 100_00)),
        Case(name: "one cent more than the cash", command: .setBuyAmount, account: .init(cash: 100_00), amount: "100.01",
             expected: .init(code: .insufficientFunds, available: 100_00, message: "reserving 100.01 needs that much available cash; available is 100.00")),
        Case(name: "replacing: the old reserve comes back first", command: .setBuyAmount, account: .init(cash: 50_00, buyReserve: 50_00), amount: "100.00",
             expected: .init(cashAfter: 0, reservedCashAfter: 100_00)),
        Case(name: "replacing, one cent more than cash and reserve", command: .setBuyAmount, account: .init(cash: 50_00, buyReserve: 50_00), amount: "100.01",
             expected: .init(code: .insufficientFunds, available: 100_00, message: "reserving 100.01 needs that much available cash; available is 100.00")),
        Case(name: "the same reserve again with no free cash", command: .setBuyAmount, account: .init(cash: 0, buyReserve: 50_00), amount: "50.00",
             expected: .init(cashAfter: 0, reservedCashAfter: 50_00)),
        Case(name: "no cash", command: .setBuyAmount, account: .init(cash: 0), amount: "10.00",
             expected: .init(code: .insufficientFunds, available: 0, message: "reserving 10.00 needs that much available cash; available is 0.00")),
    ]

    public static let setBuyTrigger: [Case] = [
        Case(name: "a trigger at the reserve buys one share", command: .setBuyTrigger, account: .init(buyReserve: 100_00), amount: "100.00",
             expected: .init(cashAfter: 0, reservedCashAfter: 100_00)),
        Case(name: "a trigger of one cent", command: .setBuyTrigger, account: .init(buyReserve: 100_00), amount: "0.01",
             expected: .init(cashAfter: 0, reservedCashAfter: 100_00)),
        Case(name: "a trigger one cent above the reserve", command: .setBuyTrigger, account: .init(buyReserve: 100_00), amount: "100.01",
             expected: .init(code: .triggerAboveReserve, storedAmount: 100_00, message: "a reserve of 100.00 does not buy one share at the trigger price 100.01")),
        Case(name: "a reserve of one cent", command: .setBuyTrigger, account: .init(buyReserve: 1), amount: "0.02",
             expected: .init(code: .triggerAboveReserve, storedAmount: 1, message: "a reserve of 0.01 does not buy one share at the trigger price 0.02")),
        Case(name: "no buy amount", command: .setBuyTrigger, account: .init(cash: 100_00), amount: "10.00",
             expected: .init(code: .noBuyAmount, message: "SET_BUY_TRIGGER for RUL needs a SET_BUY_AMOUNT first")),
    ]

    public static let setSellTrigger: [Case] = [
        Case(name: "floor(amount / trigger) shares, all held", command: .setSellTrigger, account: .init(shares: 3, sellAmount: 100_00, sellReserved: 0), amount: "30.00",
             expected: .init(sharesAfter: 0, reservedSharesAfter: 3)),
        Case(name: "more shares than needed", command: .setSellTrigger, account: .init(shares: 10, sellAmount: 100_00, sellReserved: 0), amount: "30.00",
             expected: .init(sharesAfter: 7, reservedSharesAfter: 3)),
        Case(name: "shares the trigger already holds count", command: .setSellTrigger, account: .init(shares: 1, sellAmount: 100_00, sellReserved: 2), amount: "30.00",
             expected: .init(sharesAfter: 0, reservedSharesAfter: 3)),
        Case(name: "one share short", command: .setSellTrigger, account: .init(shares: 2, sellAmount: 100_00, sellReserved: 0), amount: "30.00",
             expected: .init(code: .insufficientShares, available: 2, neededShares: 3, message: "the trigger needs 3 share(s) reserved; 2 available")),
        Case(name: "one share at the trigger", command: .setSellTrigger, account: .init(shares: 1, sellAmount: 30_00, sellReserved: 0), amount: "30.00",
             expected: .init(sharesAfter: 0, reservedSharesAfter: 1)),
        Case(name: "not worth one share", command: .setSellTrigger, account: .init(shares: 10, sellAmount: 29_99, sellReserved: 0), amount: "30.00",
             expected: .init(code: .amountBelowPrice, storedAmount: 29_99, message: "29.99 is not worth one share at the trigger price 30.00")),
        Case(name: "no sell amount", command: .setSellTrigger, account: .init(shares: 10), amount: "30.00",
             expected: .init(code: .noSellAmount, message: "SET_SELL_TRIGGER for RUL needs a SET_SELL_AMOUNT first")),
    ]

    /// A trigger firing at a price: what it moves, or `nil` when it does not hold.
    public struct Firing: Sendable, Hashable, CustomStringConvertible {
        public var name: String
        public var trigger: TriggerRow
        public var price: Int64
        /// What the firing moves; `nil` when it does not hold.
        public var expected: Movement?

        public var description: String { "\(trigger.side.rawValue) trigger: \(name)" }
    }

    /// A firing's money (its systemEvent's funds) and the deltas of its ledger row.
    public struct Movement: Sendable, Hashable {
        public var funds: Int64
        public var cash: Int64
        public var reservedCash: Int64
        public var shares: Int64
        public var reservedShares: Int64

        public init(funds: Int64, cash: Int64, reservedCash: Int64, shares: Int64, reservedShares: Int64) {
            (self.funds, self.cash, self.reservedCash, self.shares, self.reservedShares) = (funds, cash, reservedCash, shares, reservedShares)
        }
    }

    public static let firings: [Firing] = [
        Firing(name: "a cent above the trigger: no", trigger: buyTrigger, price: 30_01, expected: nil),
        Firing(name: "at the trigger: 3 shares, 10.00 back", trigger: buyTrigger, price: 30_00,
               expected: .init(funds: 90_00, cash: 10_00, reservedCash: -100_00, shares: 3, reservedShares: 0)),
        Firing(name: "below the trigger: 4 shares, nothing back", trigger: buyTrigger, price: 25_00,
               expected: .init(funds: 100_00, cash: 0, reservedCash: -100_00, shares: 4, reservedShares: 0)),
        Firing(name: "a cent below the trigger: no", trigger: sellTrigger, price: 29_99, expected: nil),
        Firing(name: "at the trigger: sells all 3", trigger: sellTrigger, price: 30_00,
               expected: .init(funds: 90_00, cash: 90_00, reservedCash: 0, shares: 0, reservedShares: -3)),
        Firing(name: "above the trigger: sells 2, returns 1", trigger: sellTrigger, price: 50_00,
               expected: .init(funds: 100_00, cash: 100_00, reservedCash: 0, shares: 1, reservedShares: -3)),
    ]

    static let buyTrigger = TriggerRow(side: .buy, symbol: symbol, amount: 100_00, triggerPrice: 30_00, reservedShares: 0, transactionNum: 7)
    static let sellTrigger = TriggerRow(side: .sell, symbol: symbol, amount: 100_00, triggerPrice: 30_00, reservedShares: 3, transactionNum: 8)
}
