import DayTraderCore
import Foundation
import LegacyQuote
import Logging
import RedisClient

/// Quotes for the whole system, through a cache shared by every instance.
///
/// Every hit on the legacy server is charged, so a quote is reused by anyone for its whole
/// lifetime (60 s) and concurrent misses for one symbol make one hit: within an instance
/// callers join one fetch, and across instances a Redis lock (`SET NX PX`) elects the one that
/// fetches while the others wait for its result. When Redis is unreachable each instance falls
/// back to its own cache, so trading goes on at the cost of some extra hits.
public actor QuoteService {
    /// A quote and how long anyone may use it.
    struct CachedQuote: Codable, Sendable {
        var price: Money
        var quoteServerTime: Int64
        var cryptokey: String
        /// The user the quote server's reply named.
        var user: String?
        var expiresAt: Int64
    }

    private let fetcher: any QuoteFetching
    private let redis: any RedisCommanding
    private let clock: any TradingClock
    private let lifetimeMillis: Int64
    private let keyPrefix: String
    /// The longest one fetch from the legacy server may take, retries included.
    private let fetchBudgetMillis: Int64
    private let logger: Logger
    private var local: [StockSymbol: CachedQuote] = [:]
    private var inFlight: [StockSymbol: Task<Fetched, any Error>] = [:]

    /// A quote and whether getting it cost a hit on the legacy server.
    typealias Fetched = (quote: CachedQuote, hit: Bool)

    /// - Parameter keyPrefix: namespaces the Redis keys, so systems can share one Redis.
    public init(
        fetcher: any QuoteFetching, redis: any RedisCommanding, clock: any TradingClock,
        lifetimeMillis: Int64 = TradingRules.lifetimeMillis, fetchBudgetMillis: Int64, keyPrefix: String, logger: Logger
    ) {
        self.keyPrefix = keyPrefix
        self.fetchBudgetMillis = fetchBudgetMillis
        self.fetcher = fetcher
        self.redis = redis
        self.clock = clock
        self.lifetimeMillis = lifetimeMillis
        self.logger = logger
    }

    /// The current price of `symbol`; `cached` is false only for the caller whose request
    /// caused a real hit (that caller logs the quote server event).
    ///
    /// The quote is live when it is returned; a caller that uses it at a later moment checks
    /// ``QuoteInfo/isLive(at:)`` at that moment and asks again if it ran out meanwhile.
    public func quote(_ symbol: StockSymbol, for user: UserID) async -> Result<QuoteInfo, Rejection> {
        if let quote = local[symbol], isLive(quote) {
            return .success(info(quote, symbol, cached: true))
        }
        if let running = inFlight[symbol] {
            return await result(of: running, symbol, joined: true)
        }
        let fetch = Task { try await self.sharedQuote(symbol, for: user) }
        inFlight[symbol] = fetch
        let outcome = await result(of: fetch, symbol, joined: false)
        inFlight[symbol] = nil
        return outcome
    }

    /// The quote anyone may use now, from this instance's or the shared cache; never a hit.
    public func cachedQuote(of symbol: StockSymbol) async -> QuoteInfo? {
        if let quote = local[symbol], isLive(quote) {
            return info(quote, symbol, cached: true)
        }
        guard let shared = try? await readShared("\(keyPrefix)quote:\(symbol.rawValue)") else { return nil }
        return info(remember(shared, symbol, hit: false).quote, symbol, cached: true)
    }

    private func isLive(_ quote: CachedQuote) -> Bool {
        TradingRules.isLive(until: Timestamp(unixMillis: quote.expiresAt), at: clock.now())
    }

    /// `joined` callers share another caller's fetch, so for them it is never a hit.
    private func result(of task: Task<Fetched, any Error>, _ symbol: StockSymbol, joined: Bool) async -> Result<QuoteInfo, Rejection> {
        do {
            let fetched = try await task.value
            return .success(info(fetched.quote, symbol, cached: joined || !fetched.hit))
        } catch {
            return .failure(Rejection(.quoteUnavailable, "no quote for \(symbol): \(error)"))
        }
    }

    private func info(_ quote: CachedQuote, _ symbol: StockSymbol, cached: Bool) -> QuoteInfo {
        QuoteInfo(
            symbol: symbol.rawValue, price: quote.price, quoteServerTime: quote.quoteServerTime, cryptokey: quote.cryptokey,
            user: quote.user, cached: cached, expiresAt: quote.expiresAt
        )
    }

    private func sharedQuote(_ symbol: StockSymbol, for user: UserID) async throws -> Fetched {
        let key = "\(keyPrefix)quote:\(symbol.rawValue)"
        let lockKey = "\(keyPrefix)quote-lock:\(symbol.rawValue)"
        let token = UUID().uuidString
        // The lock outlives the slowest fetch (every attempt timing out), so no second
        // instance starts a charged hit while the first is still waiting for its answer.
        let lockMillis = fetchBudgetMillis + 1_000
        let deadline = clock.now().unixMillis + lockMillis
        while true {
            let acquired: Bool
            do {
                if let cached = try await readShared(key) {
                    return remember(cached, symbol, hit: false)
                }
                acquired = try await redis.execute(["SET", lockKey, token, "NX", "PX", String(lockMillis)]).string == "OK"
            } catch {
                logger.warning("quote cache unavailable; using this instance's own cache", metadata: ["error": "\(error)"])
                return remember(try await fetchFromServer(symbol, for: user), symbol, hit: true)
            }
            if acquired {
                // The holder before us may have stored its quote and let go of the lock between
                // our read and our SET: look again, or that quote would be paid for twice.
                if let cached = try? await readShared(key) {
                    _ = try? await redis.execute(["EVAL", Self.releaseLockScript, "1", lockKey, token])
                    return remember(cached, symbol, hit: false)
                }
                let fetched: CachedQuote
                do {
                    fetched = try await fetchFromServer(symbol, for: user)
                } catch {
                    _ = try? await redis.execute(["EVAL", Self.releaseLockScript, "1", lockKey, token])
                    throw error
                }
                let ttl = fetched.expiresAt - clock.now().unixMillis
                var commands = [["EVAL", Self.releaseLockScript, "1", lockKey, token]]
                if ttl > 0, let value = try? JSONEncoder().encode(fetched) {
                    commands.insert(["SET", key, String(decoding: value, as: UTF8.self), "PX", String(ttl)], at: 0)
                }
                // The hit is paid for either way; if Redis fails now the others fetch for themselves.
                _ = try? await redis.pipeline(commands)
                return remember(fetched, symbol, hit: true)
            }
            guard clock.now().unixMillis < deadline else {
                throw QuoteError.timedOut
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private func readShared(_ key: String) async throws(RedisError) -> CachedQuote? {
        guard let text = try await redis.execute(["GET", key]).string else { return nil }
        guard let quote = try? JSONDecoder().decode(CachedQuote.self, from: Data(text.utf8)), isLive(quote) else { return nil }
        return quote
    }

    private func fetchFromServer(_ symbol: StockSymbol, for user: UserID) async throws -> CachedQuote {
        // The lifetime counts from before the request, so no one uses a price past 60 s from its hit.
        let requestedAt = clock.now()
        let quote = try await fetcher.fetch(symbol: symbol, user: user)
        return CachedQuote(
            price: quote.price, quoteServerTime: quote.quoteServerTime, cryptokey: quote.cryptokey, user: quote.user,
            expiresAt: TradingRules.expiry(from: requestedAt, lifetime: lifetimeMillis).unixMillis
        )
    }

    private func remember(_ quote: CachedQuote, _ symbol: StockSymbol, hit: Bool) -> Fetched {
        local[symbol] = quote
        return (quote, hit)
    }

    /// Deletes the lock only if this instance still holds it.
    static let releaseLockScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """
}
