import AsyncHTTPClient
import DayTraderCore
import NIOCore
import ServiceSupport

/// Whose a session cookie is, asked of the transaction servers, which own the sessions:
/// `GET <trading URL>/api/auth/session` with the cookie (200 and the account, or 401).
public struct HTTPSessionLookup: SessionLookup {
    /// Where the transaction servers answer (TRADING_URL, no trailing slash).
    let baseURL: String

    public init(baseURL: String) {
        self.baseURL = baseURL
    }

    public func person(withSession token: String) async throws -> (name: String, role: Role)? {
        var request = HTTPClientRequest(url: "\(baseURL)/api/auth/session")
        request.headers.add(name: "Cookie", value: "\(Callers.cookieName)=\(token)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 * 1024)
        switch response.status.code {
        case 200:
            let account = try? JSONValue(parsing: body.readableBytesView)
            guard let name = account?["name"]?.string, let role = account?["role"]?.string.flatMap(Role.init(rawValue:)) else {
                throw LookupError(status: 200)
            }
            return (name, role)
        case 401:
            return nil
        default:
            throw LookupError(status: Int(response.status.code))
        }
    }

    struct LookupError: Error, CustomStringConvertible {
        var status: Int
        var description: String { "the transaction servers' session look-up answered HTTP \(status) without an account" }
    }
}
