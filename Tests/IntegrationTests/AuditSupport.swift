import ChildProcess
import DayTraderCore
import Foundation
import Synchronization
import Testing

/// The audit-server executable, run as a process of its own so that a test can kill -9 it.
///
/// Started through `ChildProcess` (never Foundation's Process, which hangs in this sandbox);
/// requests go through curl for the same reason.
final class AuditServerProcess: Sendable {
    let port: Int
    let environment: [String: String]
    let directory: String
    private let pid = Mutex<pid_t>(0)

    /// The build's executables: `DAYTRADER_BIN_DIR` (make test sets it), else .build/debug.
    static var binaryDirectory: String {
        if let directory = ProcessInfo.processInfo.environment["DAYTRADER_BIN_DIR"], !directory.isEmpty { return directory }
        return repositoryRoot.appendingPathComponent(".build/debug").path
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// - Parameter tradingPort: a transaction server's port: DUMPLOG asks it for the barrier.
    /// The service token the server accepts (API_SERVICE_TOKEN); sign-in is off (API_AUTH), as
    /// for the in-process transaction servers it asks.
    static let serviceToken = "audit-test-\(UUID().uuidString)"

    /// - Parameter signInRequired: API_AUTH; off by default, like the in-process transaction
    ///   servers' (their sessions are what a cookie is checked against).
    init(tradingPort: Int, auditDatabase: String, queue: String, rabbitMQPort: Int, signInRequired: Bool = false) throws {
        // Below the ephemeral range, and free now: a port picked at random met another user once.
        port = try freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: "\(directory)/dumps", withIntermediateDirectories: true)
        environment = [
            "SERVER_NAME": "audit-test",
            "HTTP_PORT": "\(port)",
            "POSTGRES_PORT": "\(TestServices.postgresPort)",
            "TRADING_URL": "http://127.0.0.1:\(tradingPort)",
            "AUDIT_DATABASE": auditDatabase,
            "RABBITMQ_PORT": "\(rabbitMQPort)",
            "AUDIT_EXCHANGE": queue,
            "AUDIT_QUEUE": queue,
            "AUDIT_DUMP_DIRECTORY": "\(directory)/dumps",
            "AUDIT_BARRIER_TIMEOUT_MS": "120000",
            "LOG_LEVEL": "notice",
            "PATH": "/usr/bin:/bin",
            "API_AUTH": signInRequired ? "on" : "off",
            "API_SERVICE_TOKEN": Self.serviceToken,
        ]
    }

    var dumpDirectory: String { "\(directory)/dumps" }
    var logPath: String { "\(directory)/audit-server.log" }

    /// Starts the server and waits until it answers /health/ready.
    func start(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let binary = "\(Self.binaryDirectory)/audit-server"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "\(binary) is missing: build the package first (make test does)", sourceLocation: sourceLocation)
        let child = try ChildProcess.spawn("/bin/sh", ["-c", "exec '\(binary)' >>'\(logPath)' 2>&1"], environment: environment.map { "\($0.key)=\($0.value)" })
        pid.withLock { $0 = child }
        // By the clock, not by a count of polls: each poll may itself take seconds on a loaded machine.
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if await request("GET", "/health/ready", body: nil, output: "/dev/null", maxSeconds: 5) == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the audit server did not become ready within 120 s; its log: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")", sourceLocation: sourceLocation)
    }

    /// Starts the server, runs `body`, and stops the server afterwards whether or not `body` threw.
    func running<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async throws -> T {
        try await start(sourceLocation: sourceLocation)
        return try await withCleanup(body) { await stop() }
    }

    /// SIGKILL: a crash, with no chance to ack or flush anything. Returns once the process is gone.
    func kill9() async { await signal(SIGKILL) }

    /// SIGTERM. Returns once the server has shut down.
    func stop() async { await signal(SIGTERM) }

    private func signal(_ signal: Int32) async {
        let child = pid.withLock { pid in defer { pid = 0 }; return pid }
        guard child > 0 else { return }
        Glibc.kill(child, signal)
        await ChildProcess.wait(for: child)
    }

    /// DUMPLOG, sent with `token` (by default the service's; `nil`: none) and `cookie` (a
    /// `Cookie` header's value); the response body goes to `output`. Returns the HTTP status.
    func dumplog(
        user: String? = nil, filename: String, transactionNum: Int? = nil, idempotencyKey: String? = nil,
        token: String? = AuditServerProcess.serviceToken, cookie: String? = nil, output: String
    ) async throws -> Int {
        var fields: [String: Any] = ["filename": filename]
        fields["user"] = user
        fields["transactionNum"] = transactionNum
        fields["idempotencyKey"] = idempotencyKey
        let body = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
        return await request("POST", "/api/dumplog", body: body, token: token, cookie: cookie, output: output)
    }

    /// `GET /api/reconciliation` (of `user`, or of everyone), sent with `token` or `cookie` as
    /// DUMPLOG is; the body goes to `output`. Returns the HTTP status.
    func reconcile(user: String? = nil, token: String? = AuditServerProcess.serviceToken, cookie: String? = nil, output: String) async -> Int {
        await request("GET", "/api/reconciliation" + (user.map { "?user=\($0)" } ?? ""), body: nil, token: token, cookie: cookie, output: output)
    }

    /// One HTTP request through curl; the HTTP status, or 0 when there was no answer. Waits on a
    /// thread of its own: the transaction servers the audit server calls back run in this test
    /// process, on Swift's cooperative pool (one thread per core), which a blocked thread starves.
    private func request(_ method: String, _ path: String, body: String?, token: String? = nil, cookie: String? = nil, output: String, maxSeconds: Int = 300) async -> Int {
        let statusFile = "\(directory)/status-\(UUID().uuidString)"
        defer { unlink(statusFile) }
        var command = "curl -s -m \(maxSeconds) -o '\(output)' -w '%{http_code}' -X \(method) -H 'Content-Type: application/json'"
        if let token { command += " -H 'Authorization: Bearer \(token)'" }
        if let cookie { command += " -H 'Cookie: \(cookie)'" }
        if let body {
            let bodyFile = "\(directory)/body-\(UUID().uuidString)"
            _ = FileManager.default.createFile(atPath: bodyFile, contents: Data(body.utf8))
            command += " --data-binary @'\(bodyFile)'"
        }
        command += " http://127.0.0.1:\(port)\(path) >'\(statusFile)' 2>/dev/null"
        _ = await ChildProcess.runShell(command)
        let status = Int((try? String(contentsOfFile: statusFile, encoding: .utf8)) ?? "") ?? 0
        if status == 0 || status >= 500 {
            // What the server said, for the failure that follows: an outage, a barrier's time limit.
            let said = (try? String(contentsOfFile: output, encoding: .utf8))?.prefix(500) ?? ""
            print("\(method) \(path) on the audit server: status \(status): \(said)")
        }
        return status
    }
}

