import DayTraderCore
import Foundation
import Hummingbird

/// The HTTP form of a command, shared by the transaction servers and the audit server: one
/// JSON body for every command, JSON replies, and one status for each rejection code.
public enum CommandHTTP {
    /// A command as it arrived, checked for shape (not yet for its rules).
    public struct Submitted: Sendable {
        public var request: CommandRequest
        public var transactionNum: Int64?
        public var idempotencyKey: String?
    }

    public static let maximumBodyBytes = 16 * 1024

    /// The route of a command (``CommandName/httpPath``).
    public static func path(for name: CommandName) -> String {
        name.httpPath
    }

    /// A request's body read: a command, or the 400 response that explains why it is not one.
    public enum Decoded: Sendable {
        case command(Submitted)
        case refused(Response)
    }

    /// Reads a command route's body: one JSON object, money as strings ("12.34", never binary
    /// floating point), `transactionNum` a whole number; other fields are ignored.
    ///
    /// Only `Content-Type: application/json` is read (415 otherwise: a plain HTML form on any site
    /// cannot post a command), and a body over ``maximumBodyBytes`` is refused unread (413).
    public static func decode(_ name: CommandName, from request: Request) async -> Decoded {
        if let notJSON = refusalUnlessJSON(request) {
            return .refused(notJSON)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumBodyBytes {
            return .refused(tooLarge)
        }
        let body: JSONValue
        do {
            let bytes = try await request.body.collect(upTo: maximumBodyBytes)
            body = try JSONValue(parsing: bytes.readableBytesView)
        } catch is JSONParseError {
            return .refused(malformed("the body is not valid JSON"))
        } catch {
            return .refused(tooLarge)
        }
        guard case .object = body else { return .refused(malformed("the body must be a JSON object")) }
        func text(_ key: String) throws(WrongType) -> String? {
            guard let value = body[key], !value.isNull else { return nil }
            guard let text = value.string else { throw WrongType(field: key) }
            return text
        }
        let fields: (user: String?, symbol: String?, amount: String?, filename: String?, key: String?, number: Int64?)
        do {
            let number: Int64? = try {
                guard let value = body["transactionNum"], !value.isNull else { return nil }
                guard let number = value.int else { throw WrongType(field: "transactionNum") }
                return number
            }()
            fields = (try text("user"), try text("symbol"), try text("amount"), try text("filename"), try text("idempotencyKey"), number)
        } catch let error as WrongType {
            return .refused(malformed("field '\(error.field)' has the wrong type: amounts and ids are strings, transactionNum is an integer"))
        } catch {
            return .refused(malformed("the body could not be read"))
        }
        if let number = fields.number, number < 1 {
            return .refused(malformed("transactionNum must be at least 1"))
        }
        let key = fields.key ?? request.headers[.init("Idempotency-Key")!]
        if let key, key.isEmpty || key.utf8.count > 200 {
            return .refused(malformed("idempotencyKey must be 1-200 bytes of UTF-8"))
        }
        let commandRequest = CommandRequest(name: name.rawValue, user: fields.user, symbol: fields.symbol, amount: fields.amount, filename: fields.filename)
        return .command(Submitted(request: commandRequest, transactionNum: fields.number, idempotencyKey: key))
    }

    /// 415 unless the body is declared `application/json` (parameters allowed): what keeps a
    /// plain HTML form on another site from posting to any of the JSON routes.
    public static func refusalUnlessJSON(_ request: Request) -> Response? {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            return error(.unsupportedMediaType, code: Rejection.Code.malformedCommand.rawValue, message: "the body must be JSON: send 'Content-Type: application/json'")
        }
        return nil
    }

    struct WrongType: Error {
        var field: String
    }

    static var tooLarge: Response {
        error(.contentTooLarge, code: Rejection.Code.malformedCommand.rawValue, message: "the body must be a JSON object of at most \(maximumBodyBytes) bytes")
    }

    static func malformed(_ message: String) -> Response {
        error(.badRequest, code: Rejection.Code.malformedCommand.rawValue, message: message)
    }

    /// The reply as JSON, with the status its error code calls for.
    public static func response(for reply: CommandReply) -> Response {
        let status = reply.error.map { Self.status(for: $0.code) } ?? .ok
        return json(status, reply.json)
    }

    /// The HTTP status for each rejection code: 400 for a malformed request, 404 for an
    /// unknown account, 409 for a rule the account's state does not allow, 503 for a
    /// dependency that is down (retry later).
    public static func status(for code: String) -> HTTPResponse.Status {
        switch Rejection.Code(rawValue: code) {
        case .malformedCommand, .invalidUserID, .invalidSymbol, .invalidAmount, .amountTooLarge, .invalidFilename, .weakPassword:
            .badRequest
        case .unauthenticated, .badCredentials:
            .unauthorized
        case .tooManyAttempts:
            .tooManyRequests
        case .idempotencyKeyReused:
            .unprocessableContent
        case .supervisorOnly, .forbidden, .crossSiteRequest:
            .forbidden
        case .unknownAccount:
            .notFound
        case .quoteUnavailable, .auditUnavailable:
            .serviceUnavailable
        case .insufficientFunds, .insufficientShares, .amountBelowPrice, .noPendingBuy, .noPendingSell, .noBuyAmount,
            .noSellAmount, .triggerAboveReserve, .noTrigger, .arithmeticOverflow, .nameTaken, nil:
            .conflict
        }
    }

    public static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    public static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A refusal outside any command (sign-in, a missing session): `{"error":{...}}` with its status.
    public static func error(_ rejection: Rejection) -> Response {
        error(status(for: rejection.code.rawValue), code: rejection.code.rawValue, message: rejection.message)
    }

    public static func error(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.key("error")
        json.beginObject()
        json.field("code", code)
        json.field("message", message)
        json.endObject()
        json.endObject()
        return Self.json(status, json.bytes)
    }
}
