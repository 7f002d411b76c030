/// One event of the audit log, as the transaction servers produce it and the audit server stores it.
///
/// The struct is deliberately flat: every kind uses a subset of the same fields, which is how
/// the audit database stores them and how `AuditLogXML` writes them. The audit server builds a
/// record's events with ``events(of:)``; the static factories ask for exactly the fields each
/// kind requires, and `missingFields` says whether an event would validate against the log schema.
public struct AuditEvent: Hashable, Sendable {
    /// The element the event becomes in the log.
    public enum Kind: String, Sendable, CaseIterable {
        case userCommand, quoteServer, accountTransaction, systemEvent, errorEvent, debugEvent
    }

    /// What an accountTransaction did to the account's money.
    public enum Action: String, Sendable, CaseIterable {
        case add, remove
    }

    /// Unique event id: the record's id and the event's place in it.
    public var id: String
    public var kind: Kind
    /// Unix milliseconds.
    public var timestamp: Int64
    /// The name of the process that produced the event.
    public var server: String
    public var transactionNum: Int64
    /// A `CommandName` raw value.
    public var command: String?
    public var username: String?
    public var stockSymbol: String?
    public var filename: String?
    public var funds: LoggedDecimal?
    /// quoteServer: the price as the quote server returned it.
    public var price: Money?
    /// quoteServer: the quote server's own timestamp, Unix milliseconds.
    public var quoteServerTime: Int64?
    /// quoteServer: the key as the quote server returned it.
    public var cryptokey: String?
    /// accountTransaction: an `Action` raw value, "add" or "remove".
    public var action: String?
    public var errorMessage: String?
    public var debugMessage: String?

    /// Every field, for decoding and for tests; producers use the factories below.
    public init(
        id: String,
        kind: Kind,
        timestamp: Int64,
        server: String,
        transactionNum: Int64,
        command: String? = nil,
        username: String? = nil,
        stockSymbol: String? = nil,
        filename: String? = nil,
        funds: LoggedDecimal? = nil,
        price: Money? = nil,
        quoteServerTime: Int64? = nil,
        cryptokey: String? = nil,
        action: String? = nil,
        errorMessage: String? = nil,
        debugMessage: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.timestamp = timestamp
        self.server = server
        self.transactionNum = transactionNum
        self.command = command
        self.username = username
        self.stockSymbol = stockSymbol
        self.filename = filename
        self.funds = funds
        self.price = price
        self.quoteServerTime = quoteServerTime
        self.cryptokey = cryptokey
        self.action = action
        self.errorMessage = errorMessage
        self.debugMessage = debugMessage
    }
}

// MARK: - Factories

extension AuditEvent {
    /// A command as a user (or a workload file) sent it.
    public static func userCommand(
        id: String, timestamp: Int64, server: String, transactionNum: Int64,
        command: CommandName,
        username: String? = nil, stockSymbol: String? = nil, filename: String? = nil, funds: LoggedDecimal? = nil
    ) -> AuditEvent {
        AuditEvent(
            id: id, kind: .userCommand, timestamp: timestamp, server: server, transactionNum: transactionNum,
            command: command.rawValue, username: username, stockSymbol: stockSymbol, filename: filename, funds: funds
        )
    }

    /// One real hit on the quote server, every field exactly as the quote server returned it.
    public static func quoteServer(
        id: String, timestamp: Int64, server: String, transactionNum: Int64,
        price: Money, stockSymbol: String, username: String, quoteServerTime: Int64, cryptokey: String
    ) -> AuditEvent {
        AuditEvent(
            id: id, kind: .quoteServer, timestamp: timestamp, server: server, transactionNum: transactionNum,
            username: username, stockSymbol: stockSymbol,
            price: price, quoteServerTime: quoteServerTime, cryptokey: cryptokey
        )
    }

    /// Money added to or removed from a user's account.
    public static func accountTransaction(
        id: String, timestamp: Int64, server: String, transactionNum: Int64,
        action: Action, username: String, funds: Money
    ) -> AuditEvent {
        AuditEvent(
            id: id, kind: .accountTransaction, timestamp: timestamp, server: server, transactionNum: transactionNum,
            username: username, funds: LoggedDecimal(funds), action: action.rawValue
        )
    }

