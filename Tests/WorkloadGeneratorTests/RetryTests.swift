import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
@testable import WorkloadGenerator

@Suite("Retries: only transport failures, with exponential backoff")
struct RetryTests {
    static let haproxyPage = "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"

    @Test("responses: proxy 502/503/504 and a server's 503 unavailable are retried; every other answer of a server is not", arguments: [
        (502, haproxyPage, true),
        (503, haproxyPage, true),
        (504, "", true),
        (503, #"{"error":{"code":"quote_unavailable","message":"no quote"}}"#, false),
        (503, #"{"error":{"code":"unavailable","message":"database"}}"#, true),
        (503, #"{"error":{"code":"audit_unavailable","message":"barrier"}}"#, false),
        (502, #"{"command":"BUY"}"#, true),
        (500, haproxyPage, false),
        (404, "", false),
        (409, #"{"error":{"code":"insufficient_funds","message":"x"}}"#, false),
        (200, #"{"cash":"1.00"}"#, false),
    ])
    func responses(status: Int, body: String, retried: Bool) {
        #expect(RetryPolicy.isRetried(status: status, body: Array(body.utf8)) == retried)
    }

    @Test("errors: connection failures and timeouts are retried; a bad request or cancellation is not", arguments: [
        (HTTPClientError.readTimeout as any Error, true),
        (HTTPClientError.connectTimeout, true),
        (HTTPClientError.deadlineExceeded, true),
        (HTTPClientError.remoteConnectionClosed, true),
        (ChannelError.ioOnClosedChannel, true),
        (IOError(errnoCode: ECONNREFUSED, reason: "connect"), true),
        (HTTPClientError.invalidURL, false),
        (HTTPClientError.alreadyShutdown, false),
        (CancellationError(), false),
    ])
    func errors(error: any Error, retried: Bool) {
        #expect(RetryPolicy.isRetried(error) == retried)
    }

    @Test("backoff: 50 ms doubling to at most 2 s")
    func backoff() {
        let policy = RetryPolicy()
        let waits = (1...9).map { policy.backoff(afterAttempt: $0) }
        #expect(waits == [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000].map { Duration.milliseconds($0) })
        #expect(policy.backoff(afterAttempt: 1_000) == .seconds(2))
        #expect(policy.maxAttempts == 20)
    }

    @Test("a line that fails twice and then answers is counted once, with two retries and their waits")
    func retriedThenAnswered() async {
        let clock = TestClock()
        let transport = FakeTransport { _, attempt in
            if attempt == 1 { throw HTTPClientError.remoteConnectionClosed }
            if attempt == 2 { return .json(502, Self.haproxyPage) }
            return .ok
        }
        let report = await WorkloadRun(workload: workload(["ADD,a,1.00"]), options: testOptions(), transport: transport, clock: clock).run()
        #expect(report.answered == 1)
        #expect(report.retries == 2)
        #expect(report.failed == 0)
        #expect(clock.sleeps == [.milliseconds(50), .milliseconds(100)])
        #expect(report.latencyMs.overall.p50 >= 149 && report.latencyMs.overall.p50 <= 151, "latency runs from the first attempt")
        #expect(transport.requests.map(\.body.idempotencyKey) == ["run-1", "run-1", "run-1"], "the same key on every attempt")
    }

    @Test("a line that never gets through is given up after max attempts, and the run fails")
    func givenUp() async {
        let transport = FakeTransport { request, _ in
            if request.lineNumber == 2 { throw HTTPClientError.connectTimeout }
            return .ok
        }
        let report = await WorkloadRun(workload: workload(["ADD,a,1.00", "QUOTE,a,S", "QUOTE,a,S"]), options: testOptions(maxAttempts: 4), transport: transport, clock: TestClock()).run()
        #expect(report.answered == 2, "the user's later lines are still sent")
        #expect(report.failed == 1)
        #expect(report.retries == 3)
        #expect(report.failedLines.map(\.line) == [2])
        #expect(report.failedLines.first?.attempts == 4)
        #expect(!report.succeeded)
    }

    @Test("an error that no retry helps gives up at once")
    func notRetried() async {
        let transport = FakeTransport { _, _ in throw HTTPClientError.invalidURL }
        let report = await WorkloadRun(workload: workload(["ADD,a,1.00"]), options: testOptions(), transport: transport, clock: TestClock()).run()
        #expect(report.failedLines.first?.attempts == 1)
        #expect(report.retries == 0)
    }

    @Test("a server's JSON 503 is an answer, counted by its code; other errors by http_<status>")
    func answersByCode() async {
        let transport = FakeTransport { request, _ in
            switch request.lineNumber {
            case 1: .error(503, code: "quote_unavailable")
            case 2: .json(404, "")
            case 3: .error(409, code: "insufficient_funds")
            default: .ok
            }
        }
        let report = await WorkloadRun(
            workload: workload(["QUOTE,a,S", "QUOTE,a,T", "BUY,a,S,1.00", "ADD,a,1.00"]), options: testOptions(), transport: transport, clock: TestClock()
        ).run()
        #expect(report.retries == 0)
        #expect(report.answered == 4)
        #expect(report.rejected == 3)
        #expect(report.errors == ["quote_unavailable": 1, "http_404": 1, "insufficient_funds": 1])
        #expect(report.succeeded)
    }

    @Test("a dump the proxy could not deliver is retried")
    func dumpRetried() async throws {
        let output = try temporaryDirectory() + "/log.xml"
        let transport = FakeTransport(dump: { attempt in
            attempt < 3 ? .refused(.json(503, Self.haproxyPage)) : .saved(bytes: 99)
        }) { _, _ in .ok }
        let report = await WorkloadRun(workload: workload(["ADD,a,1.00", "DUMPLOG,./testLOG"]), options: testOptions(dumpOutput: output), transport: transport, clock: TestClock()).run()
        #expect(report.dump?.bytes == 99)
        #expect(report.dump?.error == nil)
        #expect(report.retries == 2)
    }
}
