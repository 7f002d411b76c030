import Synchronization

/// A Lua script that runs by its SHA-1 (`EVALSHA`), so the script's text crosses the wire once:
/// it is loaded (`SCRIPT LOAD`) on first use, and again when Redis has forgotten it (a restart).
public final class RedisScript: Sendable {
    public let source: String
    private let sha = Mutex<String?>(nil)

    public init(_ source: String) {
        self.source = source
    }

    /// Runs the script with `keys` and `arguments`; one round trip once it is loaded.
    public func run(on redis: any RedisCommanding, keys: [String], arguments: [String]) async throws(RedisError) -> RedisReply {
        if let loaded = sha.withLock({ $0 }) {
            do {
                return try await redis.execute(["EVALSHA", loaded, String(keys.count)] + keys + arguments)
            } catch .server(let message) where message.hasPrefix("NOSCRIPT") {
                // Redis restarted and lost its scripts: load it again below.
            }
        }
        guard let loaded = try await redis.execute(["SCRIPT", "LOAD", source]).string else {
            throw .connectionLost("SCRIPT LOAD returned no SHA-1")
        }
        sha.withLock { $0 = loaded }
        return try await redis.execute(["EVALSHA", loaded, String(keys.count)] + keys + arguments)
    }
}
