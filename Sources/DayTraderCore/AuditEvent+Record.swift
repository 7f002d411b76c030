/// The audit events of one transaction record, built once, where the record is stored.
///
/// What each kind of record logs (docs/SPEC.md, "The audit log"):
/// - a command: its userCommand; the price it used (a quoteServer event for a real hit, a
///   systemEvent for a cached price), even if the command was then refused; for each pending
///   order its transaction released, a systemEvent CANCEL_BUY/CANCEL_SELL under that order's
///   transactionNum; an accountTransaction for every change of spendable cash; and an errorEvent
///   when it was refused;
/// - a firing: a systemEvent SET_BUY_TRIGGER/SET_SELL_TRIGGER with the money that moved, under
///   the transactionNum of the command that set the trigger, and the accountTransaction of the cash;
/// - an expiry: the released orders' systemEvents and accountTransactions;
/// - the engine's quote hit: its quoteServer event.
///
/// Event ids are the record's id and the event's place in it, so a record stored twice (the
/// relay and the broker deliver at least once) yields the same events.
extension AuditEvent {
    public static func events(of record: TransactionRecord) -> [AuditEvent] {
        var builder = RecordEvents(record.head)
        let head = record.head
        let result = record.result
        switch head.kind {
        case .command:
            guard let command = record.commandName, let transactionNum = result.transactionNum else { return [] }
            let fields = RequestFields(head, command: command)
            builder.add(.userCommand(
                id: "", timestamp: head.at, server: head.server, transactionNum: transactionNum, command: command,
                username: fields.username, stockSymbol: fields.stockSymbol, filename: fields.filename, funds: fields.funds
            ))
            if let quote = head.quote {
                builder.addQuote(quote, command: command, user: head.user ?? "", transactionNum: transactionNum)
            }
            builder.addMovements(result, user: head.user ?? "")
            if let rejection = record.rejection {
                builder.add(.errorEvent(
                    id: "", timestamp: head.at, server: head.server, transactionNum: transactionNum, command: command,
                    username: fields.username, stockSymbol: fields.stockSymbol, filename: fields.filename, funds: fields.funds,
                    errorMessage: "\(rejection.code.rawValue): \(rejection.message)"
                ))
            }
        case .firing:
            guard result.isOK, let side = head.side, let transactionNum = head.transactionNum else { return [] }
            builder.add(.systemEvent(
                id: "", timestamp: head.at, server: head.server, transactionNum: transactionNum,
                command: side == .buy ? .setBuyTrigger : .setSellTrigger,
                username: head.user, stockSymbol: head.symbol, funds: Money(cents: head.funds ?? 0)
            ))
            builder.addMovements(result, user: head.user ?? "")
        case .expiry:
            builder.addMovements(result, user: head.user ?? "")
        case .quoteHit:
            guard let quote = head.quote, let transactionNum = head.transactionNum else { return [] }
            builder.addQuote(quote, command: .setBuyTrigger, user: head.user ?? "", transactionNum: transactionNum)
        }
        return builder.events
    }

    /// The fields of a request as the log holds them: as the client sent them, wherever the
    /// schema's type can hold the text (any text for a user id or a file name; at most three
    /// characters for a stock symbol; a decimal for funds, written to the cent when it is valid
    /// money). Text the log cannot hold at all was already replaced in the record (`LogText`).
    struct RequestFields {
        var username: String?
        var stockSymbol: String?
        var filename: String?
        var funds: LoggedDecimal?

        init(_ head: RecordHead, command: CommandName) {
            username = head.user
            stockSymbol = head.symbol.flatMap { $0.unicodeScalars.count <= AuditEvent.maxStockSymbolLength ? $0 : nil }
            filename = head.filename
            funds = head.amount.flatMap(LoggedDecimal.init(sent:))
        }
    }
}

/// Collects a record's events, numbering their ids.
private struct RecordEvents {
    let head: RecordHead
    var events: [AuditEvent] = []

    init(_ head: RecordHead) { self.head = head }

    mutating func add(_ event: AuditEvent) {
        var event = event
        event.id = "\(head.id).\(events.count)"
        events.append(event)
    }

    /// A real hit is a quoteServer event with the quote server's fields verbatim; a price from
    /// the shared cache is a systemEvent naming the command that used it, with the price as funds.
    mutating func addQuote(_ quote: QuoteInfo, command: CommandName, user: String, transactionNum: Int64) {
        if quote.cached {
            add(.systemEvent(
                id: "", timestamp: head.at, server: head.server, transactionNum: transactionNum,
                command: command, username: user, stockSymbol: quote.symbol, funds: quote.price
            ))
        } else {
            add(.quoteServer(
                id: "", timestamp: head.at, server: head.server, transactionNum: transactionNum,
                price: quote.price, stockSymbol: quote.symbol, username: quote.user ?? user,
                quoteServerTime: quote.quoteServerTime, cryptokey: quote.cryptokey
            ))
        }
    }

    /// The ledger rows in order: an expiry's systemEvent before its cash, and an
    /// accountTransaction for every row that moved spendable cash.
    mutating func addMovements(_ result: RecordResult, user: String) {
        var expired = (result.expired ?? [])[...]
        for row in result.ledger ?? [] {
            if row.kind == .buyExpired || row.kind == .sellExpired, let order = expired.popFirst() {
                add(.systemEvent(
                    id: "", timestamp: head.at, server: head.server, transactionNum: order.transactionNum,
                    command: order.side == .buy ? .cancelBuy : .cancelSell,
                    username: user, stockSymbol: order.symbol, funds: Money(cents: order.amount)
                ))
            }
            if row.cash != 0 {
                add(.accountTransaction(
                    id: "", timestamp: head.at, server: head.server, transactionNum: row.transactionNum,
                    action: row.cash > 0 ? .add : .remove, username: user, funds: Money(cents: row.cash > 0 ? row.cash : 0 - row.cash)
                ))
            }
        }
    }
}
