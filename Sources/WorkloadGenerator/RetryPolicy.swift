import AsyncHTTPClient
import DayTraderCore
import Foundation

/// Which failures are worth another attempt, and how long to wait before it.
///
/// Only what left the command undone is retried: an error on the connection, a timeout, a 502,
/// 503 or 504 that HAProxy made up because no server answered, and a server's 503
/// `unavailable` (a dependency failed mid-command: nothing was applied or logged, "safe to
/// retry with the same idempotency key"). Anything else a server of ours answered, success or
/// rejection (including `quote_unavailable`, which is logged as the line's answer), is the
/// line's answer. The idempotency key makes a retry of a command that did arrive harmless.
public struct RetryPolicy: Hashable, Sendable {
    /// Attempts in all, the first one included.
    public var maxAttempts: Int
    /// The wait after the first failed attempt; it doubles after each further one.
    public var initialBackoff: Duration
    /// The longest wait between two attempts.
    public var maximumBackoff: Duration

    public init(maxAttempts: Int = 20, initialBackoff: Duration = .milliseconds(50), maximumBackoff: Duration = .seconds(2)) {
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// The wait after failed attempt `attempt` (1-based): 50 ms, 100 ms, 200 ms, ... up to 2 s.
    public func backoff(afterAttempt attempt: Int) -> Duration {
        // Capped before shifting: past 16 doublings any sane maximum has been reached.
        let doublings = min(max(attempt - 1, 0), 16)
        return min(initialBackoff * (1 << doublings), maximumBackoff)
    }

    /// Runs `attempt` until it gives an answer, fails for good, or `maxAttempts` are used,
    /// sleeping the backoff on `clock` between attempts. `onRetry` is called before each retry.
    func run<Answer, C: Clock<Duration>>(
        on clock: C,
        onRetry: () -> Void,
        _ attempt: () async -> Result<Answer, AttemptFailure>
    ) async -> Result<Answer, GaveUp> {
        var attempts = 0
        while true {
            attempts += 1
            let failure: AttemptFailure
            switch await attempt() {
            case .success(let answer): return .success(answer)
            case .failure(let error): failure = error
            }
            guard failure.retryable, attempts < maxAttempts else {
                return .failure(GaveUp(reason: failure.reason, attempts: attempts))
            }
            onRetry()
            do {
                try await clock.sleep(for: backoff(afterAttempt: attempts))
            } catch {
                return .failure(GaveUp(reason: "cancelled while waiting to retry after: \(failure.reason)", attempts: attempts))
            }
        }
    }

    /// Whether a response left the command undone: a 502, 503 or 504 whose body is not a
    /// server's JSON error (HAProxy made it because no server answered), or a server's 503
    /// `unavailable`.
    public static func isRetried(status: Int, body: some Sequence<UInt8>) -> Bool {
        guard [502, 503, 504].contains(status) else { return false }
        let code = jsonErrorCode(in: body)
        return code == nil || (status == 503 && code == "unavailable")
    }

    /// Whether a thrown error is a transport failure to retry. Everything is, but errors in
    /// the request or the client itself and cancellation, which no retry can help.
    public static func isRetried(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        if let error = error as? HTTPClientError, notRetried.contains(error) { return false }
        return true
    }

    private static let notRetried: [HTTPClientError] = [
        .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath, .alreadyShutdown, .cancelled,
    ]
}

/// The `code` of a reply of the form `{"error":{"code":...}}`, or `nil` when the body is not one.
func jsonErrorCode(in body: some Sequence<UInt8>) -> String? {
    let bytes = Array(body)
    guard bytes.first == UInt8(ascii: "{"), let object = try? JSONValue(parsing: bytes) else { return nil }
    return object["error"]?["code"]?.string
}

/// Why one attempt did not give an answer, and whether another attempt might.
struct AttemptFailure: Error {
    var reason: String
    var retryable: Bool

    init(reason: String, retryable: Bool) {
        self.reason = reason
        self.retryable = retryable
    }

    /// The failure a thrown error stands for (``RetryPolicy/isRetried(_:)``).
    init(_ error: any Error) {
        self.init(reason: "\(error)", retryable: RetryPolicy.isRetried(error))
    }
}

/// A line given up: the last attempt's problem, and how many attempts were made.
struct GaveUp: Error, Hashable {
    var reason: String
    var attempts: Int
}
