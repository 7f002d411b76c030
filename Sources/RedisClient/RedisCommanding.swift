/// What the rest of the system needs from Redis: run commands, alone or as an ordered batch.
///
/// Implemented by `RedisConnection` (one connection) and `RedisClient` (several), and easy to
/// fake in tests.
public protocol RedisCommanding: Sendable {
    /// Runs one command, e.g. `["SET", key, value]`, and returns its reply.
    ///
    /// Arguments are sent as length-prefixed strings (never interpolated into a command line),
    /// so any text, including spaces, newlines and NUL, is a single argument.
    /// - Throws: `RedisError.server` when Redis answers with an error reply; the other
    ///   `RedisError` cases when there is no reply.
    func execute(_ arguments: [String]) async throws(RedisError) -> RedisReply

    /// Sends the commands back to back, in order, on one connection, and returns their replies in
    /// the same order. Nothing from another caller is interleaved, so `MULTI` … `EXEC` is safe here.
    ///
    /// Error replies are returned as `.error` elements (a failed command does not hide the
    /// replies of the others).
    /// - Throws: a `RedisError` other than `.server` when the replies could not all be read.
    func pipeline(_ commands: [[String]]) async throws(RedisError) -> [RedisReply]
}

extension RedisCommanding {
    /// Sends `PING`; returns when Redis answered `PONG`. Handy as a readiness check.
    public func ping() async throws(RedisError) {
        let reply = try await execute(["PING"])
        guard reply == .status("PONG") else {
            throw .connectionLost("unexpected reply to PING: \(reply)")
        }
    }
}
