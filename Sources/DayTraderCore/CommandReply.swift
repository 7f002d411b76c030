/// What the system answers to one command: the JSON body of the HTTP response, and the record
/// an idempotent retry gets back. Money is written as two-decimal strings ("123.45").
public struct CommandReply: Hashable, Sendable {
    /// The command's transactionNum. Every reply a server sends has one (each command is
    /// numbered in its database call); it is optional because records that are not commands
    /// (firings, expiries) carry none of their own.
    public var transactionNum: Int64?
    public var command: String
    public var user: String?
    /// Present exactly when the command was rejected.
    public var error: ErrorBody?
    public var symbol: String?
    public var cash: Money?
    public var reservedCash: Money?
    public var shares: Int64?
    public var reservedShares: Int64?
    public var price: Money?
    public var amount: Money?
    public var triggerPrice: Money?
    public var expiresAt: Int64?
    public var quote: QuoteInfo?

    public init(transactionNum: Int64?, command: String, user: String?) {
        self.transactionNum = transactionNum
        self.command = command
        self.user = user
    }

    public struct ErrorBody: Hashable, Sendable {
        public var code: String
        public var message: String
    }

    /// The reply as the JSON body of the HTTP response, keys in alphabetical order. Money as
    /// two-decimal strings; fields the reply does not have are left out.
    public var json: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("amount", amount)
        json.field("cash", cash)
        json.field("command", command)
        if let error {
            json.key("error")
            json.beginObject()
            json.field("code", error.code)
            json.field("message", error.message)
            json.endObject()
        }
        json.field("expiresAt", expiresAt)
        json.field("price", price)
        if let quote {
            json.key("quote")
            quote.write(to: &json)
        }
        json.field("reservedCash", reservedCash)
        json.field("reservedShares", reservedShares)
        json.field("shares", shares)
        json.field("symbol", symbol)
        json.field("transactionNum", transactionNum)
        json.field("triggerPrice", triggerPrice)
        json.field("user", user)
        json.endObject()
        return json.bytes
    }

    public static func rejected(_ rejection: Rejection, transactionNum: Int64?, request: CommandRequest) -> CommandReply {
        // Only a well-formed user id is echoed: the reply never repeats arbitrary input.
        let user = request.user.flatMap { try? UserID(validating: $0) }?.rawValue
        let name = CommandName(rawValue: request.name)?.rawValue ?? "UNKNOWN"
        var reply = CommandReply(transactionNum: transactionNum, command: name, user: user)
        reply.error = ErrorBody(code: rejection.code.rawValue, message: rejection.message)
        return reply
    }
}

/// A price from the quote server, as the system used it.
public struct QuoteInfo: Hashable, Sendable {
    public var symbol: String
    public var price: Money
    /// The quote server's own timestamp, Unix ms, verbatim.
    public var quoteServerTime: Int64
    public var cryptokey: String
    /// The user id as the quote server's reply named it, verbatim (for the audit log).
    public var user: String?
    /// Whether the price came from the shared 60 s cache rather than a new quote server hit.
    public var cached: Bool
    /// When the price stops being usable, Unix ms (``TradingRules/isLive(until:at:)``): a
    /// lifetime after the request that fetched it was sent.
    public var expiresAt: Int64

    public init(symbol: String, price: Money, quoteServerTime: Int64, cryptokey: String, user: String? = nil, cached: Bool, expiresAt: Int64) {
        self.symbol = symbol
        self.user = user
        self.price = price
        self.quoteServerTime = quoteServerTime
        self.cryptokey = cryptokey
        self.cached = cached
        self.expiresAt = expiresAt
    }

    /// The quote as a JSON object, keys in alphabetical order (as `init(json:)` reads it back).
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("cached")
        json.bool(cached)
        json.field("cryptokey", cryptokey)
        json.field("expiresAt", expiresAt)
        json.field("price", price)
        json.field("quoteServerTime", quoteServerTime)
        json.field("symbol", symbol)
        json.field("user", user)
        json.endObject()
    }

    /// Whether the price may be used by something the log will time at `now`.
    public func isLive(at now: Timestamp) -> Bool {
        TradingRules.isLive(until: Timestamp(unixMillis: expiresAt), at: now)
    }
}
