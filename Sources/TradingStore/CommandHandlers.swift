import DayTraderCore
import PostgresNIO

/// The commands' effects. Each handler checks every rule (through `TradingRules`) before it
/// writes, and writes only through `CommandTransaction.apply`.
extension TradingStore {
    typealias Movement = CommandTransaction.Movement

    func run(_ command: Command, on tx: CommandTransaction, account: CommandTransaction.Account, quote: Result<QuoteInfo, Rejection>?) async throws -> CommandReply {
        var reply = CommandReply(transactionNum: tx.transactionNum, command: command.name.rawValue, user: tx.user.rawValue)
        switch command {
        case .add(_, let amount):
            let cash: Money
            do { cash = try account.cash.adding(amount) } catch { throw Rejection.overflow("the cash balance") }
            try await tx.apply(Movement(kind: "add", cash: amount.cents))
            reply.amount = amount
            reply.cash = cash

        case .quote(_, let symbol):
            let price = try Self.require(quote, for: symbol)
            reply.symbol = symbol.rawValue
            reply.price = price.price
            reply.quote = price

        case .buy(_, let symbol, let amount):
            let quote = try Self.require(quote, for: symbol)
            let fill = try TradingRules.buy(amount: amount, price: quote.price, availableCash: account.cash)
            let expiresAt = try await placeOrder(side: "buy", symbol: symbol, fill: fill, on: tx)
            try await tx.apply(Movement(kind: "buy_reserve", symbol: symbol, cash: -fill.cost.cents, reservedCash: fill.cost.cents))
            reply.describe(fill, symbol: symbol, expiresAt: expiresAt)
            reply.quote = quote

        case .sell(_, let symbol, let amount):
            let quote = try Self.require(quote, for: symbol)
            let holding = try await tx.holding(symbol)
            let fill = try TradingRules.sell(amount: amount, price: quote.price, availableShares: holding.shares)
            let expiresAt = try await placeOrder(side: "sell", symbol: symbol, fill: fill, on: tx)
            try await tx.apply(Movement(kind: "sell_reserve", symbol: symbol, shares: -fill.shares, reservedShares: fill.shares))
            reply.describe(fill, symbol: symbol, expiresAt: expiresAt)
            reply.quote = quote

        case .commitBuy:
            guard let order = try await takeNewestOrder(side: "buy", on: tx) else {
                throw Rejection(.noPendingBuy, "there is no BUY from the last 60 seconds to commit")
            }
            let holding = try await tx.holding(order.symbol)
            do { _ = try holding.shares.checkedAdding(order.shares) } catch { throw Rejection.overflow("the share count") }
            try await tx.apply(Movement(kind: "buy_commit", symbol: order.symbol, reservedCash: -order.amount.cents, shares: order.shares))
            reply.describe(order)

        case .cancelBuy:
            guard let order = try await takeNewestOrder(side: "buy", on: tx) else {
                throw Rejection(.noPendingBuy, "there is no BUY from the last 60 seconds to cancel")
            }
            try await tx.apply(Movement(kind: "buy_cancel", symbol: order.symbol, cash: order.amount.cents, reservedCash: -order.amount.cents))
            reply.describe(order)

        case .commitSell:
            guard let order = try await takeNewestOrder(side: "sell", on: tx) else {
                throw Rejection(.noPendingSell, "there is no SELL from the last 60 seconds to commit")
            }
            do { _ = try account.cash.adding(order.amount) } catch { throw Rejection.overflow("the cash balance") }
            try await tx.apply(Movement(kind: "sell_commit", symbol: order.symbol, cash: order.amount.cents, reservedShares: -order.shares))
            reply.describe(order)

        case .cancelSell:
            guard let order = try await takeNewestOrder(side: "sell", on: tx) else {
                throw Rejection(.noPendingSell, "there is no SELL from the last 60 seconds to cancel")
            }
            try await tx.apply(Movement(kind: "sell_cancel", symbol: order.symbol, shares: order.shares, reservedShares: -order.shares))
            reply.describe(order)

        case .setBuyAmount(_, let symbol, let amount):
            let existing = try await trigger(side: "buy", symbol: symbol, on: tx)
            try TradingRules.setBuyAmount(amount: amount, availableCash: account.cash, existingReserve: existing?.amount ?? .zero)
            if let existing {
                try await tx.apply(Movement(kind: "buy_trigger_release", symbol: symbol, cash: existing.amount.cents, reservedCash: -existing.amount.cents))
            }
            try await tx.apply(Movement(kind: "buy_trigger_reserve", symbol: symbol, cash: -amount.cents, reservedCash: amount.cents))
            try await saveTrigger(side: "buy", symbol: symbol, amount: amount, on: tx)
            reply.symbol = symbol.rawValue
            reply.amount = amount

        case .setBuyTrigger(_, let symbol, let price):
            guard let existing = try await trigger(side: "buy", symbol: symbol, on: tx) else {
                throw Rejection(.noBuyAmount, "SET_BUY_TRIGGER for \(symbol) needs a SET_BUY_AMOUNT first")
            }
            try TradingRules.setBuyTrigger(reserve: existing.amount, triggerPrice: price)
            try await activateTrigger(side: "buy", symbol: symbol, price: price, reservedShares: 0, on: tx)
            reply.symbol = symbol.rawValue
            reply.amount = existing.amount
            reply.triggerPrice = price

        case .cancelSetBuy(_, let symbol):
            guard let existing = try await trigger(side: "buy", symbol: symbol, on: tx) else {
                throw Rejection(.noTrigger, "there is no buy amount or trigger for \(symbol) to cancel")
            }
            try await deleteTrigger(side: "buy", symbol: symbol, on: tx)
            try await tx.apply(Movement(kind: "buy_trigger_cancel", symbol: symbol, cash: existing.amount.cents, reservedCash: -existing.amount.cents))
            reply.symbol = symbol.rawValue
            reply.amount = existing.amount

        case .setSellAmount(_, let symbol, let amount):
            let holding = try await tx.holding(symbol)
            let existing = try await trigger(side: "sell", symbol: symbol, on: tx)
            guard holding.shares > 0 || (existing?.reservedShares ?? 0) > 0 else {
                throw Rejection(.insufficientShares, "SET_SELL_AMOUNT for \(symbol) needs shares of \(symbol); you hold none")
            }
            // A new amount replaces the old one; shares a trigger held go back until it is set again.
            if let existing, existing.reservedShares > 0 {
                try await tx.apply(Movement(kind: "sell_trigger_release", symbol: symbol, shares: existing.reservedShares, reservedShares: -existing.reservedShares))
            }
            try await saveTrigger(side: "sell", symbol: symbol, amount: amount, on: tx)
            reply.symbol = symbol.rawValue
            reply.amount = amount

        case .setSellTrigger(_, let symbol, let price):
            guard let existing = try await trigger(side: "sell", symbol: symbol, on: tx) else {
                throw Rejection(.noSellAmount, "SET_SELL_TRIGGER for \(symbol) needs a SET_SELL_AMOUNT first")
            }
            let holding = try await tx.holding(symbol)
            let available: Int64
            do { available = try holding.shares.checkedAdding(existing.reservedShares) } catch { throw Rejection.overflow("the share count") }
            let shares = try TradingRules.sellTriggerShares(amount: existing.amount, triggerPrice: price, availableShares: available)
            let change = shares - existing.reservedShares
            if change != 0 {
                try await tx.apply(Movement(kind: "sell_trigger_reserve", symbol: symbol, shares: -change, reservedShares: change))
            }
            try await activateTrigger(side: "sell", symbol: symbol, price: price, reservedShares: shares, on: tx)
            reply.symbol = symbol.rawValue
            reply.amount = existing.amount
            reply.triggerPrice = price
            reply.reservedShares = shares

        case .cancelSetSell(_, let symbol):
            guard let existing = try await trigger(side: "sell", symbol: symbol, on: tx) else {
                throw Rejection(.noTrigger, "there is no sell amount or trigger for \(symbol) to cancel")
            }
            try await deleteTrigger(side: "sell", symbol: symbol, on: tx)
            if existing.reservedShares > 0 {
                try await tx.apply(Movement(kind: "sell_trigger_cancel", symbol: symbol, shares: existing.reservedShares, reservedShares: -existing.reservedShares))
            }
            reply.symbol = symbol.rawValue
            reply.amount = existing.amount
            reply.reservedShares = existing.reservedShares

        case .displaySummary, .dumplog:
            throw Rejection(.malformedCommand, "\(command.name.rawValue) does not change the trading state")
        }
        let balances = try await tx.lockAccount()
        reply.cash = balances?.cash
        reply.reservedCash = balances?.reservedCash
        return reply
    }

