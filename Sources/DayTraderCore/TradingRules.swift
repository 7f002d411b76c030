/// The business rules of SPEC.md as pure functions: no I/O, no clock, no database.
///
/// The arithmetic lives here: shares, costs, fills, limits, overflow, lifetimes. The transaction
/// server computes what a command would do before it calls the database; the database checks only
/// the account's state against it (cash >= cost, shares held, an order or trigger exists) and
/// applies it. The one piece of arithmetic the database does itself, the whole shares a sell
/// trigger holds (its amount is state), is pinned to ``Money/wholeShares(at:)`` by the rule
/// table that tests both sides (Tests/TradingRuleCases).
public enum TradingRules {
    /// How long a BUY or SELL waits for its COMMIT or CANCEL, and how long a quote may be used:
    /// 60 s. The one place the lifetime is written.
    public static let lifetimeMillis: Int64 = 60_000

    /// When something that starts at `start` and lives `lifetime` ms stops being usable.
    public static func expiry(from start: Timestamp, lifetime: Int64 = lifetimeMillis) -> Timestamp {
        start.adding(milliseconds: lifetime)
    }

    /// A pending order or a quote expiring at `expiresAt` may be used at `now` only before that
    /// moment: live at 59,999 ms, gone at 60,000 ms. The database applies the same test to its
    /// stored expiries (`expires_at_ms <= now` is expired).
    public static func isLive(until expiresAt: Timestamp, at now: Timestamp) -> Bool {
        now < expiresAt
    }

    /// Whole shares and their cost for an order of `amount` dollars at `price`.
    public struct Fill: Hashable, Sendable {
        public let shares: Int64
        public let price: Money
        public let cost: Money
    }

    /// `floor(amount / price)` shares and their exact cost; zero shares is a rejection. BUY and
    /// SELL: the database then checks that the cash (BUY) or the shares (SELL) are there.
    public static func fill(amount: Money, price: Money) throws(Rejection) -> Fill {
        guard price > .zero else { throw Rejection(.quoteUnavailable, "the quote has no positive price") }
        let shares = amount.wholeShares(at: price)
        guard shares >= 1 else {
            throw Rejection(.amountBelowPrice, "\(amount) is less than one share at \(price)")
        }
        do {
            return Fill(shares: shares, price: price, cost: try price.times(shares))
        } catch {
            throw .overflow("the order's cost")
        }
    }

    /// Whether a trigger set at `triggerPrice` fires at `price`: a buy trigger at or below its
    /// price, a sell trigger at or above it.
    public static func triggerHolds(side: Side, triggerPrice: Money, price: Money) -> Bool {
        guard price > .zero else { return false }
        return switch side {
        case .buy: price <= triggerPrice
        case .sell: price >= triggerPrice
        }
    }

    /// What a buy trigger does when a live quote is at or below its trigger price.
    public struct BuyExecution: Hashable, Sendable {
        public let shares: Int64
        public let cost: Money
        /// The part of the reserve that goes back to the available cash.
        public let refund: Money
    }

    /// A buy trigger buys `floor(reserve / price)` shares and returns the rest of the reserve.
    /// `nil` while the trigger does not hold.
    public static func buyTrigger(reserve: Money, triggerPrice: Money, price: Money) -> BuyExecution? {
        guard triggerHolds(side: .buy, triggerPrice: triggerPrice, price: price) else { return nil }
        let shares = reserve.wholeShares(at: price)
        // Cannot overflow: shares * price <= reserve.
        let cost = Money(cents: shares * price.cents)
        return BuyExecution(shares: shares, cost: cost, refund: Money(cents: reserve.cents - cost.cents))
    }

    /// What a sell trigger does when a live quote is at or above its trigger price.
    public struct SellExecution: Hashable, Sendable {
        public let sharesSold: Int64
        public let proceeds: Money
        /// Reserved shares that go back to the holding.
        public let sharesReturned: Int64
    }

    /// A sell trigger sells `floor(amount / price)` of its reserved shares and returns the rest.
    /// `nil` while the trigger does not hold.
    public static func sellTrigger(amount: Money, triggerPrice: Money, reservedShares: Int64, price: Money) throws(Rejection) -> SellExecution? {
        guard triggerHolds(side: .sell, triggerPrice: triggerPrice, price: price) else { return nil }
        // price >= trigger, so floor(amount / price) <= floor(amount / trigger) = reservedShares.
        let sold = min(amount.wholeShares(at: price), reservedShares)
        let proceeds: Money
        do { proceeds = try price.times(sold) } catch { throw .overflow("the sale's proceeds") }
        return SellExecution(sharesSold: sold, proceeds: proceeds, sharesReturned: reservedShares - sold)
    }

    /// What firing a trigger at `price` moves: the ledger row's deltas (`buy_trigger_fill`,
    /// `sell_trigger_fill`) and the money that changed hands. `nil` while it does not hold.
    public struct TriggerFill: Hashable, Sendable {
        /// What was bought or sold for: the firing's systemEvent funds.
        public let funds: Money
        public let cash: Int64
        public let reservedCash: Int64
        public let shares: Int64
        public let reservedShares: Int64
    }

