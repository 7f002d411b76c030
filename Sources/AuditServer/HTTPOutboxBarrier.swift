import AsyncHTTPClient
import Foundation
import NIOCore

/// The outbox barrier over HTTP: `POST <trading URL>/internal/audit-barrier?timeoutMs=N` on the
/// transaction servers (through HAProxy), which answer 200 once their outbox has drained up to
/// the moment of the call, or 503 when it has not within the time given.
public struct HTTPOutboxBarrier: OutboxBarrier {
    /// Where the transaction servers answer, e.g. `http://127.0.0.1:8080` (TRADING_URL).
    let baseURL: String

    public init(baseURL: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public func awaitRelayed(within timeout: Duration) async throws -> Bool {
        let millis = timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000
        var request = HTTPClientRequest(url: "\(baseURL)/internal/audit-barrier?timeoutMs=\(millis)")
        request.method = .POST
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(millis + 10_000))
        _ = try await response.body.collect(upTo: 64 * 1024)
        switch response.status.code {
        case 200: return true
        case 503: return false
        default: throw BarrierError(status: Int(response.status.code))
        }
    }

    struct BarrierError: Error, CustomStringConvertible {
        var status: Int
        var description: String { "the audit barrier answered HTTP \(status)" }
    }
}
