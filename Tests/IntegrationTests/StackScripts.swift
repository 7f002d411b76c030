import ChildProcess
import Foundation

/// Runs one of the scripts that bring up a whole stack of their own (scripts/chaos.sh,
/// scripts/fuzz.sh) on free ports and a run directory under run/test, with the debug build.
/// Returns its exit status and everything it printed.
func runStackScript(_ name: String, settings: [String: String]) async throws -> (status: Int32, output: String) {
    let firstServer = try freePort(alsoFree: 1)
    let directory = AuditServerProcess.repositoryRoot.appendingPathComponent("run/test/\(name)-\(UUID().uuidString.prefix(8))").path
    let all = settings.merging([
        "RUN_DIR": directory, "OUT_DIR": "\(directory)-out", "BIN_DIR": AuditServerProcess.binaryDirectory,
        "FRONT_PORT": "\(try freePort())", "STATS_PORT": "\(try freePort())", "SERVER_BASE_PORT": "\(firstServer - 1)",
        "AUDIT_PORT": "\(try freePort())", "QUOTE_PORT": "\(try freePort())", "PG_PORT": "\(try freePort())",
        "REDIS_PORT": "\(try freePort())", "RABBITMQ_PORT": "\(try freePort(alsoFree: 5))",
    ]) { given, _ in given }
    let variables = all.sorted { $0.key < $1.key }.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
    let script = AuditServerProcess.repositoryRoot.appendingPathComponent("scripts/\(name).sh").path
    let status = await ChildProcess.runShell("\(variables) '\(script)' >'\(directory).log' 2>&1")
    return (status, (try? String(contentsOfFile: "\(directory).log", encoding: .utf8)) ?? "")
}
