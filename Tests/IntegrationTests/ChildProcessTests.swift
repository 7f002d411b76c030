import ChildProcess
import Foundation
import Testing

/// Waiting for other programs without holding Swift's cooperative pool.
@Suite(.timeLimit(.minutes(5))) struct ChildProcessTests {
    /// More children waited for at once than the pool has threads, each running until this
    /// test's own code tells it to stop: were the waits on the pool, they would occupy every
    /// thread and the test could not tell them; they give up on their own after two minutes or
    /// so, with another exit status. (Two minutes: on two cores a test may wait many seconds for
    /// its turn on the pool while other tests start.)
    @Test func waitingForChildrenLeavesTheCooperativePoolFree() async throws {
        let stopFile = FileManager.default.temporaryDirectory.appendingPathComponent("stop-\(UUID().uuidString)").path
        defer { unlink(stopFile) }
        let children = try (0..<(ProcessInfo.processInfo.activeProcessorCount + 2)).map { index in
            try ChildProcess.spawn("/bin/sh", ["-c", "for i in $(seq 6000); do [ -e '\(stopFile)' ] && exit \(index); sleep 0.02; done; exit 99"])
        }
        let waits = children.map { child in Task { await ChildProcess.wait(for: child) } }
        try await Task.sleep(for: .milliseconds(200))
        #expect(FileManager.default.createFile(atPath: stopFile, contents: nil))
        var statuses: [Int32] = []
        for wait in waits { statuses.append(await wait.value) }
        #expect(statuses == (0..<Int32(children.count)).map { $0 }, "each child's exit status")
    }

    @Test func aShellCommandGivesItsExitStatus() async {
        #expect(await ChildProcess.runShell("exit 7") == 7)
        #expect(await ChildProcess.runShell("kill -9 $$") == -1, "a signal ended it")
    }
}