    /// Something the system did on its own account: a cached quote, a trigger firing, a message between servers.
    public static func systemEvent(
        id: String, timestamp: Int64, server: String, transactionNum: Int64,
        command: CommandName,
        username: String? = nil, stockSymbol: String? = nil, filename: String? = nil, funds: Money? = nil
    ) -> AuditEvent {
        AuditEvent(
            id: id, kind: .systemEvent, timestamp: timestamp, server: server, transactionNum: transactionNum,
            command: command.rawValue, username: username, stockSymbol: stockSymbol, filename: filename, funds: funds.map(LoggedDecimal.init)
        )
    }

    /// A command that failed, with why.
    public static func errorEvent(
        id: String, timestamp: Int64, server: String, transactionNum: Int64,
        command: CommandName,
        username: String? = nil, stockSymbol: String? = nil, filename: String? = nil, funds: LoggedDecimal? = nil,
        errorMessage: String?
    ) -> AuditEvent {
        AuditEvent(
            id: id, kind: .errorEvent, timestamp: timestamp, server: server, transactionNum: transactionNum,
            command: command.rawValue, username: username, stockSymbol: stockSymbol, filename: filename, funds: funds,
            errorMessage: errorMessage
        )
    }

    /// A diagnostic note attached to a command.
    public static func debugEvent(
        id: String, timestamp: Int64, server: String, transactionNum: Int64,
        command: CommandName,
        username: String? = nil, stockSymbol: String? = nil, filename: String? = nil, funds: LoggedDecimal? = nil,
        debugMessage: String?
    ) -> AuditEvent {
        AuditEvent(
            id: id, kind: .debugEvent, timestamp: timestamp, server: server, transactionNum: transactionNum,
            command: command.rawValue, username: username, stockSymbol: stockSymbol, filename: filename, funds: funds,
            debugMessage: debugMessage
        )
    }
}

// MARK: - Validation

extension AuditEvent {
    /// The earliest and latest timestamps the log schema accepts: 2000-01-01 and 2100-01-01, Unix ms.
    public static let timestampRange: ClosedRange<Int64> = 946_684_800_000...4_102_444_800_000

    /// The longest stock symbol the log schema accepts, in characters (Unicode scalars).
    public static let maxStockSymbolLength = 3

    /// What stops this event from being a valid element of the log; empty when nothing does.
    ///
    /// A required field that is nil appears as its bare XML name ("command"); a field that is
    /// present but wrong appears as "name: reason". An empty list means `AuditLogXML` renders
    /// the event as an element that validates against the log schema, and that the event has
    /// an id and, for an accountTransaction, an action of "add" or "remove". Fields the kind
    /// does not have are ignored here, as the renderer ignores them.
    public var missingFields: [String] {
        var problems: [String] = []
        if id.isEmpty { problems.append("id") }
        if !Self.timestampRange.contains(timestamp) {
            problems.append("timestamp: \(timestamp) is outside 2000-01-01...2100-01-01 in Unix milliseconds")
        }
        if transactionNum < 1 {
            problems.append("transactionNum: \(transactionNum) is not a positive integer")
        }

        func checkSymbol(required: Bool) {
            guard let stockSymbol else {
                if required { problems.append("stockSymbol") }
                return
            }
            if !stockSymbol.unicodeScalars.dropFirst(Self.maxStockSymbolLength).isEmpty {
                problems.append("stockSymbol: \(quoted(stockSymbol)) is longer than \(Self.maxStockSymbolLength) characters")
            }
        }

        switch kind {
        case .userCommand, .systemEvent, .errorEvent, .debugEvent:
            if let command {
                if CommandName(rawValue: command) == nil {
                    problems.append("command: \(quoted(command)) is not a known command")
                }
            } else {
                problems.append("command")
            }
            checkSymbol(required: false)
        case .quoteServer:
            if price == nil { problems.append("price") }
            checkSymbol(required: true)
            if username == nil { problems.append("username") }
            if quoteServerTime == nil { problems.append("quoteServerTime") }
            if cryptokey == nil { problems.append("cryptokey") }
        case .accountTransaction:
            if let action {
                if Action(rawValue: action) == nil {
                    problems.append("action: \(quoted(action)) is neither \"add\" nor \"remove\"")
                }
            } else {
                problems.append("action")
            }
            if username == nil { problems.append("username") }
            if funds == nil { problems.append("funds") }
        }
        return problems
    }
}
