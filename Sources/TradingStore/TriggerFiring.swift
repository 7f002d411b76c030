import DayTraderCore
import PostgresNIO

/// What the trigger engine asks of the store: which stocks to watch, the active triggers on them,
/// and firing one trigger in a transaction of its own.
extension TradingStore {
    /// A stock with at least one active trigger, and one of those triggers' owner: the engine
    /// asks the quote server on that user's behalf and logs the hit under that trigger's
    /// transactionNum.
    public struct WatchedStock: Sendable, Hashable {
        public var symbol: StockSymbol
        public var user: UserID
        public var transactionNum: Int64
    }

    /// Every stock that has an active trigger (trigger price set).
    public func watchedStocks() async throws -> [WatchedStock] {
        let rows = try await client.query(
            """
            SELECT DISTINCT ON (symbol) symbol, user_id, transaction_num FROM triggers
            WHERE trigger_price IS NOT NULL ORDER BY symbol, transaction_num
            """,
            logger: logger
        )
        var stocks: [WatchedStock] = []
        for try await (symbol, user, transactionNum) in rows.decode((String, String, Int64).self) {
            stocks.append(WatchedStock(symbol: try StockSymbol(validating: symbol), user: try UserID(validating: user), transactionNum: transactionNum))
        }
        return stocks
    }

    /// A trigger whose price is set, and its owner.
    public struct ActiveTrigger: Sendable, Hashable {
        public var user: UserID
        public var trigger: TriggerRow

        public init(user: UserID, trigger: TriggerRow) {
            self.user = user
            self.trigger = trigger
        }
    }

    /// The active triggers on these stocks, read without locks: whether one holds at a price is
    /// `TradingRules`' question, and ``fire(_:fill:head:)`` checks under the account's lock that
    /// the trigger is still the one read here.
    public func activeTriggers(on symbols: [StockSymbol]) async throws -> [ActiveTrigger] {
        guard !symbols.isEmpty else { return [] }
        let rows = try await client.query(
            """
            SELECT user_id, side, symbol, amount, trigger_price, reserved_shares, transaction_num FROM triggers
            WHERE symbol = ANY(\(symbols.map(\.rawValue))) AND trigger_price IS NOT NULL ORDER BY symbol, transaction_num
            """,
            logger: logger
        )
        var triggers: [ActiveTrigger] = []
        for try await (user, side, symbol, amount, price, reserved, transactionNum) in rows.decode((String, String, String, Int64, Int64, Int64, Int64).self) {
            guard let side = Side(rawValue: side) else { throw StoreError.inconsistent("trigger side '\(side)'") }
            triggers.append(ActiveTrigger(
                user: try UserID(validating: user),
                trigger: TriggerRow(side: side, symbol: symbol, amount: amount, triggerPrice: price, reservedShares: reserved, transactionNum: transactionNum)
            ))
        }
        return triggers
    }

    /// Fires one trigger with the fill the server computed, in a transaction of its own; the
    /// record's code is `ok`, `busy` (the account was locked: try again later) or `gone` (the
    /// trigger changed or was cancelled: nothing to do).
    ///
    /// Exactly once, whatever the number of instances: the trigger row is deleted under the
    /// account's row lock, and only if it is still exactly the row that was read.
    public func fire(_ active: ActiveTrigger, fill: TradingRules.TriggerFill, head: RecordHead) async throws -> TransactionRecord {
        let trigger = active.trigger
        let headJSON = head.json
        let rows = try await client.query(
            """
            SELECT dt_fire(\(active.user.rawValue), \(trigger.side.rawValue), \(trigger.symbol), \(trigger.amount), \(trigger.triggerPrice),
                           \(trigger.reservedShares), \(trigger.transactionNum), \(head.at), \(headJSON),
                           \(fill.cash), \(fill.reservedCash), \(fill.shares), \(fill.reservedShares))
            """,
            logger: logger
        )
        for try await text in rows.decode(String.self) {
            return try TransactionRecord(parsing: text)
        }
        throw StoreError.inconsistent("dt_fire returned no row")
    }
}
