import DayTraderCore
import PostgresNIO

/// What the trigger engine asks of the store: which stocks to watch, which triggers hold at a
/// price, and firing one trigger in a transaction of its own.
extension TradingStore {
    /// Which of a user's two triggers on a stock.
    public enum TriggerSide: String, Sendable, Hashable {
        case buy, sell
    }

    /// Identifies one trigger (the table's primary key).
    public struct TriggerKey: Sendable, Hashable, CustomStringConvertible {
        public var user: UserID
        public var side: TriggerSide
        public var symbol: StockSymbol

        public var description: String { "\(user)/\(side.rawValue)/\(symbol)" }
    }

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

    /// The active triggers that hold at these prices: buys at or above the price, sells at or
    /// below it. Read without locks; ``fireTrigger(_:at:)`` checks again under the account's lock.
    public func triggersThatHold(at prices: [StockSymbol: Money]) async throws -> [TriggerKey] {
        guard !prices.isEmpty else { return [] }
        let symbols = prices.keys.map(\.rawValue)
        let cents = prices.keys.map { prices[$0]!.cents }
        let rows = try await client.query(
            """
            SELECT t.user_id, t.side, t.symbol FROM triggers t
            JOIN unnest(\(symbols)::text[], \(cents)::bigint[]) AS q(symbol, price) ON q.symbol = t.symbol
            WHERE t.trigger_price IS NOT NULL
              AND ((t.side = 'buy' AND t.trigger_price >= q.price) OR (t.side = 'sell' AND t.trigger_price <= q.price))
            ORDER BY t.symbol, t.transaction_num
            """,
            logger: logger
        )
        var keys: [TriggerKey] = []
        for try await (user, side, symbol) in rows.decode((String, String, String).self) {
            guard let side = TriggerSide(rawValue: side) else { throw StoreError.inconsistent("trigger side '\(side)'") }
            keys.append(TriggerKey(user: try UserID(validating: user), side: side, symbol: try StockSymbol(validating: symbol)))
        }
        return keys
    }

    /// What an attempt to fire one trigger came to.
    public enum FiringOutcome: Sendable {
        /// The trigger fired and is gone; the account's summary as committed.
        case fired(AccountSnapshot)
        /// The account was locked (by a command, or another instance firing); try again later.
        case busy
        /// The trigger is gone, changed or no longer holds at this price: nothing to do.
        case notHeld
    }

    /// Fires one trigger at `price`, in a transaction of its own.
    ///
    /// Exactly once, whatever the number of instances: the trigger row is deleted under the
    /// account's row lock (taken first, as every command does, so no lock cycle can form), and
    /// an account some other transaction holds is skipped (`SKIP LOCKED`) rather than waited for.
    /// The ledger, the balances and the audit events (a systemEvent under the transactionNum of
    /// the command that set the trigger, and an accountTransaction for the cash) commit together.
    public func fireTrigger(_ key: TriggerKey, at price: Money) async throws -> FiringOutcome {
        let audit = AuditTrail(server: serverName, now: clock.now())
        return try await client.withTransaction(logger: logger) { connection in
            // Every movement here carries the transactionNum of the command that set the trigger.
            let transaction = CommandTransaction(connection: connection, logger: logger, user: key.user, transactionNum: 0, audit: audit)
            guard try await transaction.tryLockAccount() else { return .busy }
            let rows = try await connection.query(
                """
                DELETE FROM triggers
                WHERE user_id = \(key.user.rawValue) AND side = \(key.side.rawValue) AND symbol = \(key.symbol.rawValue)
                  AND CASE side WHEN 'buy' THEN trigger_price >= \(price.cents) ELSE trigger_price <= \(price.cents) END
                RETURNING amount, trigger_price, reserved_shares, transaction_num
                """,
                logger: logger
            )
            var deleted: (amount: Int64, triggerPrice: Int64, reservedShares: Int64, transactionNum: Int64)?
            for try await row in rows.decode((Int64, Int64, Int64, Int64).self) { deleted = row }
            guard let deleted else { return .notHeld }

            // Postgres refuses a bigint overflow (the transaction fails and the trigger stays), so
            // the balances below never wrap.
            let amount = Money(cents: deleted.amount)
            let triggerPrice = Money(cents: deleted.triggerPrice)
            switch key.side {
            case .buy:
                guard let fill = TradingRules.buyTrigger(reserve: amount, triggerPrice: triggerPrice, price: price) else {
                    throw StoreError.inconsistent("buy trigger \(key) was selected at \(price) but does not hold")
                }
                audit.systemAction(.setBuyTrigger, user: key.user, symbol: key.symbol, funds: fill.cost, transactionNum: deleted.transactionNum)
                try await transaction.apply(Movement(
                    kind: "buy_trigger_fill", symbol: key.symbol,
                    cash: fill.refund.cents, reservedCash: -amount.cents, shares: fill.shares, transactionNum: deleted.transactionNum
                ))
            case .sell:
                guard let fill = try TradingRules.sellTrigger(amount: amount, triggerPrice: triggerPrice, reservedShares: deleted.reservedShares, price: price) else {
                    throw StoreError.inconsistent("sell trigger \(key) was selected at \(price) but does not hold")
                }
                audit.systemAction(.setSellTrigger, user: key.user, symbol: key.symbol, funds: fill.proceeds, transactionNum: deleted.transactionNum)
                try await transaction.apply(Movement(
                    kind: "sell_trigger_fill", symbol: key.symbol,
                    cash: fill.proceeds.cents, shares: fill.sharesReturned, reservedShares: -deleted.reservedShares,
                    transactionNum: deleted.transactionNum
                ))
            }
            try await transaction.bumpVersion()
            try await audit.write(on: connection, logger: logger)
            guard let snapshot = try await Self.summary(for: key.user, now: audit.now, on: connection, logger: logger) else {
                throw StoreError.inconsistent("account \(key.user) vanished while its trigger fired")
            }
            return .fired(snapshot)
        }
    }

    /// Logs a quote server hit the system made by itself (the trigger engine refreshing a
    /// watched stock), so that every charged hit is in the audit log.
    public func logQuoteHit(_ quote: QuoteInfo, for stock: WatchedStock) async throws {
        let audit = AuditTrail(server: serverName, now: clock.now())
        audit.quote(quote, command: .setBuyTrigger, user: stock.user, transactionNum: stock.transactionNum)
        try await client.withTransaction(logger: logger) { connection in
            try await audit.write(on: connection, logger: logger)
        }
    }
}
