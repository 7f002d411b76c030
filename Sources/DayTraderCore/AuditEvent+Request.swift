/// The userCommand and errorEvent of a request, as every server logs them.
extension AuditEvent {
    /// The parts of a request that are valid on their own. An invalid part is left out of the
    /// log (the schema could not hold it, and the errorEvent's message says what was wrong).
    struct RequestFields {
        var command: CommandName
        var username: String?
        var stockSymbol: String?
        var filename: String?
        var funds: Money?

        init?(_ request: CommandRequest) {
            // A name outside the 16 commands cannot be written in the log's schema at all; the
            // HTTP API never lets one through (each command has its own route).
            guard let command = CommandName(rawValue: request.name) else { return nil }
            self.command = command
            username = request.user.flatMap { try? UserID(validating: $0) }?.rawValue
            stockSymbol = request.symbol.flatMap { try? StockSymbol(validating: $0) }?.rawValue
            filename = request.filename.flatMap { try? DumpFileName(reducing: $0) }?.rawValue
            funds = request.amount.flatMap { try? Money(parsing: $0) }
        }
    }

    /// The userCommand every request leaves, valid or not; `nil` only for a name that is not
    /// one of the 16 commands.
    public static func userCommand(for request: CommandRequest, id: String, timestamp: Int64, server: String, transactionNum: Int64) -> AuditEvent? {
        guard let fields = RequestFields(request) else { return nil }
        return .userCommand(
            id: id, timestamp: timestamp, server: server, transactionNum: transactionNum, command: fields.command,
            username: fields.username, stockSymbol: fields.stockSymbol, filename: fields.filename, funds: fields.funds
        )
    }

    /// The errorEvent of a rejected request: the request's valid fields and why it was refused.
    public static func errorEvent(for request: CommandRequest, rejection: Rejection, id: String, timestamp: Int64, server: String, transactionNum: Int64) -> AuditEvent? {
        guard let fields = RequestFields(request) else { return nil }
        return .errorEvent(
            id: id, timestamp: timestamp, server: server, transactionNum: transactionNum, command: fields.command,
            username: fields.username, stockSymbol: fields.stockSymbol, filename: fields.filename, funds: fields.funds,
            errorMessage: "\(rejection.code.rawValue): \(rejection.message)"
        )
    }
}
