import Logging
import Synchronization

/// Several `RedisConnection`s used in turn, each with its own thread and pipeline.
///
/// One connection already pipelines every concurrent caller, and pipelining is what makes Redis
/// fast (on the development machine: about 20-25k commands/s one per round trip, about 190k/s
/// at 10 per write, 860k/s at 100). A second connection adds little throughput but keeps
/// latency low: while one connection's thread is blocked on a round trip, the other can already
/// send the next batch, so a burst is not held up behind one slow reply. More than a few
/// connections only add threads.
///
/// Each call goes wholly to one connection, so a `pipeline` (and a `MULTI`/`EXEC` in it) stays
/// back to back. Two separate calls may run on different connections: a caller that needs one
/// command to follow another awaits the first (as usual) or sends both in one `pipeline`.
public final class RedisClient: RedisCommanding {
    /// The connections, used round-robin.
    public let connections: [RedisConnection]
    private let nextConnection = Atomic<Int>(0)

    /// Creates `connections` connections (at least one); none connects before it is used.
    /// See `RedisConnection.init` for the timeouts.
    public init(
        host: String,
        port: Int,
        connections: Int = 2,
        connectTimeout: Duration = .milliseconds(500),
        commandTimeout: Duration = .seconds(2),
        logger: Logger
    ) {
        precondition(connections >= 1, "a RedisClient needs at least one connection")
        self.connections = (0..<connections).map { _ in
            RedisConnection(
                host: host, port: port, connectTimeout: connectTimeout, commandTimeout: commandTimeout,
                logger: logger)
        }
    }

    /// Runs one command on the next connection; see `RedisConnection.execute`.
    public func execute(_ arguments: [String]) async throws(RedisError) -> RedisReply {
        try await next().execute(arguments)
    }

    /// Runs the commands back to back on the next connection; see `RedisConnection.pipeline`.
    public func pipeline(_ commands: [[String]]) async throws(RedisError) -> [RedisReply] {
        try await next().pipeline(commands)
    }

    private func next() -> RedisConnection {
        let ticket = nextConnection.wrappingAdd(1, ordering: .relaxed).oldValue
        // Masking keeps the index non-negative after the counter wraps.
        return connections[(ticket & Int.max) % connections.count]
    }
}
