import Foundation
import Testing
@testable import WorkloadGenerator

@Suite("Summaries: one file per user after the run")
struct SummariesTests {
    @Test("each valid user's DISPLAY_SUMMARY is written to <dir>/<user>.json; unsafe ids are skipped")
    func written() async throws {
        let directory = try temporaryDirectory() + "/summaries"
        let transport = FakeTransport { request, _ in
            guard request.command == .displaySummary else { return .ok }
            if request.body.user == "gone" { return .error(404, code: "unknown_account") }
            return .json(200, #"{"user":"\#(request.body.user!)","cash":"1.00"}"#)
        }
        let lines = ["ADD,alice,1.00", "ADD,../etc,1.00", "ADD,gone,1.00", "QUOTE,alice,S", "DUMPLOG,./testLOG"]
        let report = await WorkloadRun(workload: workload(lines), options: testOptions(summaries: directory), transport: transport, clock: TestClock()).run()

        let summaries = try #require(report.summaries)
        #expect(summaries.written == 1)
        #expect(summaries.skipped == ["../etc"])
        #expect(summaries.failed == [FailedSummary(user: "gone", reason: "unknown_account")])
        let text = try String(contentsOfFile: directory + "/alice.json", encoding: .utf8)
        #expect(text == #"{"user":"alice","cash":"1.00"}"#)
        #expect(!FileManager.default.fileExists(atPath: directory + "/gone.json"))
        let summaryRequests = transport.requests.filter { $0.command == .displaySummary }
        #expect(Set(summaryRequests.map(\.body)) == [CommandBody(user: "alice"), CommandBody(user: "gone")], "valid users only, user alone in the body")
        #expect(summaryRequests.count == 2)
        #expect(report.answered == 4, "summaries are not workload lines")
    }
}
