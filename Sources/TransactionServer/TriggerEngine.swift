import DayTraderCore
import Logging
import ServiceLifecycle
import TradingStore

/// Fires every trigger that holds at given prices, each in its own transaction: for the engine's
/// rounds, and for the commands that bring a new price (a quote server hit) or a new trigger.
public struct TriggerFirer: Sendable {
    let store: TradingStore
    let accounts: AccountCache
    let logger: Logger
    /// Firings in flight at once: few enough to leave the Postgres pool to the commands.
    static let concurrency = 8

    public init(store: TradingStore, accounts: AccountCache, logger: Logger) {
        self.store = store
        self.accounts = accounts
        self.logger = logger
    }

    /// Returns once every trigger that held has fired, or was found busy (a command or another
    /// instance held its account; the next round tries again).
    func fireTriggers(at prices: [StockSymbol: Money]) async {
        guard !prices.isEmpty else { return }
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

/// Fires SET_BUY / SET_SELL triggers when the price crosses, with no other traffic needed.
///
/// Every `intervalMillis` it lists the stocks with active triggers, takes each one's current
/// price from the `QuoteService` (the shared cache, so a stock costs at most one hit per quote
/// lifetime however many instances run this), and fires every trigger that holds at that price.
/// (A command that fetches a new price or sets a trigger fires what holds itself, before its
/// reply: see `CommandService`.) Every instance runs an engine; `TradingStore.fireTrigger`
/// makes each trigger fire once.
struct TriggerEngine: Service {
    let store: TradingStore
    let quotes: QuoteService
    let firer: TriggerFirer
    let intervalMillis: Int
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(pausingMillis: intervalMillis) {
            do {
                let stocks = try await store.watchedStocks()
                let prices = await stocks.concurrentMap(maxConcurrent: TriggerFirer.concurrency) { stock in
                    (stock.symbol, await price(of: stock))
                }
                await firer.fireTriggers(at: Dictionary(uniqueKeysWithValues: prices.compactMap { symbol, price in price.map { (symbol, $0) } }))
            } catch {
                logger.warning("trigger round failed; will retry", metadata: ["error": "\(error)"])
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
