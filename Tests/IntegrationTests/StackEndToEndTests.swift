import ChildProcess
import DayTraderCore
import Foundation
import PostgresNIO
import Testing

/// The deployed system end to end: scripts/stack.sh brings up PostgreSQL, Redis, RabbitMQ, the
/// quote emulator, the audit server, two transaction servers and HAProxy; the workload
/// generator replays 10User_testWorkLoad through HAProxy, dumps the log and writes every
/// user's summary. Once as is, once with a transaction server killed (-9) in the middle.
@Suite(.timeLimit(.minutes(30))) struct StackEndToEndTests {
    enum Disruption: String, CaseIterable, CustomTestStringConvertible {
        case none, serverKilled
        var testDescription: String { rawValue }
    }

    @Test(
        .enabled(if: WorkloadReplayTests.available, "../shared/course is absent: the course workload files and schema are not beside the repo"),
        arguments: Disruption.allCases
    )
    func tenUsersThroughHAProxy(disruption: Disruption) async throws {
        let workload = WorkloadReplayTests.workloads.appendingPathComponent("10User_testWorkLoad").path
        let lines = try WorkloadReplayTests.lines(of: "10User_testWorkLoad")
        let stack = try Stack()
        try await stack.up()
        if disruption == .none {
            // The operations routes answer on the operations port only, never on the public front.
            let operations = Int(stack.settings["STATS_PORT"]!)!
            for path in ["/health/ready", "/metrics", "/internal/audit-barrier"] {
                #expect(await stack.answers(stack.frontPort, path, with: 404), "\(path) through the public front")
            }
            for path in ["/health/ready", "/metrics", "/stats"] {
                #expect(await stack.answers(operations, path, with: 200), "\(path) on the operations port")
            }
            // Sign-in is on (the stack's default): no command and no DUMPLOG without a session or
            // the service token; the page itself is open.
            let add = #"{"user":"probe","amount":"1.00"}"#
            #expect(await stack.answersPost(stack.frontPort, "/api/add", add, with: 401, within: 10, token: nil))
            #expect(await stack.answersPost(stack.frontPort, "/api/add", add, with: 401, within: 10, token: "wrong"))
            #expect(await stack.answersPost(stack.frontPort, "/api/dumplog", #"{"filename":"x"}"#, with: 401, within: 10, token: nil))
            #expect(await stack.answersPost(stack.frontPort, "/api/dumplog", #"{"user":"probe","filename":"x"}"#, with: 401, within: 10, token: nil))
            #expect(await stack.answers(stack.frontPort, "/", with: 200), "the web page through the front")
            // Slow clients hold no server: 600 POSTs whose bodies never come (more than the two
            // servers' 512 slots) wait in HAProxy, and a whole request is still served at once.
            let trickle = try ChildProcess.spawn("/bin/sh", ["-c", "exec python3 -c \"$0\" \"$@\" 2>>'\(stack.directory)-python.log'", Self.stalledPosts, "\(stack.frontPort)", "600", "15", "\(stack.directory)-stalled"])
            #expect(try await eventually(within: .seconds(60)) { FileManager.default.fileExists(atPath: "\(stack.directory)-stalled") })
            // (A body that is no command: answered by a server, and not logged.)
            #expect(await stack.answersPost(stack.frontPort, "/api/quote", "probe", with: 400, within: 5), "a whole request waited behind 600 stalled ones")
            kill(trickle, SIGTERM)
            _ = await ChildProcess.wait(for: trickle)
            // 5,000 connections at once from one address, which may hold 2,000: the rest are closed at
            // once, nothing crashes, and HAProxy serves on when they are gone (once its 10 s
            // connection-rate window, a sliding estimate over two periods, has let them go).
            let flood = try ChildProcess.spawn("/bin/sh", ["-c", "exec python3 -c \"$0\" \"$@\" 2>>'\(stack.directory)-python.log'", Self.stalledPosts, "\(stack.frontPort)", "5000", "15", "\(stack.directory)-flood"])
            #expect(try await eventually(within: .seconds(60)) { FileManager.default.fileExists(atPath: "\(stack.directory)-flood") })
            let closed = Int((try? String(contentsOfFile: "\(stack.directory)-flood", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            #expect(closed >= 2_900, "\(closed) of 5,000 connections from one address were closed")
            kill(flood, SIGTERM)
            _ = await ChildProcess.wait(for: flood)
            #expect(try await eventually(within: .seconds(40), every: .seconds(2)) {
                await stack.answersPost(stack.frontPort, "/api/quote", "probe", with: 400, within: 5)
            }, "HAProxy did not serve on after the flood")
        }
        let outcome: Result<Int32, any Error>
        do {
            outcome = .success(try await replay(workload, on: stack, disruption: disruption))
        } catch {
            outcome = .failure(error)
        }
        // The auditor's reconciliation of the ledger, the balances and the log (the generator's
        // DUMPLOG has proven every event stored).
        let (reconciled, reconciliation) = await stack.reconcile()
        await stack.down()
        let status = try outcome.get()
        #expect(reconciled == 0, "\(reconciliation)")

        #expect(status == 0, "the workload generator failed; its output is in \(stack.directory)/generator.log")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(stack.directory)/report.json"))) as? [String: Any]
        #expect(report?["failed"] as? Int == 0, "no line may be lost: \(String(describing: report))")

        // One userCommand per line, retries and all.
        let parsed = try await AuditPipelineTests.checkWholeLog("\(stack.directory)/log.xml", of: lines)

        // Every user's final cash, as the system reports it, is the log's adds minus removes.
        let summaries = try FileManager.default.contentsOfDirectory(atPath: "\(stack.directory)/summaries")
        var cash: [String: Int64] = [:]
        for file in summaries where file.hasSuffix(".json") {
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(stack.directory)/summaries/\(file)"))) as? [String: Any]
            cash[String(file.dropLast(5))] = try Money(parsing: summary?["cash"] as? String ?? "").cents
        }
        #expect(cash.count == 10)
        #expect(parsed.cashByUser == cash)
        try? FileManager.default.removeItem(atPath: stack.directory)
    }

    @Test(.enabled(if: WorkloadReplayTests.available, "../shared/course is absent"))
    func eachDemoLogsItsOwnWorkloadOnly() async throws {
        let stack = try Stack()
        let second = "\(stack.directory)-second"
        try "[1] ADD,demouser01,10.00 \n[2] DISPLAY_SUMMARY,demouser01 \n[3] DUMPLOG,./testLOG".write(toFile: second, atomically: true, encoding: .utf8)
        let first = try await stack.demo(WorkloadReplayTests.workloads.appendingPathComponent("1userWorkLoad").path, out: "\(stack.directory)-out1")
        let again = try await stack.demo(second, out: "\(stack.directory)-out2")
        await stack.down()
        #expect(first == 0 && again == 0, "make demo failed; see \(stack.directory).log")
        // The demo ends with the page's address and the people to sign in with.
        let printed = (try? String(contentsOfFile: "\(stack.directory).log", encoding: .utf8)) ?? ""
        #expect(printed.contains("The page: http://127.0.0.1:\(stack.frontPort)/"), "see \(stack.directory).log")
        for role in ["trader", "auditor", "supervisor"] {
            #expect(printed.contains("demo_\(role)") && printed.contains("password"), "\(role): see \(stack.directory).log")
        }
        let log = try ParsedLog(path: "\(stack.directory)-out2/log.xml")
        #expect(log.events.filter { $0.kind == "userCommand" }.map(\.transactionNum) == [1, 2, 3], "the second demo's log is its own workload's only")
        #expect(Set(log.events.compactMap { $0.fields["username"] }) == ["demouser01"])
    }

    /// Python: opens argv[2] connections to 127.0.0.1:argv[1], sends each a POST's headers and
    /// the first byte of its body, and holds them argv[3] seconds; a second after the last
    /// opened, writes into the file argv[4] how many the other end has closed or refused.
    static let stalledPosts = """
        import socket, sys, time
        port, count, hold, ready = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
        held = []
        refused = 0
        for _ in range(count):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                refused += 1
                continue
            try:
                s.sendall(b"POST /api/quote HTTP/1.1\\r\\nHost: daytrader\\r\\nContent-Type: application/json\\r\\nContent-Length: 100\\r\\n\\r\\n{")
            except OSError:
                pass
            held.append(s)
        time.sleep(1)
        closed = refused
        for s in held:
            s.setblocking(False)
            try:
                closed += s.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        with open(ready + ".partial", "w") as f:
            f.write(str(closed))
        import os; os.rename(ready + ".partial", ready)
        time.sleep(hold)
        """

    /// Runs the generator; with `.serverKilled`, kills ts1 once 3,000 lines are answered.
    private func replay(_ workload: String, on stack: Stack, disruption: Disruption) async throws -> Int32 {
        let generator = try ChildProcess.spawn("/bin/sh", ["-c", """
            API_SERVICE_TOKEN='\(Stack.serviceToken)' exec '\(AuditServerProcess.binaryDirectory)/workload-generator' run '\(workload)' --url http://127.0.0.1:\(stack.frontPort) \
              --output '\(stack.directory)/log.xml' --json '\(stack.directory)/report.json' --summaries '\(stack.directory)/summaries' \
              >'\(stack.directory)/generator.log' 2>&1
            """])
        if disruption == .serverKilled {
            try await stack.waitForAnsweredLines(3_000)
            let pid = try String(contentsOfFile: "\(stack.directory)/ts1/pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(kill(pid_t(pid) ?? 0, SIGKILL) == 0, "ts1 (pid \(pid)) could not be killed")
        }
        return await ChildProcess.wait(for: generator)
    }
}

/// One whole stack of the test's own: free ports, its own run directory.
struct Stack {
    let directory = AuditServerProcess.repositoryRoot.appendingPathComponent("run/test/stack-\(UUID().uuidString.prefix(8))").path
    let frontPort: Int
    let settings: [String: String]
    /// The machines' token the stack is given (API_SERVICE_TOKEN); sign-in is on.
    static let serviceToken = "stack-test-\(UUID().uuidString)"

    init() throws {
        frontPort = try freePort()
        let firstServer = try freePort(alsoFree: 1)
        settings = [
            "SERVERS": "2",
            "FRONT_PORT": "\(frontPort)",
            "STATS_PORT": "\(try freePort())",
            "SERVER_BASE_PORT": "\(firstServer - 1)",
            "AUDIT_PORT": "\(try freePort())",
            "QUOTE_PORT": "\(try freePort())",
            "PG_PORT": "\(try freePort())",
            "REDIS_PORT": "\(try freePort())",
            "RABBITMQ_PORT": "\(try freePort(alsoFree: 5))",
            "PG_FAST": "1",
            "BIN_DIR": AuditServerProcess.binaryDirectory,
            "LOG_LEVEL": "warning",
            // No quote expires during the run, so no trigger fires after the last command (each
            // command fires what it makes hold before its reply): the dump and the summaries that
            // follow it see the same state.
            "QUOTE_LIFETIME_MS": "3600000",
            "API_SERVICE_TOKEN": Self.serviceToken,
        ]
    }

    private func script(_ action: String) -> String {
        let variables = settings.sorted { $0.key < $1.key }.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let script = AuditServerProcess.repositoryRoot.appendingPathComponent("scripts/stack.sh").path
        return "\(variables) '\(script)' \(action) '\(directory)' >>'\(directory).log' 2>&1"
    }

    func up(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try #require(await ChildProcess.runShell(script("up")) == 0, "the stack did not come up; see \(directory).log", sourceLocation: sourceLocation)
    }

    func down() async {
        _ = await ChildProcess.runShell(script("down"))
    }

    /// `reconcile` against this stack's databases: its exit status and what it printed.
    func reconcile() async -> (Int32, String) {
        let output = "\(directory)-reconcile.txt"
        let status = await ChildProcess.runShell("""
            POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=\(settings["PG_PORT"]!) POSTGRES_USER=daytrader \
            '\(AuditServerProcess.binaryDirectory)/reconcile' >'\(output)' 2>&1
            """)
        return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// Whether a POST of `body` to `path` on the local `port`, sent with `token` (by default the
    /// service token; `nil`: none), answers with the HTTP status `code` within `seconds`.
    func answersPost(_ port: Int, _ path: String, _ body: String, with code: Int, within seconds: Int, token: String? = Stack.serviceToken) async -> Bool {
        let bearer = token.map { " -H 'Authorization: Bearer \($0)'" } ?? ""
        return await ChildProcess.runShell("""
            test "$(curl -s -o /dev/null -w '%{http_code}' --max-time \(seconds) -H 'Content-Type: application/json'\(bearer) \
              --data-binary '\(body)' http://127.0.0.1:\(port)\(path))" = \(code)
            """) == 0
    }

    /// Whether a GET of `path` on the local `port` answers with the HTTP status `code`.
    func answers(_ port: Int, _ path: String, with code: Int) async -> Bool {
        await ChildProcess.runShell("test \"$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:\(port)\(path))\" = \(code)") == 0
    }

    /// `make demo` (scripts/demo.sh) of `workload` on this stack's ports and run directory, its
    /// outputs in `out`; its exit status.
    func demo(_ workload: String, out: String) async throws -> Int32 {
        let variables = settings.merging(["RUN_DIR": directory, "WORKLOAD": workload, "OUT_DIR": out, "KEEP": "0"]) { $1 }
            .sorted { $0.key < $1.key }.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let script = AuditServerProcess.repositoryRoot.appendingPathComponent("scripts/demo.sh").path
        return await ChildProcess.runShell("\(variables) '\(script)' >>'\(directory).log' 2>&1")
    }

    /// Waits until the stack has stored the replies of `lines` keyed commands.
    func waitForAnsweredLines(_ lines: Int64) async throws {
        let postgres = PostgresClient(
            configuration: .init(host: "127.0.0.1", port: Int(settings["PG_PORT"]!)!, username: "daytrader", password: nil, database: "daytrader", tls: .disable),
            backgroundLogger: TestServices.logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            defer { group.cancelAll() }
            let answered = try await eventually(within: .seconds(600), every: .milliseconds(100)) {
                for try await count in try await postgres.query("SELECT count(*) FROM processed_requests", logger: TestServices.logger).decode(Int64.self) {
                    return count >= lines
                }
                return false
            }
            try #require(answered, "the replay did not reach \(lines) lines")
        }
    }
}
