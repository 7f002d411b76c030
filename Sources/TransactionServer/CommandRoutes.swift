import DayTraderCore
import Hummingbird
import Logging
import ServiceSupport

/// One route per command: `POST /api/add`, `/api/commit-buy`, `/api/display-summary`, ...
struct CommandRoutes {
    let service: CommandService
    let callers: Callers
    let logger: Logger

    func register(on router: Router<BasicRequestContext>) {
        // DUMPLOG belongs to the audit server, which owns the log.
        for name in CommandName.allCases where name != .dumplog {
            router.post(RouterPath(CommandHTTP.path(for: name))) { request, _ in
                try await handle(name, request)
            }
        }
    }

    private func handle(_ name: CommandName, _ request: Request) async throws -> Response {
        let caller: Caller
        switch try await callers.caller(of: request) {
        case .success(let found): caller = found
        // Not logged: a request that proves no identity is no one's command.
        case .failure(let rejection): return CommandHTTP.error(rejection)
        }
        let submitted: CommandHTTP.Submitted
        switch await CommandHTTP.decode(name, from: request) {
        case .command(let decoded): submitted = decoded
        case .refused(let response): return response
        }
        do {
            switch try await service.handle(submitted.request, transactionNum: submitted.transactionNum, idempotencyKey: submitted.idempotencyKey, caller: caller) {
            case .summary(let document):
                return CommandHTTP.json(.ok, document)
            case .reply(let reply):
                return CommandHTTP.response(for: reply)
            }
        } catch {
            logger.error("command failed", metadata: ["command": "\(name.rawValue)", "error": "\(String(reflecting: error))"])
            return CommandHTTP.error(.serviceUnavailable, code: "unavailable", message: "the command could not be completed; it is safe to retry with the same idempotency key")
        }
    }
}