    static func require(_ quote: Result<QuoteInfo, Rejection>?, for symbol: StockSymbol) throws(Rejection) -> QuoteInfo {
        guard let quote else { throw Rejection(.quoteUnavailable, "no quote was fetched for \(symbol)") }
        return try quote.get()
    }

    // MARK: Pending orders

    struct PendingOrder {
        var symbol: StockSymbol
        var shares: Int64
        var price: Money
        var amount: Money
    }

    private func placeOrder(side: String, symbol: StockSymbol, fill: TradingRules.Fill, on tx: CommandTransaction) async throws -> Timestamp {
        let expiresAt = tx.now.adding(milliseconds: TradingRules.orderLifetimeMillis)
        try await tx.connection.query(
            """
            INSERT INTO pending_orders (user_id, side, symbol, shares, price, amount, placed_at_ms, expires_at_ms, transaction_num)
            VALUES (\(tx.user.rawValue), \(side), \(symbol.rawValue), \(fill.shares), \(fill.price.cents), \(fill.cost.cents),
                    \(tx.now.unixMillis), \(expiresAt.unixMillis), \(tx.transactionNum))
            """,
            logger: tx.logger
        )
        return expiresAt
    }

    /// Removes and returns the newest live order of one side: the stack rule of SPEC.md.
    /// Expired orders were released when the transaction began.
    private func takeNewestOrder(side: String, on tx: CommandTransaction) async throws -> PendingOrder? {
        let rows = try await tx.connection.query(
            """
            DELETE FROM pending_orders WHERE id = (
                SELECT id FROM pending_orders WHERE user_id = \(tx.user.rawValue) AND side = \(side)
                ORDER BY placed_at_ms DESC, id DESC LIMIT 1)
            RETURNING symbol, shares, price, amount
            """,
            logger: tx.logger
        )
        for try await (symbol, shares, price, amount) in rows.decode((String, Int64, Int64, Int64).self) {
            return PendingOrder(symbol: try StockSymbol(validating: symbol), shares: shares, price: Money(cents: price), amount: Money(cents: amount))
        }
        return nil
    }

