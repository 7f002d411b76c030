import DedicatedThread
import Dispatch
import Foundation
import Synchronization
import Testing

/// An actor on its own thread, as `RedisConnection` is.
private actor ThreadBound {
    private let executor = DedicatedThreadExecutor(name: "test-worker")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private var log: [Int] = []

    /// The OS thread's name, as the kernel (and `top -H`) shows it.
    func threadName() throws -> String {
        try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            .trimmingCharacters(in: .newlines)
    }

    func record(_ value: Int) {
        log.append(value)
    }

    func recorded() -> [Int] {
        log
    }

    /// Blocks the actor's thread, as a hiredis call does, until `gate` is signalled.
    func block(on gate: DispatchSemaphore, entered: Entered) {
        entered.count.add(1, ordering: .relaxed)
        gate.wait()
    }

    /// `assumeIsolated` consults the executor's isolation check.
    nonisolated func isOnOwnThread() -> Bool {
        assumeIsolated { _ in true }
    }

    func checkFromInside() -> Bool {
        isOnOwnThread()
    }
}

@Suite("DedicatedThreadExecutor", .timeLimit(.minutes(10)))
struct DedicatedThreadTests {
    @Test func jobsRunOnTheNamedThread() async throws {
        let actor = ThreadBound()
        let name = try await actor.threadName(); #expect(name == "test-worker")
        #expect(await actor.checkFromInside())
    }

    @Test func jobsFromOneCallerRunInOrder() async {
        let actor = ThreadBound()
        for value in 0..<1_000 {
            await actor.record(value)
        }
        #expect(await actor.recorded() == Array(0..<1_000))
    }

    /// More actors than cores, all blocked in a "C call" at once, leave the cooperative pool
    /// free: this test's own code still runs and releases them. Were the actors on the pool,
    /// they would occupy its threads and the test would never get to signal the gate.
    @Test func blockedActorsLeaveTheCooperativePoolFree() async throws {
        let actors = (0..<(ProcessInfo.processInfo.activeProcessorCount + 2)).map { _ in ThreadBound() }
        let gate = DispatchSemaphore(value: 0)
        let entered = Entered()
        let blocked = actors.map { actor in Task { await actor.block(on: gate, entered: entered) } }

        let deadline = ContinuousClock.now + .seconds(10)
        while entered.count.load(ordering: .relaxed) < actors.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(entered.count.load(ordering: .relaxed) == actors.count)

        for _ in actors { gate.signal() }
        for task in blocked { await task.value }
    }
}

/// Counts actors that have entered their blocking call.
final class Entered: Sendable {
    let count = Atomic<Int>(0)
}
