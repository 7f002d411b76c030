import DayTraderCore
import Foundation
import Hummingbird
import Logging

/// The JSON body of every command route. Money travels as strings ("12.34"), never as
/// binary floating-point numbers.
struct CommandBody: Decodable {
    var user: String?
    var symbol: String?
    var amount: String?
    var filename: String?
    var transactionNum: Int64?
    var idempotencyKey: String?
}

/// One route per command: `POST /api/add`, `/api/commit-buy`, `/api/display-summary`, ...
struct CommandRoutes {
    let service: CommandService
    let logger: Logger
    static let maximumBodyBytes = 16 * 1024
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func path(for name: CommandName) -> String {
        "/api/" + name.rawValue.lowercased().replacingOccurrences(of: "_", with: "-")
    }

    func register(on router: Router<BasicRequestContext>) {
        // DUMPLOG belongs to the audit server, which owns the log.
        for name in CommandName.allCases where name != .dumplog {
            router.post(RouterPath(Self.path(for: name))) { request, context in
                try await handle(name, request, context)
            }
        }
    }

    private func handle(_ name: CommandName, _ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body: CommandBody
        do {
            let bytes = try await request.body.collect(upTo: Self.maximumBodyBytes)
            body = try JSONDecoder().decode(CommandBody.self, from: Data(buffer: bytes))
        } catch {
            return Self.error(.badRequest, code: Rejection.Code.malformedCommand.rawValue, message: Self.describe(bodyError: error))
        }
        if let number = body.transactionNum, number < 1 {
            return Self.error(.badRequest, code: Rejection.Code.malformedCommand.rawValue, message: "transactionNum must be at least 1")
        }
        let key = body.idempotencyKey ?? request.headers[.init("Idempotency-Key")!]
        if let key, key.isEmpty || key.utf8.count > 200 {
            return Self.error(.badRequest, code: Rejection.Code.malformedCommand.rawValue, message: "idempotencyKey must be 1-200 characters")
        }
        let commandRequest = CommandRequest(name: name.rawValue, user: body.user, symbol: body.symbol, amount: body.amount, filename: body.filename)
        do {
            switch try await service.handle(commandRequest, transactionNum: body.transactionNum, idempotencyKey: key) {
            case .summary(let json):
                return Self.json(.ok, json)
            case .reply(let reply):
                let status = reply.error.map { Self.status(for: $0.code) } ?? .ok
                return Self.json(status, String(decoding: try Self.encoder.encode(reply), as: UTF8.self))
            }
        } catch {
            logger.error("command failed", metadata: ["command": "\(name.rawValue)", "error": "\(String(reflecting: error))"])
            return Self.error(.serviceUnavailable, code: "unavailable", message: "the command could not be completed; it is safe to retry with the same idempotency key")
        }
    }

    /// The HTTP status for each rejection code: 400 for a malformed request, 404 for an
    /// unknown account, 409 for a rule the account's state does not allow, 503 for a
    /// dependency that is down (retry later).
    static func status(for code: String) -> HTTPResponse.Status {
        switch Rejection.Code(rawValue: code) {
        case .malformedCommand, .invalidUserID, .invalidSymbol, .invalidAmount, .amountTooLarge, .invalidFilename:
            .badRequest
        case .idempotencyKeyReused:
            .unprocessableContent
        case .unknownAccount:
            .notFound
        case .quoteUnavailable:
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

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        let body = ["error": ["code": code, "message": message]]
        let text = (try? encoder.encode(body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return json(status, text)
    }
}
