import DedicatedThread
import Logging

/// One Redis connection, with automatic pipelining and automatic reconnection.
///
/// **Threading.** hiredis is blocking and not thread-safe, so the actor runs on its own
/// `DedicatedThreadExecutor`: every hiredis call happens on that one thread, and a slow or dead
/// server blocks it instead of Swift's cooperative pool.
///
/// **Pipelining.** `execute` and `pipeline` only queue their commands and, when none is
/// scheduled yet, schedule a flush as a new job on the actor's thread. That job runs after the
/// jobs already waiting there, so every call that arrived in the meantime (including those
/// queued while the previous flush was blocked on the socket) goes out in one write; then one
/// reply is read per command, in order, and each caller resumes with its own replies. Under
/// load this sends many commands per round trip; an idle connection still answers a lone
/// command after one round trip.
///
/// **Failures.** Socket reads and writes time out after `commandTimeout`. After any I/O error
/// or timeout the connection is closed and every caller of that flush gets
/// `.connectionLost` or `.timedOut`; the next command reconnects. A failed connect starts a
/// back-off window (250 ms, doubling up to 2 s) during which commands fail at once with
/// `.connectionFailed` instead of each waiting for the connect timeout; the first command after
/// the window tries again. So while Redis is down callers fail fast, and once it is back the
/// connection recovers by itself.
///
/// Blocking commands (`BLPOP`, `WAIT`, ...) would hold up every other caller and hit the
/// command timeout; don't send them here.
public actor RedisConnection: RedisCommanding {
    /// The first back-off after a failed connect; doubles on each further failure.
    static let firstReconnectDelay = Duration.milliseconds(250)
    /// The longest back-off, so recovery is noticed within about this long.
    static let maxReconnectDelay = Duration.seconds(2)

    public nonisolated let host: String
    public nonisolated let port: Int
    private let connectTimeout: Duration
    private let commandTimeout: Duration
    private let logger: Logger
    private let executor: DedicatedThreadExecutor

    /// Runs this actor on its dedicated thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    private enum State {
        case disconnected
        case connected(HiredisContext)
        /// A connect failed; fail fast until `retryAt`.
        case backingOff(retryAt: ContinuousClock.Instant, reason: String)
    }

    /// A caller's commands, sent back to back, and the caller waiting for their replies.
    private struct Request {
        let commands: [[String]]
        let continuation: CheckedContinuation<Result<[RedisReply], RedisError>, Never>
    }

    private var state = State.disconnected
    private var reconnectDelay = RedisConnection.firstReconnectDelay
    private var queued: [Request] = []
    private var isFlushScheduled = false

    /// Creates the connection; it connects on first use (use `ping()` to connect eagerly).
    /// - Parameters:
    ///   - connectTimeout: the longest a connect attempt may block.
    ///   - commandTimeout: the longest one socket read or write may block; past it the
    ///     connection is dropped and the waiting commands fail with `.timedOut`.
    public init(
        host: String,
        port: Int,
        connectTimeout: Duration = .milliseconds(500),
        commandTimeout: Duration = .seconds(2),
        logger: Logger
    ) {
        self.host = host
        self.port = port
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        var logger = logger
        logger[metadataKey: "redis"] = "\(host):\(port)"
        self.logger = logger
        self.executor = DedicatedThreadExecutor(name: "redis:\(port)")
    }

    /// Runs one command. An error reply from Redis is thrown as `RedisError.server`, so a
    /// returned reply is never `.error`.
    public func execute(_ arguments: [String]) async throws(RedisError) -> RedisReply {
        let reply = try await send([arguments])[0]
        if case .error(let message) = reply {
            throw .server(message)
        }
        return reply
    }

    /// Runs the commands back to back on this connection; error replies come back as `.error`.
    public func pipeline(_ commands: [[String]]) async throws(RedisError) -> [RedisReply] {
        if commands.isEmpty {
            return []
        }
        return try await send(commands)
    }

    private func send(_ commands: [[String]]) async throws(RedisError) -> [RedisReply] {
        // Redis answers nothing to an empty command, which would shift every later reply.
        if commands.contains(where: \.isEmpty) {
            throw .invalidCommand("a command needs at least its name")
        }
        let result = await withCheckedContinuation { continuation in
            queued.append(Request(commands: commands, continuation: continuation))
            if !isFlushScheduled {
                isFlushScheduled = true
                Task { self.flush() }
            }
        }
        return try result.get()
    }

    /// Writes every queued command in one go, then reads their replies in order.
    private func flush() {
        isFlushScheduled = false
        var batch: [Request] = []
        swap(&batch, &queued)

        let context: HiredisContext
        switch connection() {
        case .success(let connected):
            context = connected
        case .failure(let error):
            fail(batch[...], with: error)
            return
        }

        for request in batch {
            for command in request.commands where !context.append(command) {
                dropConnection(after: .connectionLost("out of memory while buffering commands"))
                fail(batch[...], with: .connectionLost("out of memory while buffering commands"))
                return
            }
        }

        for index in batch.indices {
            var replies: [RedisReply] = []
            replies.reserveCapacity(batch[index].commands.count)
            for _ in batch[index].commands {
                switch context.readReply() {
                case .success(let reply):
                    replies.append(reply)
                case .failure(let error):
                    dropConnection(after: error)
                    // A caller whose replies were only partly read gets none: its batch failed.
                    fail(batch[index...], with: error)
                    return
                }
            }
            batch[index].continuation.resume(returning: .success(replies))
        }
    }

    /// The live connection, connecting if needed, or the reason there is none.
    private func connection() -> Result<HiredisContext, RedisError> {
        switch state {
        case .connected(let context):
            return .success(context)
        case .backingOff(let retryAt, let reason) where ContinuousClock.now < retryAt:
            return .failure(.connectionFailed(reason))
        case .disconnected, .backingOff:
            break
        }

        switch HiredisContext.connect(
            host: host, port: port, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
        {
        case .success(let context):
            if case .backingOff = state {
                logger.info("Redis is reachable again")
            } else {
                logger.debug("connected to Redis")
            }
            state = .connected(context)
            reconnectDelay = Self.firstReconnectDelay
            return .success(context)
        case .failure(let error):
            let reason = if case .connectionFailed(let text) = error { text } else { error.description }
            logger.warning(
                "cannot connect to Redis; failing fast until the next attempt",
                metadata: ["error": "\(reason)", "retry_in": "\(reconnectDelay)"])
            state = .backingOff(retryAt: .now + reconnectDelay, reason: reason)
            reconnectDelay = min(reconnectDelay * 2, Self.maxReconnectDelay)
            return .failure(error)
        }
    }

    /// Forgets a connection hiredis has declared dead; the next flush reconnects at once.
    private func dropConnection(after error: RedisError) {
        logger.warning("Redis connection dropped", metadata: ["error": "\(error)"])
        state = .disconnected
    }

    private func fail(_ requests: ArraySlice<Request>, with error: RedisError) {
        for request in requests {
            request.continuation.resume(returning: .failure(error))
        }
    }
}
