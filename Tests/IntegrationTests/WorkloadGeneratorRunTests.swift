import DayTraderCore
import Foundation
import Testing
import WorkloadGenerator

/// The workload generator's library, run over HTTP against a live transaction server.
@Suite(.timeLimit(.minutes(15))) struct WorkloadGeneratorRunTests {
    @Test(.enabled(if: WorkloadReplayTests.available, "../shared/course/workloads is absent: the course workload files are not beside the repo"))
    func oneUserWorkload() async throws {
        let file = WorkloadReplayTests.workloads.appendingPathComponent("1userWorkLoad").path
        let workload = try Workload(contentsOfFile: file)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isNewline).count
        #expect(workload.malformed.isEmpty)
        let summaries = FileManager.default.temporaryDirectory.appendingPathComponent("summaries-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: summaries) }

        let fixture = try await TradingServerFixture.make()
        let report = try await fixture.withServer { client in
            let options = RunOptions(
                baseURL: "http://127.0.0.1:\(client.port)",
                concurrency: 8,
                dumpOutput: nil,
                summariesDirectory: summaries,
                progress: .off
            )
            return try await WorkloadRunner.run(workload, options: options)
        }

        #expect(report.commands == lines - 1, "every line but the final DUMPLOG is sent")
        #expect(report.answered == report.commands, "every line got an answer: \(report.failedLines.prefix(5))")
        #expect(report.failed == 0)
        #expect(report.dump == nil)
        #expect(report.succeeded)
        #expect(report.latencyMs.overall.count == report.commands)

        let user = try #require(workload.users.first)
        #expect(workload.users.count == 1)
        #expect(report.summaries?.written == 1)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(summaries)/\(user).json"))) as? [String: Any]
        let summaryCash = try Money(parsing: try #require(summary?["cash"] as? String))
        let accountCash = try await fixture.cashByUser()[user]
        #expect(summaryCash.cents == accountCash, "the summary's cash is the account's")
        try await fixture.checkLedgerMatchesBalances()
    }
}
