import DayTraderCore
import Logging
import ServiceLifecycle
import TradingStore

/// Prices just fetched from the quote server for a user's command, handed to the trigger
/// engine so that the stock's triggers are checked at once rather than on the next round.
public struct FreshQuotes: Sendable {
    fileprivate let stream: AsyncStream<(StockSymbol, Money)>
    private let continuation: AsyncStream<(StockSymbol, Money)>.Continuation

    public init() {
        // A burst beyond the buffer loses only the early look: the next round sees every stock.
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1_024))
    }

    func announce(_ symbol: StockSymbol, price: Money) {
        continuation.yield((symbol, price))
    }

    fileprivate func finish() {
        continuation.finish()
    }
}

/// Fires SET_BUY / SET_SELL triggers when the price crosses, with no other traffic needed.
///
/// Every `intervalMillis` it lists the stocks with active triggers, takes each one's current
/// price from the `QuoteService` (the shared cache, so a stock costs at most one hit per quote
/// lifetime however many instances run this), and fires every trigger that holds at that price,
/// each in its own transaction. A price a user's command fetched is checked at once as well.
/// Every instance runs an engine; `TradingStore.fireTrigger` makes each trigger fire once.
struct TriggerEngine: Service {
    let store: TradingStore
    let quotes: QuoteService
    let accounts: AccountCache
    let freshQuotes: FreshQuotes
    let intervalMillis: Int
    let logger: Logger
    /// Quote fetches and firings in flight at once: enough to hide the quote server's
    /// latency, few enough to leave the Postgres pool to the commands.
    static let concurrency = 8

    func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await runRounds() }
                group.addTask {
                    for await (symbol, price) in freshQuotes.stream {
                        await fireTriggers(at: [symbol: price])
                    }
                }
            }
        } onGracefulShutdown: {
            freshQuotes.finish()
        }
    }

    private func runRounds() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let stocks = try await store.watchedStocks()
                let prices = await stocks.concurrentMap(maxConcurrent: Self.concurrency) { stock in
                    (stock.symbol, await price(of: stock))
                }
                await fireTriggers(at: Dictionary(uniqueKeysWithValues: prices.compactMap { symbol, price in price.map { (symbol, $0) } }))
            } catch {
                logger.warning("trigger round failed; will retry", metadata: ["error": "\(error)"])
            }
            // Wakes early on shutdown, so stopping never waits out a long interval.
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .milliseconds(intervalMillis))
            }
        }
    }

    /// The stock's current price; a real hit made here is logged as the system's own.
    private func price(of stock: TradingStore.WatchedStock) async -> Money? {
        switch await quotes.quote(stock.symbol, for: stock.user) {
        case .success(let quote):
            if !quote.cached {
                do {
                    try await store.logQuoteHit(quote, for: stock)
                } catch {
                    logger.warning("could not log the trigger engine's quote hit", metadata: ["symbol": "\(stock.symbol)", "error": "\(error)"])
                }
            }
            return quote.price
        case .failure(let rejection):
            logger.warning("no quote for a stock with triggers; will retry", metadata: ["symbol": "\(stock.symbol)", "error": "\(rejection)"])
            return nil
        }
    }

    private func fireTriggers(at prices: [StockSymbol: Money]) async {
        let holding: [TradingStore.TriggerKey]
        do {
            holding = try await store.triggersThatHold(at: prices)
        } catch {
            logger.warning("could not look for triggers to fire; will retry", metadata: ["error": "\(error)"])
            return
        }
        _ = await holding.concurrentMap(maxConcurrent: Self.concurrency) { key in
            await fire(key, at: prices[key.symbol]!)
        }
    }

    private func fire(_ key: TradingStore.TriggerKey, at price: Money) async {
        await accounts.beginWrite(key.user)
        var snapshot: AccountSnapshot?
        do {
            // Busy: a command or another instance holds the account; the next round retries.
            if case .fired(let committed) = try await store.fireTrigger(key, at: price) {
                snapshot = committed
                logger.info("trigger fired", metadata: ["trigger": "\(key)", "price": "\(price)"])
            }
        } catch {
            logger.warning("trigger could not fire; will retry", metadata: ["trigger": "\(key)", "error": "\(error)"])
        }
        await accounts.endWrite(key.user, snapshot: snapshot)
    }
}

extension Sequence where Element: Sendable {
    /// `transform` applied to every element, at most `maxConcurrent` at a time, in any order.
    func concurrentMap<T: Sendable>(maxConcurrent: Int, _ transform: @escaping @Sendable (Element) async -> T) async -> [T] {
        await withTaskGroup(of: T.self) { group in
            var results: [T] = []
            var running = 0
            for element in self {
                if running == maxConcurrent, let result = await group.next() {
                    results.append(result)
                    running -= 1
                }
                group.addTask { await transform(element) }
                running += 1
            }
            for await result in group { results.append(result) }
            return results
        }
    }
}
