import DayTraderCore

/// One price the legacy quote server returned, with every field the audit log must record
/// exactly as the server sent it.
public struct Quote: Hashable, Sendable {
    /// The price of one share; always positive.
    public let price: Money
    public let symbol: StockSymbol
    /// The userid field exactly as the server returned it.
    public let user: String
    /// The server's timestamp in Unix milliseconds, verbatim from the reply.
    public let quoteServerTime: Int64
    /// The server's base64 key, verbatim from the reply; the audit log records it unchanged.
    public let cryptokey: String

    public init(price: Money, symbol: StockSymbol, user: String, quoteServerTime: Int64, cryptokey: String) {
        self.price = price
        self.symbol = symbol
        self.user = user
        self.quoteServerTime = quoteServerTime
        self.cryptokey = cryptokey
    }
}

/// Why a quote could not be had.
public enum QuoteError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No complete reply arrived within one attempt's time limit (connect and reply together).
    case timedOut
    /// The connection could not be made, or broke before a reply arrived.
    case connectionFailed(String)
    /// The server answered something that is not a valid quote for the request.
    case malformedReply(String)
    /// The server answered with `NA` in the userid field: it judged the request invalid.
    case requestRejected(String)
    /// The task that asked for the quote was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .timedOut: "the quote server did not reply in time"
        case .connectionFailed(let reason): "could not talk to the quote server: \(reason)"
        case .malformedReply(let reason): "the quote server sent a malformed reply: \(reason)"
        case .requestRejected(let reply): "the quote server rejected the request: \(reply)"
        case .cancelled: "the quote request was cancelled"
        }
    }

    /// Whether asking again may succeed. A reply that came back but was wrong or rejected is not
    /// retried: the server would most likely answer the same, and every hit is charged.
    var isRetryable: Bool {
        switch self {
        case .timedOut, .connectionFailed: true
        case .malformedReply, .requestRejected, .cancelled: false
        }
    }
}

/// Something that gets a fresh quote for a symbol on behalf of a user.
public protocol QuoteFetching: Sendable {
    /// Asks for the current price of `symbol`; every successful call is one charged hit.
    func fetch(symbol: StockSymbol, user: UserID) async throws(QuoteError) -> Quote
}
