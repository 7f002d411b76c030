import DayTraderCore
import Foundation
import Synchronization
import Testing
@testable import WorkloadGenerator

@Suite("Scheduling: each user's order, the concurrency limit, DUMPLOG last")
struct SchedulingTests {
    /// Which users have a command in flight, and the most at once.
    final class InFlight: Sendable {
        private let state = Mutex((users: [String: Int](), most: 0, overlaps: 0))
        func enter(_ user: String) {
            state.withLock { state in
                state.users[user, default: 0] += 1
                if state.users[user]! > 1 { state.overlaps += 1 }
                state.most = max(state.most, state.users.count)
            }
        }
        func leave(_ user: String) {
            state.withLock { state in
                state.users[user]! -= 1
                if state.users[user] == 0 { state.users[user] = nil }
            }
        }
        var most: Int { state.withLock { $0.most } }
        var overlaps: Int { state.withLock { $0.overlaps } }
    }

    @Test("each queue runs in order, one item at a time, at most `concurrency` queues at once", arguments: [1, 3, 8])
    func userQueues(concurrency: Int) async {
        let queues = (0..<20).map { user in (0..<5).map { "\(user):\($0)" } }
        let inFlight = InFlight()
        let seen = Mutex([String: [Int]]())
        await UserQueues.run(queues, concurrency: concurrency) { item in
            let parts = item.split(separator: ":")
            let user = String(parts[0])
            inFlight.enter(user)
            try? await Task.sleep(for: .milliseconds(1))
            seen.withLock { $0[user, default: []].append(Int(parts[1])!) }
            inFlight.leave(user)
        }
        let order = seen.withLock { $0 }
        #expect(order.count == 20)
        #expect(order.values.allSatisfy { $0 == [0, 1, 2, 3, 4] }, "each user's items in order")
        #expect(inFlight.overlaps == 0, "never two items of one user at once")
        #expect(inFlight.most <= concurrency)
        #expect(inFlight.most == concurrency, "the limit is used, not just respected")
    }

    @Test("a run sends each user's lines in file order and never two at once")
    func runKeepsUserOrder() async throws {
        var lines: [String] = []
        for round in 0..<6 {
            for user in ["a", "b", "c", "d", "e"] { lines.append(round == 0 ? "ADD,\(user),1.00" : "QUOTE,\(user),S") }
        }
        lines.append("DUMPLOG,./testLOG")
        let inFlight = InFlight()
        let transport = FakeTransport { request, _ in
            inFlight.enter(request.body.user!)
            try await Task.sleep(for: .milliseconds(1))
            inFlight.leave(request.body.user!)
            return .ok
        }
        let report = await WorkloadRun(workload: workload(lines), options: testOptions(concurrency: 2), transport: transport, clock: TestClock()).run()

        #expect(report.answered == 30)
        #expect(inFlight.overlaps == 0)
        #expect(inFlight.most <= 2)
        var sentByUser: [String: [Int]] = [:]
        for case .sent(let line, let user?) in transport.events { sentByUser[user, default: []].append(line) }
        for (user, sent) in sentByUser {
            #expect(sent == sent.sorted(), "\(user)'s lines in order")
            #expect(sent.count == 6)
        }
    }

    @Test("the administrator's DUMPLOG goes last, after every other command has been answered")
    func dumpLast() async throws {
        let output = try temporaryDirectory() + "/sub/log.xml"
        // The DUMPLOG line is in the middle of the file: it still goes last.
        let lines = ["ADD,a,1.00", "ADD,b,1.00", "DUMPLOG,./testLOG", "QUOTE,a,S", "DUMPLOG,b,./bLOG", "QUOTE,b,S"]
        let transport = FakeTransport { _, _ in
            try await Task.sleep(for: .milliseconds(2))
            return .ok
        }
        let report = await WorkloadRun(workload: workload(lines), options: testOptions(dumpOutput: output), transport: transport, clock: TestClock()).run()

        let events = transport.events
        #expect(events.last == .dump(line: 3))
        #expect(events.filter { if case .dump = $0 { true } else { false } }.count == 1, "one dump: the user's DUMPLOG is a command")
        #expect(events.dropLast().filter { if case .answered = $0 { true } else { false } }.count == 5, "all five commands answered before")
        #expect(transport.requests.last?.body == CommandBody(filename: "./testLOG", transactionNum: 3, idempotencyKey: "run-3"))
        #expect(report.commands == 5)
        #expect(report.dump == DumpReport(line: 3, file: output, seconds: 0, bytes: 1234, error: nil))
        #expect(FileManager.default.fileExists(atPath: (output as NSString).deletingLastPathComponent), "the output's directory is made")
        #expect(report.succeeded)
    }

    @Test("no dump when none is asked for, or the workload has no DUMPLOG")
    func noDump() async {
        let withDump = workload(["ADD,a,1.00", "DUMPLOG,./testLOG"])
        let transport = FakeTransport()
        let report = await WorkloadRun(workload: withDump, options: testOptions(dumpOutput: nil), transport: transport, clock: TestClock()).run()
        #expect(report.dump == nil)
        #expect(!transport.events.contains(.dump(line: 2)))

        let withoutDump = workload(["ADD,a,1.00"])
        let other = await WorkloadRun(workload: withoutDump, options: testOptions(dumpOutput: "unused/log.xml"), transport: FakeTransport(), clock: TestClock()).run()
        #expect(other.dump == nil)
        #expect(other.succeeded)
    }

    @Test("a refused dump fails the run; rejections of commands do not")
    func refusedDump() async throws {
        let output = try temporaryDirectory() + "/log.xml"
        let transport = FakeTransport(dump: { _ in .refused(.error(403, code: "supervisor_only")) }) { _, _ in .error(409, code: "insufficient_funds") }
        let report = await WorkloadRun(
            workload: workload(["BUY,a,S,1.00", "DUMPLOG,./testLOG"]), options: testOptions(dumpOutput: output), transport: transport, clock: TestClock()
        ).run()
        #expect(report.rejected == 1)
        #expect(report.failed == 0)
        #expect(report.dump?.error?.contains("supervisor_only") == true)
        #expect(!report.succeeded)
        #expect(transport.events.filter { $0 == .dump(line: 2) }.count == 1, "a JSON refusal is an answer: not retried")
    }

    @Test("--rate paces the commands on the run's clock")
    func ratePaces() async {
        let clock = TestClock()
        let lines = (0..<10).map { "QUOTE,u\($0),S" }
        let report = await WorkloadRun(workload: workload(lines), options: testOptions(concurrency: 10, rate: 100), transport: FakeTransport(), clock: clock).run()
        #expect(report.answered == 10)
        #expect(clock.now.offset == .milliseconds(90), "ten commands at 100/s: the last starts 90 ms after the first")
    }
}
