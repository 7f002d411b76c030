/// What one transaction on the trading database did, in the one form every reader uses.
///
/// A transaction server writes the ``head`` before it calls the database: what was asked (the
/// request as the client sent it, the quote it was priced at, a refusal decided from the request
/// alone) or what the system does by itself (a trigger firing, an expiry, a quote fetched for the
/// triggers). The database adds the ``result``: what the account's state allowed and what
/// changed. The same record is
/// - the reply to the client (``reply``), and what a retry with the same idempotency key gets back;
/// - the audit events of the transaction (``AuditEvent/events(of:)``), built once, by the audit
///   server, from the outbox row that carried the record;
/// - the changes the account cache applies (its version, balances, rows added and removed).
///
/// Its JSON form (`json`, `init(parsing:)`) has short keys because a record travels three times:
/// to the outbox, to the idempotency store and through the broker.
public struct TransactionRecord: Hashable, Sendable {
    public var head: RecordHead
    public var result: RecordResult

    public init(head: RecordHead, result: RecordResult) {
        self.head = head
        self.result = result
    }
}

/// Buy or sell: the side of a pending order or of a trigger.
public enum Side: String, Hashable, Sendable, CaseIterable {
    case buy, sell
}

/// The part of a record the transaction server writes before the database call.
public struct RecordHead: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// One of the sixteen commands, as a client sent it (valid or not).
        case command
        /// A buy or sell trigger firing at a quote.
        case firing
        /// The sweeper releasing pending orders whose 60 s ran out, with no command.
        case expiry
        /// A quote server hit the system made by itself (the trigger engine).
        case quoteHit = "quote"
    }

    /// Unique per record (a UUID): the audit events' ids derive from it, so a record relayed twice
    /// is stored once.
    public var id: String
    public var kind: Kind
    /// The process that wrote the record, for the log's `server` field.
    public var server: String
    /// When it happened, Unix ms: the time of every event of the record, and the time against
    /// which lifetimes are judged.
    public var at: Int64

    // MARK: A command, as sent (text the log cannot hold already replaced; see LogText)
    /// The command name as sent (one of the sixteen; the HTTP routes allow no other).
    public var command: String?
    public var user: String?
    public var symbol: String?
    public var amount: String?
    public var filename: String?
    /// The price the command used (QUOTE, BUY, SELL) or the firing was at.
    public var quote: QuoteInfo?
    /// The message of a refusal decided before the call (the request is invalid, no quote could
    /// be had, a rule on the request alone); the database's result carries its code.
    public var message: String?

    // MARK: A firing, or the engine's quote hit
    public var side: Side?
    /// The transactionNum of the command that set the trigger (SET_*_TRIGGER) or of the stock's
    /// watched trigger (a quote hit): the events are logged under it.
    public var transactionNum: Int64?
    /// What the firing bought or sold for, in cents: the systemEvent's funds.
    public var funds: Int64?

    public init(id: String, kind: Kind, server: String, at: Int64) {
        self.id = id
        self.kind = kind
        self.server = server
        self.at = at
    }

    /// The head of a command: the request's fields as sent, made safe for the log.
    public static func command(_ request: CommandRequest, id: String, server: String, at: Int64, quote: QuoteInfo? = nil, refusal: String? = nil) -> RecordHead {
        var head = RecordHead(id: id, kind: .command, server: server, at: at)
        head.command = request.name
        head.user = request.user.map(LogText.safe)
        head.symbol = request.symbol.map(LogText.safe)
        head.amount = request.amount.map(LogText.safe)
        head.filename = request.filename.map(LogText.safe)
        head.quote = quote
        head.message = refusal
        return head
    }

    /// The head as JSON, as `init(json:)` reads it back.
    public var json: String {
        var json = JSONWriter(capacity: 384)
        json.beginObject()
        json.field("id", id)
        json.field("k", kind.rawValue)
        json.field("srv", server)
        json.field("at", at)
        json.field("cmd", command)
        json.field("user", user)
        json.field("sym", symbol)
        json.field("amt", amount)
        json.field("file", filename)
        if let quote {
            json.key("q")
            quote.write(to: &json)
        }
        json.field("msg", message)
        json.field("side", side?.rawValue)
        json.field("t", transactionNum)
        json.field("funds", funds)
        json.endObject()
        return json.text
    }

    /// The request as recorded: enough to rebuild a rejection's message.
    var request: CommandRequest {
        CommandRequest(name: command ?? "", user: user, symbol: symbol, amount: amount, filename: filename)
    }
}

/// The part of a record the database writes: what the account's state allowed, and what changed.
///
/// Amounts are in cents. Fields are present only where the command has them.
public struct RecordResult: Hashable, Sendable {
    /// The transactionNum: the client's, or one the database assigned.
    public var transactionNum: Int64?
    /// `ok`, a `Rejection.Code`, or for a firing `busy` (the account was locked; try later) or
    /// `gone` (the trigger changed or went: nothing to do).
    public var code: String
    /// The account's version after the transaction, present exactly when it changed the account.
    public var version: Int64?
    /// The balances after the transaction, whenever the account exists.
    public var cash: Int64?
    public var reservedCash: Int64?
    /// For a refusal's message: the cash or shares that were available.
    public var available: Int64?
    /// SET_SELL_TRIGGER: the shares the trigger holds (or would need).
    public var shares: Int64?
    /// An amount the account held: a trigger's amount (reserve for a buy).
    public var amount: Int64?
    /// The pending order placed (BUY, SELL) or taken (COMMIT_*, CANCEL_*).
    public var order: OrderRow?
    /// Pending orders released because their 60 s ran out.
    public var expired: [OrderRow]?
    /// The holdings the transaction changed, as they are after it.
    public var holdings: [HoldingRow]?
    /// The trigger as it is after the transaction (SET_*).
    public var trigger: TriggerRow?
    /// The trigger the transaction removed (CANCEL_SET_*, a firing).
    public var removedTrigger: TriggerKey?
    /// The ledger rows the transaction wrote, in order.
    public var ledger: [LedgerRow]?

