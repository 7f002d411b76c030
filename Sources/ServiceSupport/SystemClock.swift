#if canImport(Glibc)
import Glibc
#endif
import DayTraderCore

/// The wall clock, in Unix milliseconds.
public struct SystemClock: TradingClock {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(unixMillis: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
