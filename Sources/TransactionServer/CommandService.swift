import DayTraderCore
import Logging
import TradingStore

/// Runs one command end to end: validation, the quote (outside any lock), the Postgres
/// transaction, and the write-through of the account cache.
public struct CommandService: Sendable {
    let store: TradingStore
    let quotes: QuoteService
    let accounts: AccountCache
    let limits: CommandLimits
    /// Fires the triggers a command's new price or new trigger makes hold.
    let triggers: TriggerFirer

    public init(store: TradingStore, quotes: QuoteService, accounts: AccountCache, limits: CommandLimits, triggers: TriggerFirer) {
        self.store = store
        self.quotes = quotes
        self.accounts = accounts
        self.limits = limits
        self.triggers = triggers
    }

    /// The answer to a command: a reply, or for DISPLAY_SUMMARY the summary document.
    public enum Outcome: Sendable {
        case reply(CommandReply)
        case summary(String)
    }

    public func handle(_ request: CommandRequest, transactionNum: Int64?, idempotencyKey: String?) async throws -> Outcome {
        let command = Result { () throws(Rejection) in try Command(validating: request, limits: limits) }
        if case .success(.displaySummary(let user)) = command {
            return try await summary(user, request: request, transactionNum: transactionNum, idempotencyKey: idempotencyKey)
        }
        var submission = TradingStore.Submission(request: request, command: command, transactionNum: transactionNum, idempotencyKey: idempotencyKey)
        if case .success(let valid) = command, let (symbol, user) = Self.pricedSymbol(valid) {
            // A retry must not cost a quote: look for its first reply before fetching one. Other
            // commands need no early look, the transaction checks the key anyway.
            do {
                if let previous = try await store.previousReply(to: submission) {
                    return .reply(previous)
                }
            } catch let rejection as Rejection {
                return .reply(try await refuse(request, rejection, transactionNum: transactionNum))
            }
            let quote = await quotes.quote(symbol, for: user)
            // Not recorded under the idempotency key: the same request may succeed later. Each
            // attempt is logged, as the auditor should see every answer the system gave.
            if case .failure(let rejection) = quote {
                return .reply(try await refuse(request, rejection, transactionNum: transactionNum))
            }
            submission.quote = quote
        }
        guard case .success(let valid) = command, let user = valid.user else {
            return .reply(try await store.execute(submission).reply)
        }
        await accounts.beginWrite(user)
        let execution: TradingStore.Execution
        do {
            execution = try await store.execute(submission)
        } catch {
            await accounts.endWrite(user, snapshot: nil)
            throw error
        }
        await accounts.endWrite(user, snapshot: execution.snapshot)
        await fireTriggers(madeToHoldBy: valid, submission.quote, reply: execution.reply)
        return .reply(execution.reply)
    }

    /// Before the reply, fires what the command made hold: the stock's triggers on a price the
    /// command fetched from the quote server, or a trigger just set whose stock's current quote
    /// already satisfies it. So a command's effects on triggers are done when it is answered,
    /// and only a quote's expiry (the engine's rounds) fires triggers later.
    private func fireTriggers(madeToHoldBy command: Command, _ quote: Result<QuoteInfo, Rejection>?, reply: CommandReply) async {
        switch command {
        case .quote(_, let symbol), .buy(_, let symbol, _), .sell(_, let symbol, _):
            if case .success(let fetched)? = quote, !fetched.cached {
                await triggers.fireTriggers(at: [symbol: fetched.price])
            }
        case .setBuyTrigger(_, let symbol, _), .setSellTrigger(_, let symbol, _):
            if reply.error == nil, let price = await quotes.currentPrice(of: symbol) {
                await triggers.fireTriggers(at: [symbol: price])
            }
        default:
            break
        }
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

    /// A request refused before its transaction could run, logged on its own.
    private func refuse(_ request: CommandRequest, _ rejection: Rejection, transactionNum: Int64?) async throws -> CommandReply {
        let assigned = try await store.logAnswered(request, transactionNum: transactionNum, rejection: rejection)
        return .rejected(rejection, transactionNum: assigned, request: request)
    }

    /// DISPLAY_SUMMARY: from the account cache, else from Postgres (filling the cache). It
    /// changes nothing, but is logged like every command; a retry with the same key is not.
    private func summary(_ user: UserID, request: CommandRequest, transactionNum: Int64?, idempotencyKey: String?) async throws -> Outcome {
        var summary = await accounts.summary(for: user)
        if summary == nil, let snapshot = try await store.summary(for: user) {
            await accounts.fill(user, with: snapshot)
            summary = snapshot.json
        }
        guard let summary else {
            let rejection = Rejection(.unknownAccount, "user \(user) has no account; ADD funds first")
            let assigned = try await store.logAnswered(request, transactionNum: transactionNum, rejection: rejection, claiming: idempotencyKey)
            return .reply(.rejected(rejection, transactionNum: assigned, request: request))
        }
        _ = try await store.logAnswered(request, transactionNum: transactionNum, rejection: nil, claiming: idempotencyKey)
        return .summary(summary)
    }
}
