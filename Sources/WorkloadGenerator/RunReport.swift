import Foundation

/// What a run did, printed at the end and written as JSON by `--json`.
///
/// The JSON object has these keys, always present (`null` where noted), and its keys sorted:
/// - `workload` (string): the workload file's name.
/// - `runId` (string): the run id; each line's idempotency key is `<runId>-<line number>`.
/// - `commands` (integer): the lines sent, the final DUMPLOG not counted.
/// - `answered` (integer): lines that got an answer from a server, success or rejection.
/// - `rejected` (integer): answers that were errors (business rejections such as
///   `insufficient_funds`, or any other error status).
/// - `failed` (integer): lines given up after transport failures; `failedLines` lists them.
/// - `retries` (integer): attempts repeated after a transport failure, over every request
///   (the commands, the dump and the summaries).
/// - `wallTimeSeconds` (number): from the first command sent to the last one done, the dump and
///   the summaries not included.
/// - `commandsPerSecond` (number): lines done (answered or failed) per second of wall time.
/// - `tenths` (array of numbers): commands per second in each tenth of the lines, in the order
///   they were done (empty under ten lines): whether the rate held up to the end.
/// - `latencyMs` (object): `overall` and `byCommand` (keyed by command name, e.g. `"BUY"`),
///   each `{count, p50, p90, p99, max}` in milliseconds, from the first attempt to the answer.
/// - `errors` (object): answers by error code: the server's JSON `error.code`, or `http_<status>`
///   for an error status without one.
/// - `failedLines` (array): `{line, command, attempts, reason}` for each line given up.
/// - `skippedLines` (array): `{fileLine, message}` for each malformed line skipped.
/// - `dump` (object or `null` when no dump was asked for or the workload has no DUMPLOG):
///   `{line, file, seconds, bytes, error}`; `error` is `null` when the log was saved.
/// - `summaries` (object or `null` without `--summaries`): `{directory, written, skipped, failed}`;
///   `skipped` lists user ids not usable as file names, `failed` is `[{user, reason}]`.
public struct RunReport: Encodable, Sendable {
    public var workload: String
    public var runID: String
    public var commands: Int
    public var answered: Int
    public var rejected: Int
    public var failed: Int
    public var retries: Int
    public var wallTimeSeconds: Double
    public var commandsPerSecond: Double
    public var rateByTenth: [Double]
    public var latencyMs: LatencyReport
    public var errors: [String: Int]
    public var failedLines: [FailedLine]
    public var skippedLines: [MalformedLine]
    public var dump: DumpReport?
    public var summaries: SummariesReport?

    /// No line was given up and the dump, if asked for, was saved. Rejections do not count
    /// against a run: they are the server's answers.
    public var succeeded: Bool { failed == 0 && dump?.error == nil }

    enum CodingKeys: String, CodingKey {
        case workload, runID = "runId", commands, answered, rejected, failed, retries, wallTimeSeconds, commandsPerSecond
        case rateByTenth = "tenths"
        case latencyMs, errors, failedLines, skippedLines, dump, summaries
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(workload, forKey: .workload)
        try container.encode(runID, forKey: .runID)
        try container.encode(commands, forKey: .commands)
        try container.encode(answered, forKey: .answered)
        try container.encode(rejected, forKey: .rejected)
        try container.encode(failed, forKey: .failed)
        try container.encode(retries, forKey: .retries)
        try container.encode(wallTimeSeconds, forKey: .wallTimeSeconds)
        try container.encode(commandsPerSecond, forKey: .commandsPerSecond)
        try container.encode(rateByTenth, forKey: .rateByTenth)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(errors, forKey: .errors)
        try container.encode(failedLines, forKey: .failedLines)
        try container.encode(skippedLines, forKey: .skippedLines)
        // Written as null rather than left out, so that every report has every key.
        try container.encode(dump, forKey: .dump)
        try container.encode(summaries, forKey: .summaries)
    }

