/// The sixteen commands of the day-trading system.
public enum CommandName: String, Sendable, CaseIterable, Codable {
    case add = "ADD"
    case quote = "QUOTE"
    case buy = "BUY"
    case commitBuy = "COMMIT_BUY"
    case cancelBuy = "CANCEL_BUY"
    case sell = "SELL"
    case commitSell = "COMMIT_SELL"
    case cancelSell = "CANCEL_SELL"
    case setBuyAmount = "SET_BUY_AMOUNT"
    case cancelSetBuy = "CANCEL_SET_BUY"
    case setBuyTrigger = "SET_BUY_TRIGGER"
    case setSellAmount = "SET_SELL_AMOUNT"
    case setSellTrigger = "SET_SELL_TRIGGER"
    case cancelSetSell = "CANCEL_SET_SELL"
    case dumplog = "DUMPLOG"
    case displaySummary = "DISPLAY_SUMMARY"

    /// The command's HTTP route: `/api/` and the name in lower case with `-` for `_`
    /// (`/api/add`, `/api/commit-buy`, `/api/display-summary`, ...).
    public var httpPath: String {
        "/api/" + String(rawValue.lowercased().map { $0 == "_" ? "-" : $0 })
    }

    /// The fields a command takes, in the order the workload files write them.
    public var fields: [CommandField] {
        switch self {
        case .add: [.user, .amount]
        case .quote: [.user, .symbol]
        case .buy, .sell, .setBuyAmount, .setBuyTrigger, .setSellAmount, .setSellTrigger: [.user, .symbol, .amount]
        case .commitBuy, .cancelBuy, .commitSell, .cancelSell, .displaySummary: [.user]
        case .cancelSetBuy, .cancelSetSell: [.user, .symbol]
        case .dumplog: [.user, .filename]  // the user is optional: the admin form has only a file name
        }
    }
}

public enum CommandField: String, Sendable {
    case user, symbol, amount, filename
}

/// A command as a client sent it: the name and the raw text of each field, not yet validated.
///
/// Kept separate from ``Command`` so that a rejected request can still be recorded with
/// everything the client sent.
public struct CommandRequest: Hashable, Sendable {
    public var name: String
    public var user: String?
    public var symbol: String?
    public var amount: String?
    public var filename: String?

    public init(name: String, user: String? = nil, symbol: String? = nil, amount: String? = nil, filename: String? = nil) {
        self.name = name
        self.user = user
        self.symbol = symbol
        self.amount = amount
        self.filename = filename
    }

    public subscript(field: CommandField) -> String? {
        switch field {
        case .user: user
        case .symbol: symbol
        case .amount: amount
        case .filename: filename
        }
    }

    /// What must match when an idempotency key is used again: the same key for another request
    /// (another field, another transactionNum) is refused. Each field is written with its length,
    /// so no two different requests share a fingerprint, and stored as ``StoredText`` holds it.
    public func fingerprint(transactionNum: Int64?) -> String {
        [name, user, symbol, amount, filename, transactionNum.map(String.init)]
            .map { field in field.map { "\($0.utf8.count):\(StoredText.escaped($0))" } ?? "-" }.joined(separator: "|")
    }
}

/// Limits an operator can configure.
public struct CommandLimits: Hashable, Sendable {
    /// The largest amount one command may name.
    public var maximumAmount: Money

    public init(maximumAmount: Money = Money(cents: 1_000_000_000_00)) {
        self.maximumAmount = maximumAmount
    }
}

/// A validated command: every field is present and well formed.
public enum Command: Hashable, Sendable {
    case add(UserID, amount: Money)
    case quote(UserID, StockSymbol)
    case buy(UserID, StockSymbol, amount: Money)
    case commitBuy(UserID)
    case cancelBuy(UserID)
    case sell(UserID, StockSymbol, amount: Money)
    case commitSell(UserID)
    case cancelSell(UserID)
    case setBuyAmount(UserID, StockSymbol, amount: Money)
    case cancelSetBuy(UserID, StockSymbol)
    case setBuyTrigger(UserID, StockSymbol, price: Money)
    case setSellAmount(UserID, StockSymbol, amount: Money)
    case setSellTrigger(UserID, StockSymbol, price: Money)
    case cancelSetSell(UserID, StockSymbol)
    case dumplog(UserID?, DumpFileName)
    case displaySummary(UserID)

