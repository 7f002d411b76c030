import DayTraderCore
import Logging
import NIOCore
import NIOPosix

/// Gets quotes from the legacy quote server, one TCP connection per request.
///
/// Each attempt has its own time limit covering connect and reply. An attempt that times out or
/// cannot connect is retried after a short backoff, up to `attempts` in all; a reply that arrives
/// but is malformed or rejected is not, because the server would likely answer the same and each
/// hit is charged.
public struct LegacyQuoteClient: QuoteFetching {
    /// The pause before the second attempt; it doubles before each further one.
    static let firstBackoff: Duration = .milliseconds(50)

    private let exchange: LineExchange
    private let timeout: Duration
    private let attempts: Int
    private let logger: Logger

    public init(
        host: String,
        port: Int,
        timeout: Duration = .seconds(5),
        attempts: Int = 3,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        precondition(attempts >= 1, "at least one attempt is needed to get a quote")
        precondition(timeout > .zero, "a timeout must be positive")
        exchange = LineExchange(host: host, port: port, eventLoopGroup: eventLoopGroup)
        self.timeout = timeout
        self.attempts = attempts
        self.logger = logger
    }

    public func fetch(symbol: StockSymbol, user: UserID) async throws(QuoteError) -> Quote {
        var backoff = Self.firstBackoff
        var attempt = 1
        while true {
            do {
                return try await fetchOnce(symbol: symbol, user: user)
            } catch {
                guard error.isRetryable, attempt < attempts else {
                    logger.warning("quote failed", metadata: [
                        "symbol": "\(symbol)", "user": "\(user)", "attempt": "\(attempt)", "error": "\(error)",
                    ])
                    throw error
                }
                logger.info("quote attempt failed; retrying", metadata: [
                    "symbol": "\(symbol)", "user": "\(user)", "attempt": "\(attempt)", "error": "\(error)",
                ])
            }
            do {
                try await Task.sleep(for: backoff)
            } catch {
                throw .cancelled
            }
            backoff *= 2
            attempt += 1
        }
    }

    private func fetchOnce(symbol: StockSymbol, user: UserID) async throws(QuoteError) -> Quote {
        let line = try await exchange.exchange(QuoteWireFormat.request(symbol: symbol, user: user), timeout: timeout)
        // A user whose id really is "NA" gets "NA" back on success too.
        if QuoteWireFormat.isRejection(line), user.rawValue != QuoteWireFormat.rejectedUserField {
            throw .requestRejected(line)
        }
        let quote = try QuoteWireFormat.parseReply(line, expecting: symbol)
        guard quote.user == user.rawValue else {
            throw .malformedReply("userid '\(quote.user)' does not match the requesting user \(user)")
        }
        return quote
    }
}
