/// A point in time in Unix milliseconds, the unit of the audit log and the quote server.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let unixMillis: Int64

    public init(unixMillis: Int64) {
        self.unixMillis = unixMillis
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.unixMillis < rhs.unixMillis }

    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(unixMillis: unixMillis + milliseconds)
    }

    public var description: String { String(unixMillis) }
}

/// Where the system reads the time. Injected everywhere so tests can move time by hand.
public protocol TradingClock: Sendable {
    func now() -> Timestamp
}