    public static func fill(of trigger: TriggerRow, at price: Money) throws(Rejection) -> TriggerFill? {
        // The database holds no other kind of trigger (its CHECKs); a row that broke them never fires.
        guard let triggerPrice = trigger.triggerPrice.map(Money.init(cents:)), trigger.amount > 0, trigger.reservedShares >= 0 else { return nil }
        let amount = Money(cents: trigger.amount)
        switch trigger.side {
        case .buy:
            guard let buy = buyTrigger(reserve: amount, triggerPrice: triggerPrice, price: price) else { return nil }
            return TriggerFill(funds: buy.cost, cash: buy.refund.cents, reservedCash: -amount.cents, shares: buy.shares, reservedShares: 0)
        case .sell:
            guard let sell = try sellTrigger(amount: amount, triggerPrice: triggerPrice, reservedShares: trigger.reservedShares, price: price) else { return nil }
            return TriggerFill(funds: sell.proceeds, cash: sell.proceeds.cents, reservedCash: 0, shares: sell.sharesReturned, reservedShares: -trigger.reservedShares)
        }
    }
}

/// What a command asks the database to do, as the rules compute it before the call: the amounts
/// the database applies, while it checks only the account's state against them.
public struct CommandPlan: Hashable, Sendable {
    /// Cents: ADD and SET_*_AMOUNT the amount, BUY and SELL the cost of the whole shares.
    public var amount: Int64 = 0
    /// BUY and SELL: the whole shares.
    public var shares: Int64 = 0
    /// Cents: BUY and SELL the price per share, SET_*_TRIGGER the trigger price.
    public var price: Int64 = 0
    /// BUY and SELL: when the pending order expires (a lifetime after `now`).
    public var expiresAt: Int64 = 0

    /// Nothing to apply: a command refused before the call, or one with no amounts.
    public static let none = CommandPlan()

    private init() {}

    /// Throws a refusal that needs no state: zero shares, an overflowing cost, no quote.
    public init(_ command: Command, quote: QuoteInfo?, now: Timestamp) throws(Rejection) {
        switch command {
        case .add(_, let amount), .setBuyAmount(_, _, let amount), .setSellAmount(_, _, let amount):
            self.amount = amount.cents
        case .buy(_, _, let amount), .sell(_, _, let amount):
            guard let quote else { throw Rejection(.quoteUnavailable, "no quote for \(command.name.rawValue)") }
            let fill = try TradingRules.fill(amount: amount, price: quote.price)
            self.amount = fill.cost.cents
            shares = fill.shares
            price = fill.price.cents
            expiresAt = TradingRules.expiry(from: now).unixMillis
        case .setBuyTrigger(_, _, let price), .setSellTrigger(_, _, let price):
            self.price = price.cents
        default:
            break
        }
    }
}

/// The refusals whose reason is the account's state, which the database finds; their messages
/// are written here, once, from the numbers it reports.
extension Rejection {
    public static func unknownAccount(_ user: String) -> Rejection {
        Rejection(.unknownAccount, "user \(user) has no account; ADD funds first")
    }

    static func cashShort(buying fill: TradingRules.Fill, available: Money) -> Rejection {
        Rejection(.insufficientFunds, "buying \(fill.shares) share(s) at \(fill.price) costs \(fill.cost); available cash is \(available)")
    }

    static func cashShort(reserving amount: Money, available: Money) -> Rejection {
        Rejection(.insufficientFunds, "reserving \(amount) needs that much available cash; available is \(available)")
    }

    static func sharesShort(selling amount: Money, fill: TradingRules.Fill, available: Int64) -> Rejection {
        Rejection(.insufficientShares, "selling \(amount) at \(fill.price) needs \(fill.shares) share(s); \(available) available")
    }

    static func noShares(of symbol: String) -> Rejection {
        Rejection(.insufficientShares, "SET_SELL_AMOUNT for \(symbol) needs shares of \(symbol); you hold none")
    }

    static func sharesShort(trigger shares: Int64, available: Int64) -> Rejection {
        Rejection(.insufficientShares, "the trigger needs \(shares) share(s) reserved; \(available) available")
    }

    static func notOneShare(amount: Money, triggerPrice: Money) -> Rejection {
        Rejection(.amountBelowPrice, "\(amount) is not worth one share at the trigger price \(triggerPrice)")
    }

    static func reserveBelow(triggerPrice: Money, reserve: Money) -> Rejection {
        Rejection(.triggerAboveReserve, "a reserve of \(reserve) does not buy one share at the trigger price \(triggerPrice)")
    }

    static func noPendingOrder(_ side: Side, to action: String) -> Rejection {
        side == .buy
            ? Rejection(.noPendingBuy, "there is no BUY from the last 60 seconds to \(action)")
            : Rejection(.noPendingSell, "there is no SELL from the last 60 seconds to \(action)")
    }

    static func noAmount(_ side: Side, symbol: String) -> Rejection {
        side == .buy
            ? Rejection(.noBuyAmount, "SET_BUY_TRIGGER for \(symbol) needs a SET_BUY_AMOUNT first")
            : Rejection(.noSellAmount, "SET_SELL_TRIGGER for \(symbol) needs a SET_SELL_AMOUNT first")
    }

    static func noTrigger(_ side: Side, symbol: String) -> Rejection {
        Rejection(.noTrigger, "there is no \(side.rawValue) amount or trigger for \(symbol) to cancel")
    }

    public static let keyReused = Rejection(.idempotencyKeyReused, "this idempotency key was already used for a different request")
}
