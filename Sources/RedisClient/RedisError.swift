/// Why a Redis command did not produce a reply.
///
/// Callers that keep Redis as a cache should treat every case except `.server` and
/// `.invalidCommand` as "Redis is unavailable right now" and fall back to the source of truth.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No connection could be made, or the connection is in its back-off window after a failed
    /// attempt. The command was not sent.
    case connectionFailed(String)
    /// The connection broke while the command was being sent or its reply awaited. The command
    /// may or may not have run on the server.
    case connectionLost(String)
    /// No reply came within the command timeout; the connection was dropped. The command may or
    /// may not have run on the server.
    case timedOut
    /// Redis answered with an error reply (`execute` only; `pipeline` returns `.error` replies).
    /// The message is Redis's, e.g. `ERR value is not an integer or out of range`.
    case server(String)
    /// The command cannot be sent (an empty argument list). Nothing was sent.
    case invalidCommand(String)

    public var description: String {
        switch self {
        case .connectionFailed(let reason): "Redis connection failed: \(reason)"
        case .connectionLost(let reason): "Redis connection lost: \(reason)"
        case .timedOut: "Redis command timed out"
        case .server(let message): "Redis error reply: \(message)"
        case .invalidCommand(let reason): "invalid Redis command: \(reason)"
        }
    }
}
