import DayTraderCore
import Hummingbird
import ServiceSupport
import TradingStore

/// Sign-up, sign-in, sign-out and the current session, under `/api/auth/` (docs/API.md,
/// "Sign-in"). Bodies are JSON like the commands': `{"name": "...", "password": "..."}`.
struct AuthRoutes {
    let sessions: WebSessions

    func register(on router: Router<BasicRequestContext>) {
        router.post("/api/auth/signup") { request, _ in
            try await withCredentials(request) { name, password in
                try await sessions.signUp(name: name, password: password).map { (account, token) in (account, token, .created) }
            }
        }
        router.post("/api/auth/signin") { request, _ in
            try await withCredentials(request) { name, password in
                try await sessions.signIn(name: name, password: password, from: Self.clientAddress(request))
                    .map { (account, token) in (account, token, .ok) }
            }
        }
        router.post("/api/auth/signout") { request, _ in
            try await sessions.signOut(request)
            var response = Response(status: .noContent)
            response.setCookie(sessions.cookie(nil))
            return response
        }
        // Who the session (or token) is: the pages ask on load, the audit server before a dump.
        router.get("/api/auth/session") { request, _ in
            switch try await sessions.callers.caller(of: request) {
            case .success(.person(let name, let role)):
                return Self.account(.ok, name: name, role: role)
            case .success(.service):
                return CommandHTTP.json(.ok, #"{"service":true}"#)
            case .success(.anonymous):
                return CommandHTTP.error(Rejection(.unauthenticated, "not signed in"))
            case .failure(let rejection):
                return CommandHTTP.error(rejection)
            }
        }
    }

    private func withCredentials(
        _ request: Request, _ action: (String, String) async throws -> Result<(WebAccount, String, HTTPResponse.Status), Rejection>
    ) async throws -> Response {
        if let notJSON = CommandHTTP.refusalUnlessJSON(request) { return notJSON }
        if let crossSite = Callers.crossSite(request) { return CommandHTTP.error(crossSite) }
        guard let bytes = try? await request.body.collect(upTo: CommandHTTP.maximumBodyBytes),
              let body = try? JSONValue(parsing: bytes.readableBytesView),
              let name = body["name"]?.string, let password = body["password"]?.string
        else {
            return CommandHTTP.error(Rejection(.malformedCommand, #"send {"name": "...", "password": "..."} as JSON"#))
        }
        switch try await action(name, password) {
        case .success(let (account, token, status)):
            var response = Self.account(status, name: account.name, role: account.role)
            response.setCookie(sessions.cookie(token))
            return response
        case .failure(let rejection):
            return CommandHTTP.error(rejection)
        }
    }

    private static func account(_ status: HTTPResponse.Status, name: String, role: Role) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.field("name", name)
        json.field("role", role.rawValue)
        json.endObject()
        return CommandHTTP.json(status, json.bytes)
    }

    /// The address a request came from, as HAProxy reports it (the last `X-Forwarded-For`
    /// entry is the one it added); `direct` when no proxy stands in front.
    static func clientAddress(_ request: Request) -> String {
        guard let forwarded = request.headers[.init("X-Forwarded-For")!] else { return "direct" }
        return forwarded.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "direct"
    }
}
