import ChildProcess
import Foundation
import Testing

/// `make chaos`, shorter: the 10-user file at 100 commands/s while every fault happens once
/// (scripts/chaos.sh): nothing lost or doubled, the log valid with one userCommand per line,
/// reconciliation passed.
@Suite(.timeLimit(.minutes(15))) struct ChaosTests {
    @Test(.enabled(if: WorkloadReplayTests.available, "../shared/course is absent: the course workload files are not beside the repo"))
    func everyFaultOnceLosesAndDoublesNothing() async throws {
        let firstServer = try freePort(alsoFree: 1)
        let directory = AuditServerProcess.repositoryRoot.appendingPathComponent("run/test/chaos-\(UUID().uuidString.prefix(8))").path
        let settings = [
            "WORKLOAD": WorkloadReplayTests.workloads.appendingPathComponent("10User_testWorkLoad").path,
            "RATE": "100", "GAP": "3", "SEED": "468",
            "RUN_DIR": directory, "OUT_DIR": "\(directory)-out", "BIN_DIR": AuditServerProcess.binaryDirectory,
            "FRONT_PORT": "\(try freePort())", "STATS_PORT": "\(try freePort())", "SERVER_BASE_PORT": "\(firstServer - 1)",
            "AUDIT_PORT": "\(try freePort())", "QUOTE_PORT": "\(try freePort())", "PG_PORT": "\(try freePort())",
            "REDIS_PORT": "\(try freePort())", "RABBITMQ_PORT": "\(try freePort(alsoFree: 5))",
            "LOG_LEVEL": "warning",
        ]
        let variables = settings.sorted { $0.key < $1.key }.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let script = AuditServerProcess.repositoryRoot.appendingPathComponent("scripts/chaos.sh").path
        let status = await ChildProcess.runShell("\(variables) '\(script)' >'\(directory).log' 2>&1")
        let output = (try? String(contentsOfFile: "\(directory).log", encoding: .utf8)) ?? ""
        #expect(status == 0, "scripts/chaos.sh failed:\n\(output)")
        #expect(output.contains("chaos: passed"), "\(output)")
        for fault in ["transaction-server", "postgresql", "redis", "rabbitmq", "audit-server", "haproxy", "quote-stall", "quote-drop"] {
            #expect(output.contains("\n\(fault) "), "the table has no row for \(fault)")
        }
    }
}
