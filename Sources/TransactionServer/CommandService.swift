import DayTraderCore
import Logging
import Metrics
import TradingStore

/// Runs one command end to end: validation, the quote (outside any lock), what the rules compute,
/// the one database call (through the batcher), the write-through of the account cache, and the
/// triggers the command made hold.
public struct CommandService: Sendable {
    let store: TradingStore
    let batcher: CommandBatcher
    let quotes: QuoteService
    let accounts: AccountCache
    let limits: CommandLimits
    let clock: any TradingClock
    /// This instance's name, written into every record it makes.
    let serverName: String
    /// Fires the triggers a command's new price or new trigger makes hold.
    let triggers: TriggerFirer

    public init(
        store: TradingStore, batcher: CommandBatcher, quotes: QuoteService, accounts: AccountCache, limits: CommandLimits,
        clock: any TradingClock, serverName: String, triggers: TriggerFirer
    ) {
        self.store = store
        self.batcher = batcher
        self.quotes = quotes
        self.accounts = accounts
        self.limits = limits
        self.clock = clock
        self.serverName = serverName
        self.triggers = triggers
    }

    /// The answer to a command: a reply, or for DISPLAY_SUMMARY the summary document (JSON).
    public enum Outcome: Sendable {
        case reply(CommandReply)
        case summary([UInt8])
    }

    /// - Parameters:
    ///   - transactionNum: the client's number for the command, taken only from callers who may
    ///     number their commands (``Access/mayNumberCommands(_:)``); others get one assigned.
    ///   - idempotencyKey: the client's key, kept under its caller (``Caller/keyOwner(actingFor:)``).
    ///   - caller: who sent it; a command they may not run is refused (403 `forbidden`) and logged.
    public func handle(_ request: CommandRequest, transactionNum clientNumber: Int64?, idempotencyKey clientKey: String?, caller: Caller) async throws -> Outcome {
        let idempotencyKey = clientKey.map(caller.keyOwner(actingFor: request.user).scope)
        let transactionNum = Access.mayNumberCommands(caller) ? clientNumber : nil
        if let name = CommandName(rawValue: request.name), let refusal = Access.refusal(of: name, for: request.user, by: caller) {
            return .reply(try await refuse(request, refusal, transactionNum: transactionNum, idempotencyKey: idempotencyKey))
        }
        let command: Command
        do {
            command = try Command(validating: request, limits: limits)
        } catch {
            return .reply(try await refuse(request, error, transactionNum: transactionNum, idempotencyKey: idempotencyKey))
        }
        if case .displaySummary(let user) = command {
            return try await summary(user, request: request, transactionNum: transactionNum, idempotencyKey: idempotencyKey)
        }
        var quote: QuoteInfo?
        var now = clock.now()
        if let (symbol, user) = Self.pricedSymbol(command) {
            switch await liveQuote(symbol, for: user, retrying: idempotencyKey.map { ($0, request.fingerprint(transactionNum: transactionNum)) }) {
            case .quote(let live, let at):
                // The command happens when its price was seen live: the log times it then.
                quote = live
                now = at
            case .firstReply(let reply):
                return .reply(reply)
            case .refused(let rejection):
                // Kept under the key like any answer (quote_unavailable too): a retry whose first
                // answer was lost on the way gets it, and the line is logged once.
                return .reply(try await refuse(request, rejection, transactionNum: transactionNum, idempotencyKey: idempotencyKey, user: user))
            case .keyReused:
                // The key holds another request's answer: this refusal is logged, not kept.
                return .reply(try await refuse(request, .keyReused, transactionNum: transactionNum, idempotencyKey: idempotencyKey, user: user, keepsOutcome: false))
            }
        }
        var call = makeCall(command, request: request, transactionNum: transactionNum, idempotencyKey: idempotencyKey, quote: quote, now: now)
        do {
            call.plan = try CommandPlan(command, quote: quote, now: now)
        } catch {
            call.refusal = error.code
            call.head.message = error.message
        }
        // The batcher has written the account cache through before it answers.
        let outcome = try await batcher.submit(call)
        guard !outcome.replayed else { return .reply(outcome.record.reply) }
        await fireTriggers(madeToHoldBy: command, outcome.record)
        return .reply(outcome.record.reply)
    }

    /// How a priced command's quote came out.
    enum PricedQuote {
        /// A quote, and a moment at which it was live: the command's time.
        case quote(QuoteInfo, at: Timestamp)
        /// A retry whose first attempt was recorded: its reply, with no quote fetched.
        case firstReply(CommandReply)
        /// Refused: the user has no account, or no live quote could be had.
        case refused(Rejection)
        /// The key was used for another request.
        case keyReused
    }

    /// A quote that is live now. Neither a retry (a request with an idempotency key) nor a
    /// command for a user with no account may cost a charged hit: when no cache holds a live
    /// price, the first attempt's record and the account are looked for before the quote server
    /// is asked (the one case where a command reads apart from its call, and only when a hit
    /// would follow). If that look-up fails, the command goes on; its call checks everything.
    private func liveQuote(_ symbol: StockSymbol, for user: UserID, retrying key: (key: String, fingerprint: String)?) async -> PricedQuote {
        if await quotes.cachedQuote(of: symbol) == nil, let known = try? await store.beforeQuoteHit(user: user, key: key) {
            switch known.stored {
            case .same(let record): return .firstReply(record.reply)
            // Refused as a reused key by the call, with no quote fetched for it.
            case .other: return .keyReused
            case .none where !known.hasAccount: return .refused(.unknownAccount(user.rawValue))
            case .none: break
            }
        }
        // A quote runs out at its expiry, and the command is timed after it arrives: ask again
        // in the rare case it ran out in between.
        for _ in 0..<3 {
            let result = await quotes.quote(symbol, for: user)
            let now = clock.now()
            switch result {
            case .success(let quote) where quote.isLive(at: now):
                return .quote(quote, at: now)
            case .success:
                continue
            case .failure(let rejection):
                return .refused(rejection)
            }
        }
        return .refused(Rejection(.quoteUnavailable, "no live quote for \(symbol)"))
    }

