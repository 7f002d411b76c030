import DayTraderCore
import Foundation
import Testing
import _NIOFileSystem

@testable import AuditServer

/// DUMPLOG's files: a directory per caller, a response read from the file its dump wrote, a
/// bounded number kept, a floor of free disk, and a bound on dumps at once.
@Suite struct DumpFilesTests {
    let root = AuditServerProcess.repositoryRoot.appendingPathComponent("run/test/dumps-\(UUID().uuidString.prefix(8))").path

    func files(keep: Int = 10, minimumFreeBytes: Int64 = 0) -> DumpFiles {
        DumpFiles(root: root, keep: keep, minimumFreeBytes: minimumFreeBytes)
    }

    func write(_ text: String, named name: String, with files: DumpFiles, in directory: String) async throws -> WrittenDump {
        try files.prepare(directory)
        return try await files.write(name, in: directory) { writer in try await writer.write(contentsOf: Array(text.utf8)) }
    }

    func contents(of dump: WrittenDump) async throws -> String {
        var bytes: [UInt8] = []
        for try await chunk in dump.file.readChunks(chunkLength: .kibibytes(4)) { bytes += Array(buffer: chunk) }
        try await dump.file.close()
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func eachCallerHasADirectoryOfItsOwn() throws {
        let alice = try UserID(validating: "alice"), bob = try UserID(validating: "bob")
        let carol = Caller.person(name: "carol", role: .auditor), dave = Caller.person(name: "dave", role: .supervisor)
        let directories = [
            files().directory(for: .service, user: nil), files().directory(for: .service, user: alice),
            files().directory(for: carol, user: alice), files().directory(for: carol, user: bob),
            files().directory(for: dave, user: nil),
            files().directory(for: .person(name: "alice", role: .trader), user: alice), files().directory(for: .anonymous, user: alice),
            files().directory(for: .anonymous, user: bob),
        ]
        #expect(directories[0] == directories[1], "the service's dumps, of anyone, are the service's")
        #expect(directories[2] == directories[3], "an auditor's dumps, of anyone, are the auditor's")
        #expect(directories[5] == directories[6], "a user's own log, dumped by them or for them, is theirs")
        #expect(Set(directories).count == 5)
    }

    /// Two dumps of one name: each response is its own log, though the second replaced the path.
    @Test func aResponseReadsTheFileItsDumpWrote() async throws {
        let directory = files().directory(for: .service, user: nil)
        let first = try await write("<log>first</log>", named: "same.xml", with: files(), in: directory)
        let second = try await write("<log>second</log>", named: "same.xml", with: files(), in: directory)
        #expect(try await contents(of: first) == "<log>first</log>")
        #expect(try await contents(of: second) == "<log>second</log>")
        #expect(try String(contentsOfFile: "\(directory)/same.xml", encoding: .utf8) == "<log>second</log>")
        #expect(first.bytes == 16)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["same.xml"], "no temporary file is left")
    }

    @Test func aDirectoryKeepsItsNewestDumps() async throws {
        let files = files(keep: 3)
        let directory = files.directory(for: .service, user: nil)
        for index in 1...5 {
            _ = try await contents(of: try await write("<log>\(index)</log>", named: "dump\(index).xml", with: files, in: directory))
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["dump3.xml", "dump4.xml", "dump5.xml"])
    }

    @Test func noDumpStartsWithoutItsFloorOfFreeDisk() throws {
        let files = files(minimumFreeBytes: .max)
        #expect(throws: Rejection.self) { try files.prepare(files.directory(for: .service, user: nil)) }
    }

    @Test func dumpsBeyondTheLimitWaitTheirTurn() async throws {
        let slots = DumpSlots(limit: 1)
        await slots.acquire()
        let second = Task { await slots.acquire(); return ContinuousClock.now }
        try await Task.sleep(for: .milliseconds(200))
        let released = ContinuousClock.now
        await slots.release()
        #expect(await second.value >= released, "the second dump ran before the first released its slot")
        await slots.release()
    }
}