    // MARK: Triggers

    struct Trigger {
        var amount: Money
        var triggerPrice: Money?
        var reservedShares: Int64
    }

    private func trigger(side: String, symbol: StockSymbol, on tx: CommandTransaction) async throws -> Trigger? {
        let rows = try await tx.connection.query(
            """
            SELECT amount, trigger_price, reserved_shares FROM triggers
            WHERE user_id = \(tx.user.rawValue) AND side = \(side) AND symbol = \(symbol.rawValue)
            """,
            logger: tx.logger
        )
        for try await (amount, price, reserved) in rows.decode((Int64, Int64?, Int64).self) {
            return Trigger(amount: Money(cents: amount), triggerPrice: price.map(Money.init(cents:)), reservedShares: reserved)
        }
        return nil
    }

    /// Sets the amount and leaves the trigger waiting for SET_*_TRIGGER.
    private func saveTrigger(side: String, symbol: StockSymbol, amount: Money, on tx: CommandTransaction) async throws {
        try await tx.connection.query(
            """
            INSERT INTO triggers (user_id, side, symbol, amount, trigger_price, reserved_shares, transaction_num)
            VALUES (\(tx.user.rawValue), \(side), \(symbol.rawValue), \(amount.cents), NULL, 0, \(tx.transactionNum))
            ON CONFLICT (user_id, side, symbol) DO UPDATE
            SET amount = EXCLUDED.amount, trigger_price = NULL, reserved_shares = 0, transaction_num = EXCLUDED.transaction_num
            """,
            logger: tx.logger
        )
    }

    private func activateTrigger(side: String, symbol: StockSymbol, price: Money, reservedShares: Int64, on tx: CommandTransaction) async throws {
        try await tx.connection.query(
            """
            UPDATE triggers SET trigger_price = \(price.cents), reserved_shares = \(reservedShares), transaction_num = \(tx.transactionNum)
            WHERE user_id = \(tx.user.rawValue) AND side = \(side) AND symbol = \(symbol.rawValue)
            """,
            logger: tx.logger
        )
    }

    private func deleteTrigger(side: String, symbol: StockSymbol, on tx: CommandTransaction) async throws {
        try await tx.connection.query(
            "DELETE FROM triggers WHERE user_id = \(tx.user.rawValue) AND side = \(side) AND symbol = \(symbol.rawValue)",
            logger: tx.logger
        )
    }
}

extension CommandReply {
    mutating func describe(_ fill: TradingRules.Fill, symbol: StockSymbol, expiresAt: Timestamp) {
        self.symbol = symbol.rawValue
        shares = fill.shares
        price = fill.price
        amount = fill.cost
        self.expiresAt = expiresAt.unixMillis
    }

    mutating func describe(_ order: TradingStore.PendingOrder) {
        symbol = order.symbol.rawValue
        shares = order.shares
        price = order.price
        amount = order.amount
    }
}
