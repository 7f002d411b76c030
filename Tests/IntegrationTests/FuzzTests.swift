import ChildProcess
import Foundation
import Testing

/// The bounded fuzz run (scripts/fuzz.sh): schemathesis, from the servers' own OpenAPI
/// document, against a stack of the test's own; then the log and reconciliation.
@Suite(.timeLimit(.minutes(15))) struct FuzzTests {
    @Test func theAPIHoldsUnderGeneratedRequests() async throws {
        let firstServer = try freePort(alsoFree: 1)
        let directory = AuditServerProcess.repositoryRoot.appendingPathComponent("run/test/fuzz-\(UUID().uuidString.prefix(8))").path
        let settings = [
            "EXAMPLES": "25", "SEED": "468", "RUN_DIR": directory, "OUT_DIR": "\(directory)-out",
            "BIN_DIR": AuditServerProcess.binaryDirectory,
            "FRONT_PORT": "\(try freePort())", "STATS_PORT": "\(try freePort())", "SERVER_BASE_PORT": "\(firstServer - 1)",
            "AUDIT_PORT": "\(try freePort())", "QUOTE_PORT": "\(try freePort())", "PG_PORT": "\(try freePort())",
            "REDIS_PORT": "\(try freePort())", "RABBITMQ_PORT": "\(try freePort(alsoFree: 5))", "PG_FAST": "1",
        ]
        let variables = settings.sorted { $0.key < $1.key }.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let script = AuditServerProcess.repositoryRoot.appendingPathComponent("scripts/fuzz.sh").path
        let status = await ChildProcess.runShell("\(variables) '\(script)' >'\(directory).log' 2>&1")
        let output = (try? String(contentsOfFile: "\(directory).log", encoding: .utf8)) ?? ""
        #expect(status == 0, "scripts/fuzz.sh failed:\n\(output)")
        #expect(output.contains("fuzz: passed"), "\(output)")
    }
}
