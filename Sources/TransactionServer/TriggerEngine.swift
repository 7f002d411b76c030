import DayTraderCore
import Foundation
import Logging
import ServiceLifecycle
import TradingStore

/// Fires triggers, each in its own transaction: for the engine's rounds, and for the commands
/// that bring a new price (a quote server hit) or a new trigger.
///
/// Whether a trigger holds, and what it buys or sells, is `TradingRules`' to say; the database
/// fires it only if its account is free and the trigger is still the one that was read.
public struct TriggerFirer: Sendable {
    let store: TradingStore
    let accounts: AccountCache
    let clock: any TradingClock
    let serverName: String
    let logger: Logger
    /// Firings in flight at once: few enough to leave the Postgres pool to the commands.
    static let concurrency = 8

    public init(store: TradingStore, accounts: AccountCache, clock: any TradingClock, serverName: String, logger: Logger) {
        self.store = store
        self.accounts = accounts
        self.clock = clock
        self.serverName = serverName
        self.logger = logger
    }

    /// Returns once every active trigger on these stocks that holds at their quotes has fired,
    /// or was found busy (a command or another instance held its account; the next round tries again).
    func fireTriggers(at quotes: [StockSymbol: QuoteInfo]) async {
        guard !quotes.isEmpty else { return }
        let active: [TradingStore.ActiveTrigger]
        do {
            active = try await store.activeTriggers(on: Array(quotes.keys))
        } catch {
            logger.warning("could not look for triggers to fire; will retry", metadata: ["error": "\(error)"])
            return
        }
        let holding = active.compactMap { trigger -> (TradingStore.ActiveTrigger, QuoteInfo)? in
            guard let symbol = try? StockSymbol(validating: trigger.trigger.symbol), let quote = quotes[symbol] else { return nil }
            return (trigger, quote)
        }
        _ = await holding.concurrentMap(maxConcurrent: Self.concurrency) { trigger, quote in
            await fire(trigger, at: quote)
        }
    }

    /// Fires one trigger at `quote`, if the quote is live at the firing's time and the trigger
    /// holds at its price.
    func fire(_ active: TradingStore.ActiveTrigger, at quote: QuoteInfo) async {
        let now = clock.now()
        // A price may be used only while its quote is live at the moment the log says it was used.
        guard quote.isLive(at: now) else { return }
        let fill: TradingRules.TriggerFill
        do {
            guard let holds = try TradingRules.fill(of: active.trigger, at: quote.price) else { return }
            fill = holds
        } catch {
            logger.error("trigger cannot fire", metadata: ["user": "\(active.user)", "symbol": "\(active.trigger.symbol)", "error": "\(error)"])
            return
        }
        var head = RecordHead(id: RecordID.next(), kind: .firing, server: serverName, at: now.unixMillis)
        head.user = active.user.rawValue
        head.side = active.trigger.side
        head.symbol = active.trigger.symbol
        head.transactionNum = active.trigger.transactionNum
        head.funds = fill.funds.cents
        // The price it fired at, live at the firing's time (kept with the record, not logged:
        // the schema's systemEvent has one amount, the money that moved).
        head.quote = quote
        do {
            let record = try await store.fire(active, fill: fill, head: head)
            guard record.result.isOK else { return }
            await accounts.apply(record, user: active.user)
            logger.info("trigger fired", metadata: [
                "user": "\(active.user)", "side": "\(active.trigger.side.rawValue)", "symbol": "\(active.trigger.symbol)", "price": "\(quote.price)",
            ])
        } catch {
            logger.warning("trigger could not fire; will retry", metadata: ["user": "\(active.user)", "symbol": "\(active.trigger.symbol)", "error": "\(error)"])
        }
    }
}

/// Fires SET_BUY / SET_SELL triggers when the price crosses, with no other traffic needed.
///
/// Every `intervalMillis` it lists the stocks with active triggers, takes each one's current
/// quote from the `QuoteService` (the shared cache, so a stock costs at most one hit per quote
/// lifetime however many instances run this), and fires every trigger that holds at that price.
/// (A command that fetches a new price or sets a trigger fires what holds itself, before its
/// reply: see `CommandService`.) Every instance runs an engine; the store fires each trigger once.
struct TriggerEngine: Service {
    let store: TradingStore
    let quotes: QuoteService
    let firer: TriggerFirer
    let clock: any TradingClock
    let serverName: String
    let intervalMillis: Int
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(pausingMillis: intervalMillis) {
            do {
                let stocks = try await store.watchedStocks()
                let quoted = await stocks.concurrentMap(maxConcurrent: TriggerFirer.concurrency) { stock in
                    (stock.symbol, await quote(of: stock))
                }
                await firer.fireTriggers(at: Dictionary(uniqueKeysWithValues: quoted.compactMap { symbol, quote in quote.map { (symbol, $0) } }))
            } catch {
                logger.warning("trigger round failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The stock's current quote; a real hit made here is logged as the system's own.
    /// The hit is logged at the time it was asked for: the quote's lifetime counts from a moment
    /// no earlier than that, so the log never shows a hit after its quote ran out, however slow
    /// the fetch was.
    private func quote(of stock: TradingStore.WatchedStock) async -> QuoteInfo? {
        let askedAt = clock.now()
        switch await quotes.quote(stock.symbol, for: stock.user) {
        case .success(let quote):
            if !quote.cached {
                var head = RecordHead(id: RecordID.next(), kind: .quoteHit, server: serverName, at: askedAt.unixMillis)
                head.user = stock.user.rawValue
                head.transactionNum = stock.transactionNum
                head.quote = quote
                do {
                    try await store.log(head)
                } catch {
                    logger.warning("could not log the trigger engine's quote hit", metadata: ["symbol": "\(stock.symbol)", "error": "\(error)"])
                }
            }
            return quote
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