    public init(transactionNum: Int64? = nil, code: String) {
        self.transactionNum = transactionNum
        self.code = code
    }

    public static let ok = "ok"
    public var isOK: Bool { code == Self.ok }
}

/// A pending BUY or SELL, as the database holds it.
public struct OrderRow: Hashable, Sendable {
    public var id: Int64
    public var side: Side
    public var symbol: String
    public var shares: Int64
    /// Cents per share.
    public var price: Int64
    /// shares × price, in cents.
    public var amount: Int64
    public var placedAt: Int64
    public var expiresAt: Int64
    /// The BUY's or SELL's own transactionNum.
    public var transactionNum: Int64

    public init(id: Int64, side: Side, symbol: String, shares: Int64, price: Int64, amount: Int64, placedAt: Int64, expiresAt: Int64, transactionNum: Int64) {
        self.id = id
        self.side = side
        self.symbol = symbol
        self.shares = shares
        self.price = price
        self.amount = amount
        self.placedAt = placedAt
        self.expiresAt = expiresAt
        self.transactionNum = transactionNum
    }
}

/// One stock of an account: shares available, and shares held by pending SELLs and sell triggers.
public struct HoldingRow: Hashable, Sendable {
    public var symbol: String
    public var shares: Int64
    public var reservedShares: Int64

    public init(symbol: String, shares: Int64, reservedShares: Int64) {
        self.symbol = symbol
        self.shares = shares
        self.reservedShares = reservedShares
    }
}

/// Identifies a trigger: one buy and one sell trigger per user and stock.
public struct TriggerKey: Hashable, Sendable {
    public var side: Side
    public var symbol: String

    public init(side: Side, symbol: String) {
        self.side = side
        self.symbol = symbol
    }
}

/// A buy or sell trigger: its amount, and its price once SET_*_TRIGGER set one.
public struct TriggerRow: Hashable, Sendable {
    public var side: Side
    public var symbol: String
    /// Cents: for a buy trigger the cash reserved, for a sell trigger the dollars to sell.
    public var amount: Int64
    /// Cents; nil while the trigger waits for SET_*_TRIGGER.
    public var triggerPrice: Int64?
    /// Shares a sell trigger holds.
    public var reservedShares: Int64
    /// The command that last set it (SET_*_AMOUNT, then SET_*_TRIGGER).
    public var transactionNum: Int64

    public init(side: Side, symbol: String, amount: Int64, triggerPrice: Int64?, reservedShares: Int64, transactionNum: Int64) {
        self.side = side
        self.symbol = symbol
        self.amount = amount
        self.triggerPrice = triggerPrice
        self.reservedShares = reservedShares
        self.transactionNum = transactionNum
    }

    public var key: TriggerKey { TriggerKey(side: side, symbol: symbol) }
}

/// Why a ledger row moved balances (docs/ARCHITECTURE.md lists each kind's deltas).
public enum LedgerKind: String, Hashable, Sendable, CaseIterable {
    case add
    case buyReserve = "buy_reserve", buyCommit = "buy_commit", buyCancel = "buy_cancel", buyExpired = "buy_expired"
    case sellReserve = "sell_reserve", sellCommit = "sell_commit", sellCancel = "sell_cancel", sellExpired = "sell_expired"
    case buyTriggerReserve = "buy_trigger_reserve", buyTriggerRelease = "buy_trigger_release", buyTriggerCancel = "buy_trigger_cancel"
    case sellTriggerReserve = "sell_trigger_reserve", sellTriggerRelease = "sell_trigger_release", sellTriggerCancel = "sell_trigger_cancel"
    case buyTriggerFill = "buy_trigger_fill", sellTriggerFill = "sell_trigger_fill"
}

/// One ledger row: signed changes of the four balances, under the command that caused them.
public struct LedgerRow: Hashable, Sendable {
    public var kind: LedgerKind
    public var symbol: String?
    public var cash: Int64
    public var reservedCash: Int64
    public var shares: Int64
    public var reservedShares: Int64
    public var transactionNum: Int64
    /// When it was written; absent in a record's result, whose rows all have the record's time.
    public var at: Int64?

    public init(kind: LedgerKind, symbol: String?, cash: Int64 = 0, reservedCash: Int64 = 0, shares: Int64 = 0, reservedShares: Int64 = 0, transactionNum: Int64, at: Int64? = nil) {
        self.kind = kind
        self.symbol = symbol
        self.cash = cash
        self.reservedCash = reservedCash
        self.shares = shares
        self.reservedShares = reservedShares
        self.transactionNum = transactionNum
        self.at = at
    }
}