    /// Validates a raw request, field by field, with a message that names the first problem.
    public init(validating request: CommandRequest, limits: CommandLimits = CommandLimits()) throws(Rejection) {
        guard let name = CommandName(rawValue: request.name) else {
            throw Rejection(.malformedCommand, "unknown command \(quoted(request.name))")
        }
        func required(_ field: CommandField) throws(Rejection) -> String {
            guard let value = request[field], !value.isEmpty else {
                throw Rejection(.malformedCommand, "\(name.rawValue) has no \(field.rawValue)")
            }
            return value
        }
        func user() throws(Rejection) -> UserID { try UserID(validating: required(.user)) }
        func symbol() throws(Rejection) -> StockSymbol { try StockSymbol(validating: required(.symbol)) }
        func amount() throws(Rejection) -> Money { try Self.amount(required(.amount), limits: limits) }

        for field in [CommandField.user, .symbol, .amount, .filename] where request[field] != nil && !name.fields.contains(field) {
            throw Rejection(.malformedCommand, "\(name.rawValue) takes no \(field.rawValue)")
        }
        switch name {
        case .add: self = try .add(user(), amount: amount())
        case .quote: self = try .quote(user(), symbol())
        case .buy: self = try .buy(user(), symbol(), amount: amount())
        case .commitBuy: self = try .commitBuy(user())
        case .cancelBuy: self = try .cancelBuy(user())
        case .sell: self = try .sell(user(), symbol(), amount: amount())
        case .commitSell: self = try .commitSell(user())
        case .cancelSell: self = try .cancelSell(user())
        case .setBuyAmount: self = try .setBuyAmount(user(), symbol(), amount: amount())
        case .cancelSetBuy: self = try .cancelSetBuy(user(), symbol())
        case .setBuyTrigger: self = try .setBuyTrigger(user(), symbol(), price: amount())
        case .setSellAmount: self = try .setSellAmount(user(), symbol(), amount: amount())
        case .setSellTrigger: self = try .setSellTrigger(user(), symbol(), price: amount())
        case .cancelSetSell: self = try .cancelSetSell(user(), symbol())
        case .dumplog:
            let dumpUser: UserID? = if let text = request.user { try UserID(validating: text) } else { nil }
            self = try .dumplog(dumpUser, DumpFileName(reducing: required(.filename)))
        case .displaySummary: self = try .displaySummary(user())
        }
    }

    /// A positive amount of at most `limits.maximumAmount`.
    static func amount(_ text: String, limits: CommandLimits) throws(Rejection) -> Money {
        let money: Money
        do {
            money = try Money(parsing: text)
        } catch .outOfRange {
            throw Rejection(.amountTooLarge, "amount \(quoted(text)) exceeds the maximum of \(limits.maximumAmount)")
        } catch {
            throw Rejection(.invalidAmount, "amount \(quoted(text)): \(error)")
        }
        guard money > .zero else { throw Rejection(.invalidAmount, "amount \(quoted(text)) must be greater than zero") }
        guard money <= limits.maximumAmount else {
            throw Rejection(.amountTooLarge, "amount \(quoted(text)) exceeds the maximum of \(limits.maximumAmount)")
        }
        return money
    }

    public var name: CommandName {
        switch self {
        case .add: .add
        case .quote: .quote
        case .buy: .buy
        case .commitBuy: .commitBuy
        case .cancelBuy: .cancelBuy
        case .sell: .sell
        case .commitSell: .commitSell
        case .cancelSell: .cancelSell
        case .setBuyAmount: .setBuyAmount
        case .cancelSetBuy: .cancelSetBuy
        case .setBuyTrigger: .setBuyTrigger
        case .setSellAmount: .setSellAmount
        case .setSellTrigger: .setSellTrigger
        case .cancelSetSell: .cancelSetSell
        case .dumplog: .dumplog
        case .displaySummary: .displaySummary
        }
    }

    /// The account the command acts on; `nil` only for the administrator's DUMPLOG.
    public var user: UserID? {
        switch self {
        case .add(let user, _), .quote(let user, _), .buy(let user, _, _), .commitBuy(let user),
            .cancelBuy(let user), .sell(let user, _, _), .commitSell(let user), .cancelSell(let user),
            .setBuyAmount(let user, _, _), .cancelSetBuy(let user, _), .setBuyTrigger(let user, _, _),
            .setSellAmount(let user, _, _), .setSellTrigger(let user, _, _), .cancelSetSell(let user, _),
            .displaySummary(let user):
            user
        case .dumplog(let user, _):
            user
        }
    }
}
