import Testing
@testable import WorkloadGenerator

@Suite("Rate limiter: pacing on an injected clock")
struct RateLimiterTests {
    typealias Instant = TestClock.Instant
    func at(_ milliseconds: Int) -> Instant { Instant(offset: .milliseconds(milliseconds)) }

    @Test("requests at the same moment get slots 1/rate apart")
    func spacing() {
        var schedule = PacingSchedule<Instant>(rate: 4)
        let slots = (0..<5).map { _ in schedule.reserve(at: at(0)) }
        #expect(slots == [0, 250, 500, 750, 1000].map(at))
    }

    @Test("a request after a pause goes at once, and the pause earns no burst")
    func noBurstAfterPause() {
        var schedule = PacingSchedule<Instant>(rate: 10)
        #expect(schedule.reserve(at: at(0)) == at(0))
        #expect(schedule.reserve(at: at(5_000)) == at(5_000))
        #expect(schedule.reserve(at: at(5_000)) == at(5_100))
        #expect(schedule.reserve(at: at(5_050)) == at(5_200))
    }

    @Test("a request later than its slot goes when it asks")
    func lateRequest() {
        var schedule = PacingSchedule<Instant>(rate: 10)
        _ = schedule.reserve(at: at(0))
        #expect(schedule.reserve(at: at(130)) == at(130))
        #expect(schedule.reserve(at: at(140)) == at(230))
    }

    @Test("a fractional rate: 0.5 per second is one every 2 s")
    func fractionalRate() {
        var schedule = PacingSchedule<Instant>(rate: 0.5)
        _ = schedule.reserve(at: at(0))
        #expect(schedule.reserve(at: at(0)) == at(2_000))
    }

    @Test("acquire sleeps on the clock until its slot")
    func acquireSleeps() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(rate: 20, clock: clock)
        for _ in 0..<4 { try await limiter.acquire() }
        #expect(clock.sleeps == [.zero, .milliseconds(50), .milliseconds(50), .milliseconds(50)])
        #expect(clock.now == at(150))
    }
}

@Suite("The event loop clock: the generator's sleeps on NIO's loop")
struct EventLoopClockTests {
    @Test("a sleep lasts until its deadline, on the continuous clock's time")
    func sleepsUntilTheDeadline() async throws {
        let clock = EventLoopClock()
        let deadline = clock.now.advanced(by: .milliseconds(30))
        try await clock.sleep(until: deadline)
        #expect(ContinuousClock.now >= deadline)
    }

    @Test("a deadline already past returns at once")
    func pastDeadline() async throws {
        let clock = EventLoopClock()
        let began = ContinuousClock.now
        try await clock.sleep(until: began.advanced(by: .seconds(-1)))
        #expect(began.duration(to: .now) < .seconds(5))
    }

    @Test("cancelling the sleeping task ends the sleep with an error, long before its deadline")
    func cancellation() async throws {
        let clock = EventLoopClock()
        let began = ContinuousClock.now
        let sleeper = Task { try await clock.sleep(until: began.advanced(by: .seconds(60))) }
        try await Task.sleep(for: .milliseconds(20))
        sleeper.cancel()
        await #expect(throws: (any Error).self) { try await sleeper.value }
        #expect(began.duration(to: .now) < .seconds(30))
    }
}
