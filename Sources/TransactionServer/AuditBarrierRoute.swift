import DayTraderCore
import Hummingbird
import Logging
import ServiceSupport
import TradingStore

/// `POST /internal/audit-barrier`: the audit server's way to learn that every record committed
/// before it asked has left the outbox (the broker confirmed it), without reading the trading
/// database itself. DUMPLOG's barrier (docs/ARCHITECTURE.md).
///
/// Query: `timeoutMs`, how long to wait (default 60000). Answers 200 `{}` once the outbox has
/// drained up to the moment of the call, or 503 `audit_unavailable` when it has not in time
/// (RabbitMQ down, say).
struct AuditBarrierRoute {
    let store: TradingStore
    let logger: Logger
    static let path = "/internal/audit-barrier"

    func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ -> Response in
            let timeout = request.uri.queryParameters.get("timeoutMs", as: Int.self) ?? 60_000
            do {
                guard try await store.awaitOutboxRelayed(within: .milliseconds(max(0, timeout))) else {
                    return CommandHTTP.error(.serviceUnavailable, code: Rejection.Code.auditUnavailable.rawValue,
                                             message: "audit records are still waiting to be published (is RabbitMQ down?); try again")
                }
                return CommandHTTP.json(.ok, "{}")
            } catch {
                logger.error("audit barrier failed", metadata: ["error": "\(String(reflecting: error))"])
                return CommandHTTP.error(.serviceUnavailable, code: "unavailable", message: "the trading database could not be read; try again")
            }
        }
    }
}
