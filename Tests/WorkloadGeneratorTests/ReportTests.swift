import DayTraderCore
import Foundation
import Testing
@testable import WorkloadGenerator

@Suite("Report: percentiles, counts and the JSON shape")
struct ReportTests {
    @Test("percentiles of 1 to 1000 ms, to HdrHistogram's three significant digits")
    func percentiles() {
        var histogram = LatencyHistogram()
        for milliseconds in (1...1000).reversed() { histogram.record(.milliseconds(milliseconds)) }
        let summary = histogram.summary
        #expect(summary.count == 1000)
        #expect(abs(summary.p50 - 500) <= 0.5)
        #expect(abs(summary.p90 - 900) <= 0.9)
        #expect(abs(summary.p99 - 990) <= 1)
        #expect(abs(summary.max - 1000) <= 1)
    }

    @Test("microsecond resolution, and an empty histogram reports zeros")
    func resolution() {
        var histogram = LatencyHistogram()
        #expect(histogram.summary == LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, max: 0))
        histogram.record(.microseconds(1_234))
        #expect(histogram.summary.max == 1.234)
    }

    @Test("statistics count answers, rejections by code and latencies per command")
    func statistics() {
        var statistics = RunStatistics()
        statistics.recordAnswer(.buy, latency: .milliseconds(3), errorCode: nil)
        statistics.recordAnswer(.buy, latency: .milliseconds(5), errorCode: "insufficient_funds")
        statistics.recordAnswer(.add, latency: .milliseconds(1), errorCode: nil)
        statistics.recordFailure(FailedLine(line: 9, command: "QUOTE", attempts: 20, reason: "x"))
        #expect(statistics.answered == 3)
        #expect(statistics.rejected == 1)
        #expect(statistics.done == 4)
        #expect(statistics.errorsByCode == ["insufficient_funds": 1])
        #expect(statistics.byCommand[.buy]?.summary.count == 2)
        #expect(statistics.overall.summary.count == 3)
    }

    @Test("the JSON report has every documented key, null for what did not happen")
    func jsonShape() async throws {
        let transport = FakeTransport { request, _ in request.lineNumber == 2 ? .error(409, code: "insufficient_funds") : .ok }
        let report = await WorkloadRun(workload: workload(["ADD,a,1.00", "BUY,a,S,5.00"]), options: testOptions(), transport: transport, clock: TestClock()).run()
        let object = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        #expect(object.keys.sorted() == [
            "answered", "commands", "commandsPerSecond", "dump", "errors", "failed", "failedLines", "latencyMs", "rejected",
            "retries", "runId", "skippedLines", "summaries", "tenths", "wallTimeSeconds", "workload",
        ])
        #expect(object["tenths"] as? [Double] == [], "fewer than ten lines have no tenths")
        #expect(object["dump"] is NSNull)
        #expect(object["summaries"] is NSNull)
        #expect(object["runId"] as? String == "run")
        #expect(object["commands"] as? Int == 2)
        #expect(object["errors"] as? [String: Int] == ["insufficient_funds": 1])
        let latency = try #require(object["latencyMs"] as? [String: Any])
        #expect(latency.keys.sorted() == ["byCommand", "overall"])
        let byCommand = try #require(latency["byCommand"] as? [String: [String: Any]])
        #expect(byCommand.keys.sorted() == ["ADD", "BUY"])
        #expect(byCommand["BUY"]?.keys.sorted() == ["count", "max", "p50", "p90", "p99"])
    }

    @Test("the dump's keys, error null when saved")
    func dumpShape() throws {
        let dump = DumpReport(line: 100, file: "out/log.xml", seconds: 1.5, bytes: 10, error: nil)
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(dump)) as? [String: Any])
        #expect(object.keys.sorted() == ["bytes", "error", "file", "line", "seconds"])
        #expect(object["error"] is NSNull)
    }

    @Test("the text report names every command sent, the error codes and the dump")
    func text() async throws {
        let output = try temporaryDirectory() + "/log.xml"
        let transport = FakeTransport { request, _ in request.lineNumber == 2 ? .error(409, code: "insufficient_funds") : .ok }
        let report = await WorkloadRun(
            workload: workload(["ADD,a,1.00", "BUY,a,S,5.00", "DUMPLOG,./testLOG"]), options: testOptions(dumpOutput: output), transport: transport, clock: TestClock()
        ).run()
        let text = report.text
        for expected in ["ADD", "BUY", "overall", "insufficient_funds", "1234 bytes to \(output)", "run run"] {
            #expect(text.contains(expected), "\(expected) in:\n\(text)")
        }
    }

    @Test("the progress line")
    func progressLine() {
        let counts = ProgressCounts(done: 250, rejected: 3, failed: 1, retries: 2)
        #expect(ProgressDisplay.line(counts, total: 1000, elapsed: .seconds(2), withBar: false) == "250/1000  125.0 commands/s  retries 2  errors 3  failed 1")
        #expect(ProgressDisplay.line(counts, total: 1000, elapsed: .seconds(2), withBar: true).hasPrefix("[#######.......................] 250/1000"))
    }
}

@Suite("Report: the rate by tenth of the run")
struct RateByTenthTests {
    @Test("each tenth's lines over its time")
    func tenths() {
        var statistics = RunStatistics()
        // 100 lines: the first half one per 10 ms, the second half one per 20 ms.
        var elapsed = Duration.zero
        for line in 0..<100 {
            elapsed += .milliseconds(line < 50 ? 10 : 20)
            statistics.doneAt.append(elapsed)
        }
        let rates = statistics.rateByTenth
        #expect(rates.count == 10)
        #expect(rates.prefix(5).allSatisfy { abs($0 - 100) < 0.001 })
        #expect(rates.suffix(5).allSatisfy { abs($0 - 50) < 0.001 })
        #expect(RunStatistics().rateByTenth.isEmpty)
    }
}
