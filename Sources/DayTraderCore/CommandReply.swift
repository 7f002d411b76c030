/// What the system answers to one command: the JSON body of the HTTP response, and the record
/// an idempotent retry gets back. Money is written as two-decimal strings ("123.45").
public struct CommandReply: Codable, Hashable, Sendable {
    /// The command's transactionNum; absent only when the request was refused before a
    /// transaction (and so a number) was given to it.
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

    public struct ErrorBody: Codable, Hashable, Sendable {
        public var code: String
        public var message: String
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
public struct QuoteInfo: Codable, Hashable, Sendable {
    public var symbol: String
    public var price: Money
    /// The quote server's own timestamp, Unix ms, verbatim.
    public var quoteServerTime: Int64
    public var cryptokey: String
    /// The user id as the quote server's reply named it, verbatim (for the audit log).
    public var user: String?
    /// Whether the price came from the shared 60 s cache rather than a new quote server hit.
    public var cached: Bool

    public init(symbol: String, price: Money, quoteServerTime: Int64, cryptokey: String, user: String? = nil, cached: Bool) {
        self.symbol = symbol
        self.user = user
        self.price = price
        self.quoteServerTime = quoteServerTime
        self.cryptokey = cryptokey
        self.cached = cached
    }
}
