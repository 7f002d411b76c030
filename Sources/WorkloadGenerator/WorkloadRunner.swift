import AsyncHTTPClient
import DayTraderCore
import Foundation
import NIOCore
import Synchronization
import _NIOFileSystem

/// How to run a workload (the options of `workload-generator run`).
public struct RunOptions: Sendable {
    /// Where the stack is: HAProxy in the deployed stack. `http://` only.
    public var baseURL: String
    /// How many users' queues run at once; also the size of the connection pool.
    public var concurrency: Int
    /// The prefix of every idempotency key (`<runID>-<line number>`).
    public var runID: String
    public var retry: RetryPolicy
    /// The limit on one attempt of a command, reply included.
    public var requestTimeout: Duration
    /// The limit on one attempt of the final DUMPLOG, the whole log included.
    public var dumpTimeout: Duration
    /// Where to save the log of the final DUMPLOG; `nil` skips the dump.
    public var dumpOutput: String?
    /// Where to write each user's account summary after the run; `nil` writes none.
    public var summariesDirectory: String?
    /// At most this many commands start per second; `nil` for no limit.
    public var rate: Double?
    /// The service token (API_SERVICE_TOKEN), sent as `Authorization: Bearer <token>` with every
    /// request; `nil` sends none (a stack with sign-in off).
    public var serviceToken: String?
    public var progress: ProgressStyle

    public init(
        baseURL: String = "http://127.0.0.1:8080",
        concurrency: Int = 64,
        runID: String = RunOptions.randomRunID(),
        retry: RetryPolicy = RetryPolicy(),
        requestTimeout: Duration = .seconds(30),
        dumpTimeout: Duration = .seconds(600),
        dumpOutput: String? = "out/log.xml",
        summariesDirectory: String? = nil,
        rate: Double? = nil,
        serviceToken: String? = nil,
        progress: ProgressStyle = .automatic
    ) {
        self.baseURL = baseURL
        self.concurrency = concurrency
        self.runID = runID
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.dumpTimeout = dumpTimeout
        self.dumpOutput = dumpOutput
        self.summariesDirectory = summariesDirectory
        self.rate = rate
        self.serviceToken = serviceToken
        self.progress = progress
    }

    /// Eight random hexadecimal digits.
    public static func randomRunID() -> String {
        let digits = String(UInt32.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Throws a message for the first option out of range.
    public func validate() throws(RunOptionsError) {
        guard baseURL.hasPrefix("http://"), let host = URL(string: baseURL)?.host, !host.isEmpty else {
            throw RunOptionsError("the URL must start with http:// and name a host, got '\(baseURL)'")
        }
        guard concurrency >= 1 else { throw RunOptionsError("the concurrency must be at least 1") }
        // The key is `<runID>-<line number>` and may be at most 200 bytes.
        guard (1...100).contains(runID.utf8.count), runID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw RunOptionsError("the run id must be 1-100 printable ASCII characters without spaces")
        }
        guard retry.maxAttempts >= 1 else { throw RunOptionsError("the attempts must be at least 1") }
        guard requestTimeout > .zero, dumpTimeout > .zero else { throw RunOptionsError("timeouts must be more than zero") }
        if let rate, !(rate > 0 && rate.isFinite) { throw RunOptionsError("the rate must be more than zero") }
    }
}

/// An option out of range.
public struct RunOptionsError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a workload against a live stack over HTTP.
public enum WorkloadRunner {
    /// Sends every command of `workload` (each user's in order, users in parallel), then the
    /// final DUMPLOG, then the account summaries, as `options` ask, and reports.
    ///
    /// Malformed lines of the workload are not sent; they are listed as skipped. Lines that fail
    /// do not stop the run: they are reported, and make ``RunReport/succeeded`` false.
    public static func run(_ workload: Workload, options: RunOptions) async throws -> RunReport {
        try options.validate()
        var configuration = HTTPClient.Configuration()
        configuration.httpVersion = .http1Only
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.concurrency)
        // A refused connection fails the attempt at once, for the retry policy to count and
        // back off, instead of the pool retrying quietly until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        // No spans: a run sends a hundred thousand requests, and nothing collects traces.
        configuration.tracing.tracer = nil
        return try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            let baseURL = options.baseURL.hasSuffix("/") ? String(options.baseURL.dropLast()) : options.baseURL
            let transport = HTTPCommandTransport(client: client, baseURL: baseURL, serviceToken: options.serviceToken)
            let report = await WorkloadRun(workload: workload, options: options, transport: transport, clock: EventLoopClock()).run()
            await transport.connections.closeAll()
            return report
        }
    }
}

