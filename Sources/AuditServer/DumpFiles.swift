import DayTraderCore
import Foundation
import _NIOFileSystem

/// Where DUMPLOG files go, and how much of the disk they may take.
///
/// - Each caller has a directory of its own: the service's `service/`, each auditor's or
///   supervisor's `staff/<name>/`, each user's `users/<user id>/` (their own log, dumped by
///   them or by an anonymous caller), so no caller's dump replaces another's.
/// - A dump is written to a temporary file, opened for reading, then renamed into place: a
///   reader of the path never sees half a log, and the response is read from the file this dump
///   wrote (``WrittenDump/file``), whatever another dump of the same name does to the path.
/// - Each directory keeps its newest `keep` dumps; older ones are removed after each dump.
/// - No dump starts while the disk holds less than `minimumFreeBytes` free.
struct DumpFiles: Sendable {
    let root: String
    let keep: Int
    let minimumFreeBytes: Int64

    /// The directory of a caller's dumps (of `user`'s log, or of the whole log when `nil`).
    func directory(for caller: Caller, user: UserID?) -> String {
        switch caller {
        case .service: "\(root)/service"
        case .person(let name, .auditor), .person(let name, .supervisor): "\(root)/staff/\(name)"
        case .person(let name, .trader): "\(root)/users/\(name)"
        // Access lets an anonymous caller dump one user's log only.
        case .anonymous: "\(root)/users/\(user?.rawValue ?? "-")"
        }
    }

    /// Makes `directory`, and refuses (audit_unavailable) while the disk has too little free.
    func prepare(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let free = (try? FileManager.default.attributesOfFileSystem(forPath: directory)[.systemFreeSize] as? NSNumber)?.int64Value ?? .max
        guard free >= minimumFreeBytes else {
            throw Rejection(.auditUnavailable, "the dump directory's disk has \(free / 1_048_576) MiB free, under the \(minimumFreeBytes / 1_048_576) MiB it must keep; try again later")
        }
    }

    /// Writes `filename` in `directory` (``prepare(_:)`` first) with what `produce` writes; the
    /// file, open for reading.
    func write(
        _ filename: String, in directory: String,
        _ produce: (inout BufferedWriter<WriteFileHandle>) async throws -> Void
    ) async throws -> WrittenDump {
        let path = "\(directory)/\(filename)"
        let temporary = "\(directory)/.\(filename).\(UUID().uuidString.lowercased()).partial"
        var opened: ReadFileHandle?
        do {
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(temporary), options: .newFile(replaceExisting: true)) { file in
                try await file.withBufferedWriter { writer in try await produce(&writer) }
            }
            let file = try await FileSystem.shared.openFile(forReadingAt: FilePath(temporary))
            opened = file
            let bytes = try await file.info().size
            try await FileSystem.shared.replaceItem(at: FilePath(path), withItemAt: FilePath(temporary))
            prune(directory)
            return WrittenDump(path: path, file: file, bytes: bytes)
        } catch {
            try? await opened?.close()
            _ = try? await FileSystem.shared.removeItem(at: FilePath(temporary))
            throw error
        }
    }

    /// Removes all but the newest `keep` finished dumps of `directory`.
    private func prune(_ directory: String) {
        let manager = FileManager.default
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        guard let files = try? manager.contentsOfDirectory(at: url, includingPropertiesForKeys: [.contentModificationDateKey], options: .skipsHiddenFiles) else { return }
        let newestFirst = files.sorted {
            let first = (try? $0.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            let second = (try? $1.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            return first > second
        }
        for old in newestFirst.dropFirst(keep) {
            try? manager.removeItem(at: old)
        }
    }
}

/// A dump as written: where it lies, and the very file this dump wrote, open for reading (its
/// reader closes it).
public struct WrittenDump: Sendable {
    public let path: String
    public let file: ReadFileHandle
    public let bytes: Int64
}

/// At most `limit` dumps run at once (each holds a database connection while it waits for the
/// events in flight and while it reads the log); the others wait their turn, in order.
actor DumpSlots {
    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func acquire() async {
        guard running >= limit else {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the slot to the first waiter, if any.
    func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
