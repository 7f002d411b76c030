/// One reply from Redis (RESP2, as spoken by Redis with hiredis 0.14).
public enum RedisReply: Hashable, Sendable {
    /// A simple status line such as `OK` or `PONG`.
    case status(String)
    /// An error reply such as `ERR value is not an integer or out of range`, prefix included.
    case error(String)
    /// An integer reply (`INCR`, `DEL`, `EXISTS`, ...).
    case integer(Int64)
    /// A bulk string (`GET`, `HGET`, `EVAL` returning a string, ...).
    ///
    /// Decoded as UTF-8. Every argument this client sends is a Swift `String`, so a value written
    /// through it reads back exactly; bytes written by other clients that are not valid UTF-8
    /// come back with those sequences replaced by U+FFFD.
    case bulk(String)
    /// A missing value: a nil bulk string (`GET` of an absent key) or a nil array (`EXEC` of an
    /// aborted transaction).
    case null
    /// An array of replies (`MGET`, `LRANGE`, `EXEC`, ...), possibly nested.
    case array([RedisReply])

    /// The text of a `.bulk` or `.status` reply; `nil` for anything else.
    public var string: String? {
        switch self {
        case .bulk(let text), .status(let text): text
        default: nil
        }
    }

    /// The value of an `.integer` reply, or of a `.bulk` reply holding a decimal integer (as `GET`
    /// returns for a counter kept by `INCR`); `nil` for anything else.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let text): Int64(text)
        default: nil
        }
    }

    /// The elements of an `.array` reply; `nil` for anything else.
    public var array: [RedisReply]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// Whether this is `.null`.
    public var isNull: Bool {
        self == .null
    }
}
