import DayTraderCore
import Foundation

/// A workload file in the course format, read and split into what a run sends.
///
/// Every line is `[n] CMD,arg,...`; blank lines are ignored. The administrator's DUMPLOG (one
/// argument) is held back for the end of the run; a user's DUMPLOG (two arguments) is an
/// ordinary command in that user's queue.
public struct Workload: Sendable {
    /// The file's name, for the report.
    public var name: String
    /// Every command but the administrator's DUMPLOG, in file order.
    public var commands: [WorkloadLine]
    /// The administrator's DUMPLOG, sent after every other command has completed.
    public var dump: WorkloadLine?
    /// Lines that could not be used; a run refuses to start while there are any, unless told to
    /// skip them.
    public var malformed: [MalformedLine]

    /// Reads the workload in `text`; `name` is only for messages and the report.
    public init(text: String, name: String) {
        self.name = name
        commands = []
        malformed = []
        var firstLineOfNumber: [Int: Int] = [:]
        var dumpFileLine = 0
        for (index, text) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let fileLine = index + 1
            guard text.contains(where: { !$0.isWhitespace }) else { continue }
            let line: WorkloadLine
            do {
                line = try WorkloadLine(parsing: text)
            } catch {
                malformed.append(MalformedLine(fileLine: fileLine, message: error.description))
                continue
            }
            // The number is the transactionNum and part of the idempotency key: a second
            // line with the same number would be answered with the first one's reply.
            if let earlier = firstLineOfNumber[line.lineNumber] {
                malformed.append(MalformedLine(fileLine: fileLine, message: "[\(line.lineNumber)] is also the number of line \(earlier)"))
                continue
            }
            firstLineOfNumber[line.lineNumber] = fileLine
            if line.request.name == CommandName.dumplog.rawValue, line.request.user == nil {
                guard dump == nil else {
                    malformed.append(MalformedLine(fileLine: fileLine, message: "a second administrator DUMPLOG (the first is on line \(dumpFileLine))"))
                    continue
                }
                dump = line
                dumpFileLine = fileLine
            } else {
                commands.append(line)
            }
        }
    }

    /// Reads the workload file at `path`.
    public init(contentsOfFile path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        self.init(text: text, name: URL(fileURLWithPath: path).lastPathComponent)
    }

    /// Every user id the commands name, in order of first appearance.
    public var users: [String] {
        var seen = Set<String>()
        return commands.compactMap(\.request.user).filter { seen.insert($0).inserted }
    }

    /// The commands split into one queue per user, each in file order; the queues in order of
    /// each user's first line.
    var queuesByUser: [[WorkloadLine]] {
        var queueIndex: [String: Int] = [:]
        var queues: [[WorkloadLine]] = []
        for line in commands {
            let user = line.request.user ?? ""
            if let index = queueIndex[user] {
                queues[index].append(line)
            } else {
                queueIndex[user] = queues.count
                queues.append([line])
            }
        }
        return queues
    }
}

/// A workload line that could not be used, and why.
public struct MalformedLine: Encodable, Hashable, Sendable {
    /// The line's position in the file, counting from 1 (not its `[n]`).
    public var fileLine: Int
    public var message: String
}