    /// The report as pretty-printed JSON with sorted keys.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The report as text for a terminal.
    public var text: String {
        var lines: [String] = []
        lines.append("workload \(workload), run \(runID)")
        lines.append("commands  \(commands): \(answered) answered (\(rejected) rejected), \(failed) failed, \(retries) retries")
        lines.append("wall time \(format(wallTimeSeconds, 3)) s, \(format(commandsPerSecond, 1)) commands/s")
        if !rateByTenth.isEmpty {
            lines.append("by tenth  " + rateByTenth.map { format($0, 0) }.joined(separator: ", ") + " commands/s")
        }
        lines.append("")
        lines.append(pad("latency ms", 18) + ["count", "p50", "p90", "p99", "max"].map { padLeft($0, 10) }.joined())
        for (name, summary) in latencyMs.byCommand.sorted(by: { $0.key < $1.key }) {
            lines.append(pad(name, 18) + summary.columns)
        }
        lines.append(pad("overall", 18) + latencyMs.overall.columns)
        if !errors.isEmpty {
            lines.append("")
            lines.append("errors by code")
            for (code, count) in errors.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
                lines.append("  " + pad(code, 26) + padLeft(String(count), 8))
            }
        }
        if !failedLines.isEmpty {
            lines.append("")
            lines.append("failed lines (\(failedLines.count))")
            for line in failedLines.prefix(20) {
                lines.append("  [\(line.line)] \(line.command) after \(line.attempts) attempt(s): \(line.reason)")
            }
            if failedLines.count > 20 { lines.append("  ... and \(failedLines.count - 20) more (all in --json)") }
        }
        if !skippedLines.isEmpty {
            lines.append("")
            lines.append("skipped malformed lines: \(skippedLines.count)")
        }
        lines.append("")
        if let dump {
            if let error = dump.error {
                lines.append("dumplog   FAILED after \(format(dump.seconds, 3)) s: \(error)")
            } else {
                lines.append("dumplog   \(format(dump.seconds, 3)) s, \(dump.bytes) bytes to \(dump.file)")
            }
        } else {
            lines.append("dumplog   not sent")
        }
        if let summaries {
            var line = "summaries \(summaries.written) written to \(summaries.directory)"
            if !summaries.skipped.isEmpty { line += ", \(summaries.skipped.count) user id(s) skipped" }
            if !summaries.failed.isEmpty { line += ", \(summaries.failed.count) failed" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

/// Latency summaries, over all lines and per command.
public struct LatencyReport: Encodable, Hashable, Sendable {
    public var overall: LatencySummary
    /// Keyed by command name (`"ADD"`, `"COMMIT_BUY"`, ...), for the commands the run sent.
    public var byCommand: [String: LatencySummary]
}

/// The distribution of one set of latencies, in milliseconds (microsecond resolution).
public struct LatencySummary: Encodable, Hashable, Sendable {
    public var count: Int
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double

    var columns: String {
        padLeft(String(count), 10) + [p50, p90, p99, max].map { padLeft(format($0, 3), 10) }.joined()
    }
}

/// A line that was given up after transport failures.
public struct FailedLine: Encodable, Hashable, Sendable {
    /// The line's `[n]`.
    public var line: Int
    public var command: String
    public var attempts: Int
    /// The last attempt's failure.
    public var reason: String
}

/// How the final DUMPLOG went.
public struct DumpReport: Encodable, Hashable, Sendable {
    /// The DUMPLOG line's `[n]`, sent as its transactionNum.
    public var line: Int
    /// Where the log was saved.
    public var file: String
    public var seconds: Double
    /// The size of the saved log.
    public var bytes: Int
    /// Why the dump failed; `nil` when the log was saved.
    public var error: String?

    enum CodingKeys: String, CodingKey { case line, file, seconds, bytes, error }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(line, forKey: .line)
        try container.encode(file, forKey: .file)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(error, forKey: .error)
    }
}

/// How the account summaries after the dump went.
public struct SummariesReport: Encodable, Hashable, Sendable {
    public var directory: String
    public var written: Int
    /// User ids that are not `[A-Za-z0-9_-]{1,64}`, so not safe as file names.
    public var skipped: [String]
    public var failed: [FailedSummary]
}

/// A user whose summary was not written, and why.
public struct FailedSummary: Encodable, Hashable, Sendable {
    public var user: String
    public var reason: String
}

private func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

private func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
}
