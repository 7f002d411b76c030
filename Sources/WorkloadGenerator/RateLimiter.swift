import Synchronization

/// The start times that keep a stream of commands at or under a rate: each command gets the
/// next free slot, `1/rate` after the one before, and never a slot in the past. Idle time earns
/// no credit, so the rate holds over any window, with no burst after a pause.
struct PacingSchedule<Instant: InstantProtocol<Duration>>: Sendable {
    let interval: Duration
    private var nextSlot: Instant?

    /// A schedule for `rate` commands per second (more than zero).
    init(rate: Double) {
        precondition(rate > 0, "the rate must be more than zero")
        interval = .nanoseconds(Int64((1e9 / rate).rounded()))
    }

    /// The slot of a command that asks at `now`: `now` when the line is free, else later.
    mutating func reserve(at now: Instant) -> Instant {
        let slot = nextSlot.map { Swift.max($0, now) } ?? now
        nextSlot = slot.advanced(by: interval)
        return slot
    }
}

/// Holds commands back so that at most `rate` start per second, shared by every user's queue.
final class RateLimiter<C: Clock<Duration>>: Sendable {
    private let clock: C
    private let schedule: Mutex<PacingSchedule<C.Instant>>

    init(rate: Double, clock: C) {
        self.clock = clock
        schedule = Mutex(PacingSchedule(rate: rate))
    }

    /// Waits for the caller's slot.
    func acquire() async throws {
        let slot = schedule.withLock { $0.reserve(at: clock.now) }
        try await clock.sleep(until: slot, tolerance: nil)
    }
}
