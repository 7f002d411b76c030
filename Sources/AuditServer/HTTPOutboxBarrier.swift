import AsyncHTTPClient
import DayTraderCore
import NIOCore

/// The outbox barrier over HTTP: `POST <trading URL>/internal/audit-barrier?timeoutMs=N` on the
/// transaction servers (through HAProxy), which answer 200 once their outbox has drained up to
/// the moment of the call, or 503 `audit_unavailable` when it has not within the time given.
///
/// A long wait is asked for in requests of at most ``longestRequest`` each, so that none
/// outlives a proxy's server timeout (HAProxy's is 30 s); the outbox's moment moves on with
/// each request, which only waits for more.
public struct HTTPOutboxBarrier: OutboxBarrier {
    /// Where the transaction servers answer, e.g. `http://127.0.0.1:8080` (TRADING_URL, no trailing slash).
    let baseURL: String
    static let longestRequest = Duration.seconds(20)

    public init(baseURL: String) {
        self.baseURL = baseURL
    }

    public func awaitRelayed(within timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let wait = min(max(.zero, deadline - ContinuousClock.now), Self.longestRequest)
            if try await ask(waiting: wait) { return true }
            guard ContinuousClock.now < deadline else { return false }
        }
    }

    /// One request: true once relayed, false when the server's wait ran out first.
    private func ask(waiting wait: Duration) async throws -> Bool {
        let millis = wait.components.seconds * 1_000 + wait.components.attoseconds / 1_000_000_000_000_000
        var request = HTTPClientRequest(url: "\(baseURL)/internal/audit-barrier?timeoutMs=\(millis)")
        request.method = .POST
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(millis + 10_000))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            // A server too busy to answer in time has not said no: ask again while time remains.
            return false
        }
        let body = try await response.body.collect(upTo: 64 * 1024)
        if response.status.code == 200 { return true }
        let code = (try? JSONValue(parsing: body.readableBytesView))?["error"]?["code"]?.string
        // Only the barrier's own answer means "not yet"; anything else (the trading database down,
        // no transaction server behind the proxy) is a failure to ask.
        guard response.status.code == 503, code == Rejection.Code.auditUnavailable.rawValue else {
            throw BarrierError(status: Int(response.status.code), code: code)
        }
        return false
    }

    struct BarrierError: Error, CustomStringConvertible {
        var status: Int
        var code: String?
        var description: String { "the audit barrier answered HTTP \(status)\(code.map { " (\($0))" } ?? "")" }
    }
}