/// One run of a workload over any transport and clock; ``WorkloadRunner`` gives it HTTP and the
/// real clock, the tests a fake transport and a clock that does not wait.
struct WorkloadRun<C: Clock<Duration>>: Sendable {
    let workload: Workload
    let options: RunOptions
    let transport: any CommandTransport
    let clock: C
    let recorder = RunRecorder()

    func run() async -> RunReport {
        let limiter = options.rate.map { RateLimiter(rate: $0, clock: clock) }
        let start = clock.now
        await withTaskGroup(of: Void.self) { group in
            if options.progress == .automatic {
                let display = ProgressDisplay(total: workload.commands.count, recorder: recorder)
                group.addTask { await display.run(since: .now) }
            }
            await UserQueues.run(workload.queuesByUser, concurrency: options.concurrency) { line in
                await send(line, pacedBy: limiter, since: start)
            }
            group.cancelAll()
        }
        let wallTime = start.duration(to: clock.now)
        // Every command has completed: the log now holds all of them.
        let dump = await finalDump()
        let summaries = await writeSummaries()
        return report(wallTime: wallTime, dump: dump, summaries: summaries)
    }

    private func send(_ line: WorkloadLine, pacedBy limiter: RateLimiter<C>?, since start: C.Instant) async {
        guard let request = WorkloadRequest(line: line, runID: options.runID) else {
            recorder.record { $0.recordFailure(FailedLine(line: line.lineNumber, command: line.request.name, attempts: 0, reason: "not a command")) }
            return
        }
        try? await limiter?.acquire()
        let started = clock.now
        let outcome = await withRetries {
            let response = try await transport.send(request, timeout: options.requestTimeout)
            return try answer(response)
        }
        let finished = clock.now
        let latency = started.duration(to: finished)
        let doneAt = start.duration(to: finished)
        switch outcome {
        case .success(let response):
            // Parsed before taking the lock that every user's queue shares.
            let errorCode = response.errorCode
            recorder.record {
                $0.recordAnswer(request.command, latency: latency, errorCode: errorCode)
                $0.doneAt.append(doneAt)
            }
        case .failure(let gaveUp):
            let failure = FailedLine(line: line.lineNumber, command: line.request.name, attempts: gaveUp.attempts, reason: gaveUp.reason)
            recorder.record {
                $0.recordFailure(failure)
                $0.doneAt.append(doneAt)
            }
        }
    }

    /// Sends the workload's DUMPLOG and saves the log, unless no dump was asked for.
    private func finalDump() async -> DumpReport? {
        guard let output = options.dumpOutput, let line = workload.dump, let request = WorkloadRequest(line: line, runID: options.runID) else {
            return nil
        }
        var report = DumpReport(line: line.lineNumber, file: output, seconds: 0, bytes: 0, error: nil)
        do {
            let directory = URL(fileURLWithPath: output).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            report.error = "cannot create the directory of \(output): \(error)"
            return report
        }
        let started = clock.now
        let outcome = await withRetries {
            switch try await transport.dump(request, to: output, timeout: options.dumpTimeout) {
            case .saved(let bytes):
                return bytes
            case .refused(let response):
                _ = try answer(response)
                throw AttemptFailure(reason: "HTTP \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))", retryable: false)
            }
        }
        report.seconds = seconds(started.duration(to: clock.now))
        switch outcome {
        case .success(let bytes): report.bytes = bytes
        case .failure(let gaveUp): report.error = "after \(gaveUp.attempts) attempt(s): \(gaveUp.reason)"
        }
        return report
    }

