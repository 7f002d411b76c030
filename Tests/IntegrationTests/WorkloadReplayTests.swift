import DayTraderCore
import Foundation
import NIOCore
import PostgresNIO
import Synchronization
import Testing
import TimeLimits
import WorkloadGenerator

/// Replays the course's workload files (all but the final DUMPLOG) against a live server.
@Suite(.timeLimit(.minutes(30))) struct WorkloadReplayTests {
    static let workloads = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/course/workloads")
    static let available = FileManager.default.fileExists(atPath: workloads.path)

    @Test(
        .enabled(if: available, "../shared/course/workloads is absent: the course workload files are not beside the repo"),
        arguments: ["1userWorkLoad", "10User_testWorkLoad", "100User_testWorkLoad"]
    )
    func replay(file: String) async throws {
        let lines = try Self.lines(of: file)
        let commands = lines.filter { $0.request.name != CommandName.dumplog.rawValue }
        let fixture = try await TradingServerFixture.make()
        let replies = try await fixture.withServer { client in
            try await Self.replay(commands, through: client)
        }

        #expect(replies.count == commands.count, "every line gets a response")
        let unanswered = replies.filter { _, reply in reply.json.isEmpty || reply.status.code >= 500 }
        #expect(unanswered.isEmpty, "lines without a proper JSON answer: \(unanswered.keys.sorted().prefix(10))")
        for (number, reply) in replies where reply.json["cash"] == nil && reply.errorCode == nil {
            Issue.record("line \(number) got \(reply.body.prefix(200))")
        }
        try await fixture.checkLedgerMatchesBalances()
        let fills = try await fixture.int64("SELECT count(*) FROM ledger WHERE kind LIKE '%_trigger_fill'")
        print("\(file): \(commands.count) commands replayed, \(fills) triggers fired")

        if file == "10User_testWorkLoad" {
            let negativeAdd = try #require(replies[9962])
            #expect(negativeAdd.errorCode == "invalid_amount")
            let touched = try await fixture.int64("SELECT count(*) FROM ledger WHERE transaction_num = 9962")
            #expect(touched == 0, "the rejected negative ADD must change nothing")
        }
    }

    static func lines(of file: String) throws -> [WorkloadLine] {
        let text = try String(contentsOf: workloads.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").map { try WorkloadLine(parsing: $0) }
    }

    /// Sends every line: each user's lines in order on a connection of their own, the users in
    /// parallel. `answered` counts the replies as they come, for tests that act mid-replay.
    static func replay(_ commands: [WorkloadLine], through client: CommandClient, answered: ReplayProgress? = nil) async throws -> [Int: CommandClient.Reply] {
        var byUser: [String: [WorkloadLine]] = [:]
        for line in commands { byUser[line.request.user ?? "", default: []].append(line) }
        let perUser = byUser
        defer { answered?.replayEnded() }
        return try await withThrowingTaskGroup(of: [(Int, CommandClient.Reply)].self) { group in
            for userLines in perUser.values {
                group.addTask {
                    try await client.withConnection { connection in
                        var replies: [(Int, CommandClient.Reply)] = []
                        for line in userLines {
                            replies.append((line.lineNumber, try await connection.send(try #require(WorkloadRequest(line: line, runID: "replay")))))
                            answered?.lineAnswered()
                        }
                        return replies
                    }
                }
            }
            return try await group.reduce(into: [Int: CommandClient.Reply]()) { all, replies in
                for (number, reply) in replies { all[number] = reply }
            }
        }
    }
}

extension CommandClient {
    /// Sends a workload line as the workload generator does: its route and its JSON body.
    func send(_ request: WorkloadRequest) async throws -> Reply {
        let (status, bytes, _) = try await transport(request.path, .post, ByteBuffer(bytes: request.body.json()))
        return Reply(status: status, body: String(buffer: bytes))
    }
}

/// How many lines of a replay have been answered so far, for tests that act mid-replay.
final class ReplayProgress: Sendable {
    private let answered = Atomic<Int>(0)
    private let ended = Atomic<Bool>(false)

    func lineAnswered() { answered.add(1, ordering: .relaxed) }

    /// How many lines have been answered so far.
    var count: Int { answered.load(ordering: .relaxed) }

    /// Called when the replay returns or throws: a waiter must not wait for lines that will
    /// never come.
    func replayEnded() { ended.store(true, ordering: .releasing) }

    /// Waits until at least `lines` lines were answered. Throws if the replay ended short of
    /// them (it failed) or if no line was answered for `stallLimit`, so a broken replay fails
    /// the test instead of hanging the run.
    func wait(for lines: Int, stallLimit: Duration = .seconds(120)) async throws {
        var last = answered.load(ordering: .relaxed)
        var lastMoved = ContinuousClock.now
        while true {
            let current = answered.load(ordering: .relaxed)
            if current >= lines { return }
            if ended.load(ordering: .acquiring), answered.load(ordering: .relaxed) < lines {
                throw StillWaiting(what: "\(lines) answered lines: the replay ended after \(current)")
            }
            if current != last {
                (last, lastMoved) = (current, .now)
            } else if ContinuousClock.now - lastMoved > stallLimit {
                throw StillWaiting(what: "\(lines) answered lines: none answered for \(stallLimit) after \(current)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