/// A RabbitMQ node of a test's own, so stopping it disturbs no other test.
struct PrivateRabbitMQ {
    let port: Int
    /// services.sh's default place for it.
    var distributionPort: Int { port + 5 }
    let runDirectory = AuditServerProcess.repositoryRoot.appendingPathComponent("run/test/rabbitmq-\(UUID().uuidString.prefix(8))").path

    init() throws {
        port = try freePort(alsoFree: 5)
    }

    private func command(_ action: String) -> String {
        let script = AuditServerProcess.repositoryRoot.appendingPathComponent("scripts/services.sh").path
        return "RABBITMQ_PORT=\(port) RABBITMQ_DIST_PORT=\(distributionPort) '\(script)' \(action) '\(runDirectory)' >>'\(runDirectory).log' 2>&1"
    }

    private func services(_ action: String) async -> Int32 {
        await ChildProcess.runShell(command(action))
    }

    func start(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try #require(await services("start-rabbitmq") == 0, "the private RabbitMQ did not start; see \(runDirectory).log", sourceLocation: sourceLocation)
    }

    func stop(sourceLocation: SourceLocation = #_sourceLocation) async {
        #expect(await services("stop-rabbitmq") == 0, "the private RabbitMQ did not stop; see \(runDirectory).log", sourceLocation: sourceLocation)
    }

}

/// A log.xml read back: the events with their fields. The writer puts one element per line,
/// which keeps this reader simple.
struct ParsedLog {
    struct Event {
        var kind: String
        var fields: [String: String] = [:]
        var transactionNum: Int { Int(fields["transactionNum"] ?? "") ?? 0 }
    }
    var events: [Event] = []

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var current: Event?
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let kind = AuditEvent.Kind.allCases.first(where: { trimmed == "<\($0.rawValue)>" }) {
                current = Event(kind: kind.rawValue)
            } else if let event = current, trimmed == "</\(event.kind)>" {
                events.append(event)
                current = nil
            } else if current != nil, trimmed.hasPrefix("<"), let close = trimmed.firstIndex(of: ">"), let end = trimmed.range(of: "</", options: .backwards) {
                let name = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
                current?.fields[name] = String(trimmed[trimmed.index(after: close)..<end.lowerBound])
            }
        }
    }

    /// For each user: the log's accountTransaction adds minus removes, in cents.
    var cashByUser: [String: Int64] {
        var cash: [String: Int64] = [:]
        for event in events where event.kind == "accountTransaction" {
            guard let user = event.fields["username"], let funds = event.fields["funds"].flatMap({ try? Money(parsing: $0) }) else { continue }
            cash[user, default: 0] += event.fields["action"] == "add" ? funds.cents : -funds.cents
        }
        return cash
    }
}

/// xmllint's verdict on a log; `nil` when valid, else its complaint.
func schemaProblems(_ log: String, schema: String) async -> String? {
    let report = FileManager.default.temporaryDirectory.appendingPathComponent("xmllint-\(UUID().uuidString)").path
    defer { unlink(report) }
    let status = await ChildProcess.runShell("xmllint --noout --stream --schema '\(schema)' '\(log)' >'\(report)' 2>&1")
    if status == 0 { return nil }
    return String(((try? String(contentsOfFile: report, encoding: .utf8)) ?? "xmllint failed").prefix(2_000))
}
