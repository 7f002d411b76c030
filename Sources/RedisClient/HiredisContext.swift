import CHiredis
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one blocking hiredis connection and frees it exactly once, in `deinit`.
///
/// A class rather than a raw pointer in the actor because a Swift 6 actor's `deinit` cannot
/// touch a non-Sendable C pointer; the actor simply drops its reference. Not thread-safe (neither
/// is hiredis): only `RedisConnection`, on its dedicated thread, uses it.
final class HiredisContext {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects (blocking, bounded by `connectTimeout`) and applies `commandTimeout` to every
    /// later read and write on the socket.
    static func connect(
        host: String, port: Int, connectTimeout: Duration, commandTimeout: Duration
    ) -> Result<HiredisContext, RedisError> {
        guard let context = redisConnectWithTimeout(host, Int32(port), makeTimeval(connectTimeout)) else {
            return .failure(.connectionFailed("hiredis could not allocate a context"))
        }
        // Owned from here on, so every early return below frees it.
        let owner = HiredisContext(context)
        if context.pointee.err != 0 {
            return .failure(.connectionFailed("\(host):\(port): \(owner.errorText)"))
        }
        if redisSetTimeout(context, makeTimeval(commandTimeout)) != REDIS_OK {
            return .failure(.connectionFailed("\(host):\(port): cannot set socket timeout: \(owner.errorText)"))
        }
        return .success(owner)
    }

    private init(_ context: UnsafeMutablePointer<redisContext>) {
        self.context = context
    }

    deinit {
        redisFree(context)
    }

    /// Adds one command to hiredis's output buffer; nothing is written to the socket until the
    /// first `readReply()`. Returns `false` only when hiredis runs out of memory.
    func append(_ arguments: [String]) -> Bool {
        // One contiguous buffer for all arguments, so the C pointers stay valid for the call.
        // The trailing byte keeps the buffer non-empty when every argument is "".
        var bytes: [UInt8] = []
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            let start = bytes.count
            bytes.append(contentsOf: argument.utf8)
            lengths.append(bytes.count - start)
        }
        bytes.append(0)
        return bytes.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            var offset = 0
            var pointers: [UnsafePointer<CChar>?] = lengths.map { length in
                defer { offset += length }
                return base + offset
            }
            return redisAppendCommandArgv(context, Int32(arguments.count), &pointers, lengths) == REDIS_OK
        }
    }

    /// Flushes the output buffer if needed and reads the next reply, blocking up to the command
    /// timeout per socket read. After a failure the context is unusable: drop it.
    func readReply() -> Result<RedisReply, RedisError> {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            // With SO_RCVTIMEO set, a read that times out fails with EAGAIN.
            let timedOut = context.pointee.err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
            return .failure(timedOut ? .timedOut : .connectionLost(errorText))
        }
        defer { freeReplyObject(raw) }
        return .success(RedisReply(raw.assumingMemoryBound(to: redisReply.self)))
    }

    private var errorText: String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

extension RedisReply {
    /// Copies a hiredis reply tree (strings by pointer and length, so embedded NULs survive).
    init(_ reply: UnsafeMutablePointer<redisReply>) {
        let node = reply.pointee
        func text() -> String {
            guard let str = node.str else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: str, count: node.len), as: UTF8.self)
        }
        switch node.type {
        case REDIS_REPLY_STATUS: self = .status(text())
        case REDIS_REPLY_ERROR: self = .error(text())
        case REDIS_REPLY_INTEGER: self = .integer(Int64(node.integer))
        case REDIS_REPLY_STRING: self = .bulk(text())
        case REDIS_REPLY_ARRAY:
            self = .array((0..<node.elements).map { RedisReply(node.element[$0]!) })
        default: self = .null  // REDIS_REPLY_NIL
        }
    }
}

private func makeTimeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    return timeval(tv_sec: .init(seconds), tv_usec: .init(attoseconds / 1_000_000_000_000))
}