    /// The commands that need the current price.
    static func pricedSymbol(_ command: Command) -> (StockSymbol, UserID)? {
        switch command {
        case .quote(let user, let symbol), .buy(let user, let symbol, _), .sell(let user, let symbol, _):
            (symbol, user)
        default:
            nil
        }
    }

    private func makeCall(
        _ command: Command, request: CommandRequest, transactionNum: Int64?, idempotencyKey: String?, quote: QuoteInfo?, now: Timestamp
    ) -> TradingStore.Call {
        let symbol: StockSymbol? = switch command {
        case .quote(_, let symbol), .buy(_, let symbol, _), .sell(_, let symbol, _), .setBuyAmount(_, let symbol, _),
            .cancelSetBuy(_, let symbol), .setBuyTrigger(_, let symbol, _), .setSellAmount(_, let symbol, _),
            .setSellTrigger(_, let symbol, _), .cancelSetSell(_, let symbol):
            symbol
        default:
            nil
        }
        return TradingStore.Call(
            command: command.name, user: command.user, symbol: symbol, transactionNum: transactionNum, idempotencyKey: idempotencyKey,
            fingerprint: request.fingerprint(transactionNum: transactionNum),
            head: .command(request, id: RecordID.next(), server: serverName, at: now.unixMillis, quote: quote)
        )
    }

    /// A request refused before the database could check anything: the refusal is recorded and
    /// logged in the one call like any other.
    private func refuse(
        _ request: CommandRequest, _ rejection: Rejection, transactionNum: Int64?, idempotencyKey: String?, user: UserID? = nil, keepsOutcome: Bool = true
    ) async throws -> CommandReply {
        let replaced = [request.user, request.symbol, request.amount, request.filename].contains { $0.map(LogText.needsReplacing) ?? false }
        var call = TradingStore.Call(
            // Every route is one of the sixteen commands, so the name always is one.
            command: CommandName(rawValue: request.name) ?? .dumplog, user: user, symbol: nil, transactionNum: transactionNum,
            idempotencyKey: idempotencyKey, fingerprint: request.fingerprint(transactionNum: transactionNum),
            head: .command(request, id: RecordID.next(), server: serverName, at: clock.now().unixMillis,
                           refusal: LogText.safe(rejection.message) + (replaced ? LogText.replacedNote : ""))
        )
        call.refusal = rejection.code
        call.keepsOutcome = keepsOutcome
        return try await batcher.submit(call).record.reply
    }

    /// Before the reply, fires what the command made hold: the stock's triggers at a price the
    /// command fetched from the quote server, or the trigger just set when the stock's current
    /// quote already satisfies it. So a command's effects on triggers are done when it is
    /// answered, and only a quote's expiry (the engine's rounds) fires triggers later.
    private func fireTriggers(madeToHoldBy command: Command, _ record: TransactionRecord) async {
        switch command {
        case .quote(_, let symbol), .buy(_, let symbol, _), .sell(_, let symbol, _):
            if let quote = record.head.quote, !quote.cached {
                await triggers.fireTriggers(at: [symbol: quote])
            }
        case .setBuyTrigger(let user, let symbol, _), .setSellTrigger(let user, let symbol, _):
            if let trigger = record.result.trigger, record.result.isOK, let quote = await quotes.cachedQuote(of: symbol) {
                await triggers.fire(TradingStore.ActiveTrigger(user: user, trigger: trigger), at: quote)
            }
        default:
            break
        }
    }

    /// DISPLAY_SUMMARY: logged in one call that also says whether the cached account is current
    /// (the call sends the whole account when it is not); a retry with the same key is not
    /// logged again, and gets the summary as it is now.
    private func summary(_ user: UserID, request: CommandRequest, transactionNum: Int64?, idempotencyKey: String?) async throws -> Outcome {
        let cached = await accounts.state(of: user)
        let now = clock.now()
        var call = makeCall(.displaySummary(user), request: request, transactionNum: transactionNum, idempotencyKey: idempotencyKey, quote: nil, now: now)
        call.cachedVersion = cached?.version
        let outcome = try await batcher.submit(call)
        guard outcome.record.result.isOK else { return .reply(outcome.record.reply) }
        let current: AccountState
        if let state = outcome.state {
            Self.summaries(cached == nil ? "miss" : "stale").increment()
            await accounts.fill(user, with: state)
            current = state
        } else if let cached {
            Self.summaries("hit").increment()
            current = cached
        } else {
            // The database sends the account whenever the cache had none; not reached.
            throw StoreError.inconsistent("DISPLAY_SUMMARY of \(user) came back with no account")
        }
        return .summary(current.summaryJSON(user: user, now: now))
    }

    /// DISPLAY_SUMMARY served from the account cache (`hit`), or from PostgreSQL because the cache
    /// had nothing (`miss`) or an older version (`stale`).
    static func summaries(_ source: String) -> Counter {
        Counter(label: "daytrader_summaries_total", dimensions: [("source", source)])
    }
}
