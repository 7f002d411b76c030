import DayTraderCore

/// The JSON body of a command request, as the transaction server and the audit server read it
/// (docs/API.md, "Request body"). Fields left `nil` are not sent.
public struct CommandBody: Hashable, Sendable {
    public var user: String?
    public var symbol: String?
    /// Dollars as text ("12.34"); also the trigger price of SET_BUY_TRIGGER and SET_SELL_TRIGGER.
    public var amount: String?
    public var filename: String?
    public var transactionNum: Int?
    public var idempotencyKey: String?

    public init(
        user: String? = nil,
        symbol: String? = nil,
        amount: String? = nil,
        filename: String? = nil,
        transactionNum: Int? = nil,
        idempotencyKey: String? = nil
    ) {
        self.user = user
        self.symbol = symbol
        self.amount = amount
        self.filename = filename
        self.transactionNum = transactionNum
        self.idempotencyKey = idempotencyKey
    }

    /// The body as compact JSON with sorted keys.
    public func json() -> [UInt8] {
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.field("amount", amount)
        json.field("filename", filename)
        json.field("idempotencyKey", idempotencyKey)
        json.field("symbol", symbol)
        json.field("transactionNum", transactionNum.map(Int64.init))
        json.field("user", user)
        json.endObject()
        return json.bytes
    }
}

/// One workload line as an HTTP request: `POST <path>` with ``body``.
///
/// The line number is the command's `transactionNum`, and `<runID>-<lineNumber>` its
/// idempotency key, so that a retried line is applied once.
public struct WorkloadRequest: Hashable, Sendable {
    public let lineNumber: Int
    public let command: CommandName
    /// The route, e.g. `/api/commit-buy` (``CommandName/httpPath``).
    public var path: String { command.httpPath }
    public let body: CommandBody

    /// The request for `line`; `nil` when its name is not a command, which
    /// `WorkloadLine(parsing:)` never yields.
    public init?(line: WorkloadLine, runID: String) {
        guard let command = CommandName(rawValue: line.request.name) else { return nil }
        self.lineNumber = line.lineNumber
        self.command = command
        self.body = CommandBody(
            user: line.request.user,
            symbol: line.request.symbol,
            amount: line.request.amount,
            filename: line.request.filename,
            transactionNum: line.lineNumber,
            idempotencyKey: "\(runID)-\(line.lineNumber)"
        )
    }

    /// A request that is not a workload line (the summaries after a run).
    init(command: CommandName, body: CommandBody) {
        self.lineNumber = body.transactionNum ?? 0
        self.command = command
        self.body = body
    }
}
