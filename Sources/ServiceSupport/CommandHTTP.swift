import DayTraderCore
import Foundation
import Hummingbird

/// The HTTP form of a command, shared by the transaction servers and the audit server: one
/// JSON body for every command, JSON replies, and one status for each rejection code.
public enum CommandHTTP {
    /// The JSON body of every command route. Money travels as strings ("12.34"), never as
    /// binary floating-point numbers.
    struct Body: Decodable {
        var user: String?
        var symbol: String?
        var amount: String?
        var filename: String?
        var transactionNum: Int64?
        var idempotencyKey: String?
    }

    /// A command as it arrived, checked for shape (not yet for its rules).
    public struct Submitted: Sendable {
        public var request: CommandRequest
        public var transactionNum: Int64?
        public var idempotencyKey: String?
    }

    public static let maximumBodyBytes = 16 * 1024

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The route of a command (``CommandName/httpPath``).
    public static func path(for name: CommandName) -> String {
        name.httpPath
    }

    /// A request's body read: a command, or the 400 response that explains why it is not one.
    public enum Decoded: Sendable {
        case command(Submitted)
        case refused(Response)
    }

    public static func decode(_ name: CommandName, from request: Request) async -> Decoded {
        let body: Body
        do {
            let bytes = try await request.body.collect(upTo: maximumBodyBytes)
            body = try JSONDecoder().decode(Body.self, from: Data(buffer: bytes))
        } catch {
            return .refused(self.error(.badRequest, code: Rejection.Code.malformedCommand.rawValue, message: describe(bodyError: error)))
        }
        if let number = body.transactionNum, number < 1 {
            return .refused(self.error(.badRequest, code: Rejection.Code.malformedCommand.rawValue, message: "transactionNum must be at least 1"))
        }
        let key = body.idempotencyKey ?? request.headers[.init("Idempotency-Key")!]
        if let key, key.isEmpty || key.utf8.count > 200 {
            return .refused(self.error(.badRequest, code: Rejection.Code.malformedCommand.rawValue, message: "idempotencyKey must be 1-200 characters"))
        }
        let commandRequest = CommandRequest(name: name.rawValue, user: body.user, symbol: body.symbol, amount: body.amount, filename: body.filename)
        return .command(Submitted(request: commandRequest, transactionNum: body.transactionNum, idempotencyKey: key))
    }

    /// The reply as JSON, with the status its error code calls for.
    public static func response(for reply: CommandReply) throws -> Response {
        let status = reply.error.map { Self.status(for: $0.code) } ?? .ok
        return json(status, String(decoding: try encoder.encode(reply), as: UTF8.self))
    }

    /// The HTTP status for each rejection code: 400 for a malformed request, 404 for an
    /// unknown account, 409 for a rule the account's state does not allow, 503 for a
    /// dependency that is down (retry later).
    public static func status(for code: String) -> HTTPResponse.Status {
        switch Rejection.Code(rawValue: code) {
        case .malformedCommand, .invalidUserID, .invalidSymbol, .invalidAmount, .amountTooLarge, .invalidFilename:
            .badRequest
        case .idempotencyKeyReused:
            .unprocessableContent
        case .supervisorOnly:
            .forbidden
        case .unknownAccount:
            .notFound
        case .quoteUnavailable, .auditUnavailable:
            .serviceUnavailable
        case .insufficientFunds, .insufficientShares, .amountBelowPrice, .noPendingBuy, .noPendingSell, .noBuyAmount,
            .noSellAmount, .triggerAboveReserve, .noTrigger, .arithmeticOverflow, nil:
            .conflict
        }
    }

    static func describe(bodyError error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "field '\(field)' has the wrong type: amounts and ids are strings, transactionNum is an integer"
        case DecodingError.dataCorrupted:
            return "the body is not valid JSON"
        default:
            return "the body must be a JSON object of at most \(maximumBodyBytes) bytes"
        }
    }

    public static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    public static func error(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        let body = ["error": ["code": code, "message": message]]
        let text = (try? encoder.encode(body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return json(status, text)
    }
}
