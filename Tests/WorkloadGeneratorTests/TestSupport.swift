import DayTraderCore
import Foundation
import Synchronization
@testable import WorkloadGenerator

/// A clock whose sleeps return at once, moving its time to their deadline: waits show up in
/// the times measured, and tests never wait for real.
final class TestClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let state = Mutex((now: Instant(offset: .zero), sleeps: [Duration]()))

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }
    /// The length of every sleep so far, in order.
    var sleeps: [Duration] { state.withLock { $0.sleeps } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        state.withLock { state in
            state.sleeps.append(state.now.duration(to: deadline))
            if state.now < deadline { state.now = deadline }
        }
    }

    func advance(by duration: Duration) {
        state.withLock { $0.now = $0.now.advanced(by: duration) }
    }
}

/// A transport that answers from a closure and records what was sent.
final class FakeTransport: CommandTransport {
    /// What happened, in order: a command sent or answered, a dump sent.
    enum Event: Hashable, Sendable {
        case sent(line: Int, user: String?)
        case answered(line: Int, user: String?)
        case dump(line: Int)
    }

    typealias Answer = @Sendable (_ request: WorkloadRequest, _ attempt: Int) async throws -> CommandResponse
    private let answer: Answer
    private let dumpAnswer: @Sendable (_ attempt: Int) async throws -> DumpResponse
    private let state = Mutex((events: [Event](), attempts: [String: Int](), requests: [WorkloadRequest]()))

    /// Answers commands with `answer`, and a dump with `dump` (by default a saved log of 1234 bytes).
    init(
        dump: @escaping @Sendable (_ attempt: Int) async throws -> DumpResponse = { _ in .saved(bytes: 1234) },
        _ answer: @escaping Answer
    ) {
        self.answer = answer
        self.dumpAnswer = dump
    }

    /// Answers every command with 200 and saves every dump.
    convenience init() {
        self.init { _, _ in .ok }
    }

    var events: [Event] { state.withLock { $0.events } }
    var requests: [WorkloadRequest] { state.withLock { $0.requests } }

    func send(_ request: WorkloadRequest, timeout: Duration) async throws -> CommandResponse {
        let attempt = begin(request, event: .sent(line: request.lineNumber, user: request.body.user))
        defer { state.withLock { $0.events.append(.answered(line: request.lineNumber, user: request.body.user)) } }
        return try await answer(request, attempt)
    }

    func dump(_ request: WorkloadRequest, to path: String, timeout: Duration) async throws -> DumpResponse {
        try await dumpAnswer(begin(request, event: .dump(line: request.lineNumber)))
    }

    private func begin(_ request: WorkloadRequest, event: Event) -> Int {
        state.withLock { state in
            state.events.append(event)
            state.requests.append(request)
            let key = "\(request.command.rawValue) \(request.lineNumber) \(request.body.user ?? "")"
            state.attempts[key, default: 0] += 1
            return state.attempts[key]!
        }
    }
}

extension CommandResponse {
    static let ok = CommandResponse(status: 200, body: Array(#"{"cash":"1.00"}"#.utf8))

    static func json(_ status: Int, _ text: String) -> CommandResponse {
        CommandResponse(status: status, body: Array(text.utf8))
    }

    static func error(_ status: Int, code: String) -> CommandResponse {
        json(status, #"{"error":{"code":"\#(code)","message":"test"}}"#)
    }
}

/// A workload from lines written without their numbers: line `i` gets `[i+1]`.
func workload(_ lines: [String], name: String = "test") -> Workload {
    Workload(text: lines.enumerated().map { "[\($0.offset + 1)] \($0.element) " }.joined(separator: "\n"), name: name)
}

/// Options for a run against a fake transport: no progress display, no dump file unless given.
func testOptions(
    concurrency: Int = 4,
    maxAttempts: Int = 5,
    dumpOutput: String? = nil,
    summaries: String? = nil,
    rate: Double? = nil
) -> RunOptions {
    RunOptions(
        baseURL: "http://test",
        concurrency: concurrency,
        runID: "run",
        retry: RetryPolicy(maxAttempts: maxAttempts),
        dumpOutput: dumpOutput,
        summariesDirectory: summaries,
        rate: rate,
        progress: .off
    )
}

/// A fresh directory under the system's temporary directory.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "workload-generator-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