    /// Writes each user's DISPLAY_SUMMARY reply to `<directory>/<user>.json`.
    private func writeSummaries() async -> SummariesReport? {
        guard let directory = options.summariesDirectory else { return nil }
        var users: [String] = []
        var skipped: [String] = []
        for user in workload.users {
            // The id becomes a file name: only ids the server accepts, which cannot climb out
            // of the directory.
            if (try? UserID(validating: user)) != nil { users.append(user) } else { skipped.append(user) }
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            return SummariesReport(directory: directory, written: 0, skipped: skipped, failed: users.map { FailedSummary(user: $0, reason: "cannot create \(directory): \(error)") })
        }
        let failures = Mutex<[FailedSummary]>([])
        await UserQueues.run(users.map { [$0] }, concurrency: options.concurrency) { user in
            let request = WorkloadRequest(command: .displaySummary, body: CommandBody(user: user))
            let outcome = await withRetries {
                let response = try await transport.send(request, timeout: options.requestTimeout)
                return try answer(response)
            }
            let reason: String
            switch outcome {
            case .success(let response) where response.status == 200:
                do {
                    try await Self.write(response.body, to: "\(directory)/\(user).json")
                    return
                } catch {
                    reason = "cannot write the file: \(error)"
                }
            case .success(let response):
                reason = response.errorCode ?? "HTTP \(response.status)"
            case .failure(let gaveUp):
                reason = "after \(gaveUp.attempts) attempt(s): \(gaveUp.reason)"
            }
            failures.withLock { $0.append(FailedSummary(user: user, reason: reason)) }
        }
        let failed = failures.withLock { $0 }.sorted { $0.user < $1.user }
        return SummariesReport(directory: directory, written: users.count - failed.count, skipped: skipped, failed: failed)
    }

    /// `response` as an answer, or the transport failure to retry that it stands for.
    private func answer(_ response: CommandResponse) throws(AttemptFailure) -> CommandResponse {
        guard !RetryPolicy.isRetried(status: response.status, body: response.body) else {
            throw AttemptFailure(reason: "HTTP \(response.status) without a server's JSON error (no server answered the proxy)", retryable: true)
        }
        return response
    }

    /// Runs `attempt` under the retry policy, counting the retries.
    private func withRetries<Answer>(_ attempt: () async throws -> Answer) async -> Result<Answer, GaveUp> {
        await options.retry.run(on: clock, onRetry: { recorder.record { $0.retries += 1 } }) {
            do {
                return .success(try await attempt())
            } catch let failure as AttemptFailure {
                return .failure(failure)
            } catch {
                return .failure(AttemptFailure(error))
            }
        }
    }

    private static func write(_ bytes: [UInt8], to path: String) async throws {
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)) { file in
            _ = try await file.write(contentsOf: bytes, toAbsoluteOffset: 0)
        }
    }

    private func report(wallTime: Duration, dump: DumpReport?, summaries: SummariesReport?) -> RunReport {
        let statistics = recorder.snapshot
        let wallSeconds = seconds(wallTime)
        return RunReport(
            workload: workload.name,
            runID: options.runID,
            commands: workload.commands.count,
            answered: statistics.answered,
            rejected: statistics.rejected,
            failed: statistics.failedLines.count,
            retries: statistics.retries,
            wallTimeSeconds: wallSeconds,
            commandsPerSecond: wallSeconds > 0 ? Double(statistics.done) / wallSeconds : 0,
            rateByTenth: statistics.rateByTenth,
            latencyMs: LatencyReport(
                overall: statistics.overall.summary,
                byCommand: Dictionary(uniqueKeysWithValues: statistics.byCommand.map { ($0.key.rawValue, $0.value.summary) })
            ),
            errors: statistics.errorsByCode,
            failedLines: statistics.failedLines.sorted { $0.line < $1.line },
            skippedLines: workload.malformed,
            dump: dump,
            summaries: summaries
        )
    }
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
