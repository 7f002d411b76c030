/// The business rules of SPEC.md as pure functions: no I/O, no clock, no database.
///
/// The store locks and loads the rows a command touches, asks these functions what should
/// happen, and writes the answer back in the same Postgres transaction.
public enum TradingRules {
    /// How long a BUY or SELL waits for its COMMIT or CANCEL, and how long a quote may be used.
    public static let orderLifetimeMillis: Int64 = 60_000

    /// A pending BUY or SELL placed at `placedAt` can be committed at `now` only before
    /// exactly 60 s have passed.
    public static func isLive(placedAt: Timestamp, now: Timestamp) -> Bool {
        now < placedAt.adding(milliseconds: orderLifetimeMillis)
    }

    /// Whole shares and their cost for an order of `amount` dollars at `price`.
    public struct Fill: Hashable, Sendable {
        public let shares: Int64
        public let price: Money
        public let cost: Money
    }

    /// `floor(amount / price)` shares and their exact cost; zero shares is a rejection.
    public static func fill(amount: Money, price: Money) throws(Rejection) -> Fill {
        guard price > .zero else { throw Rejection(.quoteUnavailable, "the quote has no positive price") }
        let shares = amount.wholeShares(at: price)
        guard shares >= 1 else {
            throw Rejection(.amountBelowPrice, "\(amount) does not buy one share at \(price)")
        }
        do {
            return Fill(shares: shares, price: price, cost: try price.times(shares))
        } catch {
            throw .overflow("the order's cost")
        }
    }

    /// BUY: reserves the cost of the whole shares `amount` buys, out of the available cash.
    public static func buy(amount: Money, price: Money, availableCash: Money) throws(Rejection) -> Fill {
        let fill = try fill(amount: amount, price: price)
        guard fill.cost <= availableCash else {
            throw Rejection(.insufficientFunds, "buying \(fill.shares) share(s) at \(price) costs \(fill.cost); available cash is \(availableCash)")
        }
        return fill
    }

    /// SELL: reserves the whole shares `amount` is worth, out of the shares not already reserved.
    public static func sell(amount: Money, price: Money, availableShares: Int64) throws(Rejection) -> Fill {
        let fill = try fill(amount: amount, price: price)
        guard fill.shares <= availableShares else {
            throw Rejection(.insufficientShares, "selling \(amount) at \(price) needs \(fill.shares) share(s); \(availableShares) available")
        }
        return fill
    }

    /// SET_BUY_AMOUNT: the reserve for a stock; a reserve already held for it is returned first.
    public static func setBuyAmount(amount: Money, availableCash: Money, existingReserve: Money) throws(Rejection) {
        let spendable: Money
        do { spendable = try availableCash.adding(existingReserve) } catch { throw .overflow("the available cash") }
        guard amount <= spendable else {
            throw Rejection(.insufficientFunds, "reserving \(amount) needs that much available cash; available is \(spendable)")
        }
    }

    /// SET_BUY_TRIGGER: the reserve must buy at least one share at the trigger price.
    public static func setBuyTrigger(reserve: Money, triggerPrice: Money) throws(Rejection) {
        guard triggerPrice > .zero else { throw Rejection(.invalidAmount, "the trigger price must be greater than zero") }
        guard reserve.wholeShares(at: triggerPrice) >= 1 else {
            throw Rejection(.triggerAboveReserve, "a reserve of \(reserve) does not buy one share at the trigger price \(triggerPrice)")
        }
    }

    /// SET_SELL_TRIGGER: reserves `floor(amount / trigger)` shares, at least one, all held.
    public static func sellTriggerShares(amount: Money, triggerPrice: Money, availableShares: Int64) throws(Rejection) -> Int64 {
        guard triggerPrice > .zero else { throw Rejection(.invalidAmount, "the trigger price must be greater than zero") }
        let shares = amount.wholeShares(at: triggerPrice)
        guard shares >= 1 else {
            throw Rejection(.amountBelowPrice, "\(amount) is not worth one share at the trigger price \(triggerPrice)")
        }
        guard shares <= availableShares else {
            throw Rejection(.insufficientShares, "the trigger needs \(shares) share(s) reserved; \(availableShares) available")
        }
        return shares
    }

    /// What a buy trigger does when a fresh quote is at or below its trigger price.
    public struct BuyExecution: Hashable, Sendable {
        public let shares: Int64
        public let cost: Money
        /// The part of the reserve that goes back to the available cash.
        public let refund: Money
    }

    /// A buy trigger fires when `price <= trigger`: it buys `floor(reserve / price)` shares
    /// and returns the rest of the reserve. `nil` while the trigger does not hold.
    public static func buyTrigger(reserve: Money, triggerPrice: Money, price: Money) -> BuyExecution? {
        guard price > .zero, price <= triggerPrice else { return nil }
        let shares = reserve.wholeShares(at: price)
        // Cannot overflow: shares * price <= reserve.
        let cost = Money(cents: shares * price.cents)
        return BuyExecution(shares: shares, cost: cost, refund: Money(cents: reserve.cents - cost.cents))
    }

    /// What a sell trigger does when a fresh quote is at or above its trigger price.
    public struct SellExecution: Hashable, Sendable {
        public let sharesSold: Int64
        public let proceeds: Money
        /// Reserved shares that go back to the holding.
        public let sharesReturned: Int64
    }

    /// A sell trigger fires when `price >= trigger`: it sells `floor(amount / price)` of the
    /// reserved shares and returns the rest. `nil` while the trigger does not hold.
    public static func sellTrigger(amount: Money, triggerPrice: Money, reservedShares: Int64, price: Money) throws(Rejection) -> SellExecution? {
        guard price > .zero, price >= triggerPrice else { return nil }
        // price >= trigger, so floor(amount / price) <= floor(amount / trigger) = reservedShares.
        let sold = min(amount.wholeShares(at: price), reservedShares)
        let proceeds: Money
        do { proceeds = try price.times(sold) } catch { throw .overflow("the sale's proceeds") }
        return SellExecution(sharesSold: sold, proceeds: proceeds, sharesReturned: reservedShares - sold)
    }
}
