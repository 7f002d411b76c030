/// The reply a command's record gives the client (and, unchanged, every retry with its key).
extension TransactionRecord {
    /// The command the record is about, when it is one of the sixteen.
    public var commandName: CommandName? { head.command.flatMap(CommandName.init(rawValue:)) }

    /// Why the command was refused, with its message; `nil` when it succeeded.
    ///
    /// A refusal decided before the database call carries its message in the head. A refusal
    /// the account's state decided is worded here from the numbers the database reported, so
    /// the reply and the audit log's errorEvent say the same.
    public var rejection: Rejection? {
        guard !result.isOK else { return nil }
        guard let code = Rejection.Code(rawValue: result.code) else {
            return Rejection(.malformedCommand, "the database answered '\(result.code)'")
        }
        if let message = head.message { return Rejection(code, message) }
        let symbol = head.symbol ?? ""
        let side: Side = switch commandName {
        case .sell, .commitSell, .cancelSell, .setSellAmount, .setSellTrigger, .cancelSetSell: .sell
        default: .buy
        }
        switch code {
        case .unknownAccount:
            return .unknownAccount(head.user ?? "")
        case .idempotencyKeyReused:
            return .keyReused
        case .insufficientFunds:
            let available = Money(cents: result.available ?? 0)
            if commandName == .buy, let fill = pricedFill {
                return .cashShort(buying: fill, available: available)
            }
            return .cashShort(reserving: requestedAmount ?? .zero, available: available)
        case .insufficientShares:
            switch commandName {
            case .sell:
                if let fill = pricedFill, let amount = requestedAmount {
                    return .sharesShort(selling: amount, fill: fill, available: result.available ?? 0)
                }
            case .setSellAmount:
                return .noShares(of: symbol)
            default:
                break
            }
            return .sharesShort(trigger: result.shares ?? 0, available: result.available ?? 0)
        case .amountBelowPrice:
            return .notOneShare(amount: Money(cents: result.amount ?? 0), triggerPrice: requestedAmount ?? .zero)
        case .triggerAboveReserve:
            return .reserveBelow(triggerPrice: requestedAmount ?? .zero, reserve: Money(cents: result.amount ?? 0))
        case .noPendingBuy, .noPendingSell:
            return .noPendingOrder(side, to: commandName == .commitBuy || commandName == .commitSell ? "commit" : "cancel")
        case .noBuyAmount, .noSellAmount:
            return .noAmount(side, symbol: symbol)
        case .noTrigger:
            return .noTrigger(side, symbol: symbol)
        default:
            return Rejection(code, code.rawValue)
        }
    }

    /// The amount the client asked for, as money (it was valid, or the command was refused earlier).
    var requestedAmount: Money? { head.amount.flatMap { try? Money(parsing: $0) } }

    /// The shares and cost of a BUY or SELL, as the server computed them before the call.
    var pricedFill: TradingRules.Fill? {
        guard let amount = requestedAmount, let price = head.quote?.price else { return nil }
        return try? TradingRules.fill(amount: amount, price: price)
    }

    /// The command's reply: the rejection, or what the command did and the balances after it.
    public var reply: CommandReply {
        if let rejection {
            return .rejected(rejection, transactionNum: result.transactionNum, request: head.request)
        }
        var reply = CommandReply(transactionNum: result.transactionNum, command: head.command ?? "UNKNOWN", user: head.user)
        reply.cash = result.cash.map(Money.init(cents:))
        reply.reservedCash = result.reservedCash.map(Money.init(cents:))
        switch commandName {
        case .add:
            reply.amount = requestedAmount
        case .quote:
            reply.symbol = head.symbol
            reply.price = head.quote?.price
            reply.quote = head.quote
        case .buy, .sell:
            reply.describe(result.order)
            reply.expiresAt = result.order?.expiresAt
            reply.quote = head.quote
        case .commitBuy, .cancelBuy, .commitSell, .cancelSell:
            reply.describe(result.order)
        case .setBuyAmount, .setSellAmount:
            reply.symbol = head.symbol
            reply.amount = requestedAmount
        case .setBuyTrigger, .setSellTrigger:
            reply.symbol = head.symbol
            reply.amount = result.trigger.map { Money(cents: $0.amount) }
            reply.triggerPrice = requestedAmount
            if commandName == .setSellTrigger { reply.reservedShares = result.trigger?.reservedShares }
        case .cancelSetBuy, .cancelSetSell:
            reply.symbol = head.symbol
            reply.amount = result.amount.map(Money.init(cents:))
            if commandName == .cancelSetSell { reply.reservedShares = result.shares }
        case .dumplog, .displaySummary, nil:
            break
        }
        return reply
    }
}

extension CommandReply {
    mutating func describe(_ order: OrderRow?) {
        guard let order else { return }
        symbol = order.symbol
        shares = order.shares
        price = Money(cents: order.price)
        amount = Money(cents: order.amount)
    }
}
