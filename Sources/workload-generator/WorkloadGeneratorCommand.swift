import ArgumentParser
import EventLoopThreads
import Foundation
import WorkloadGenerator

/// Replays a workload file against the stack, or writes a synthetic one.
@main
struct WorkloadGeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workload-generator",
        abstract: "Replays a workload file against the DayTrader stack, or writes a synthetic one.",
        subcommands: [Run.self, Generate.self],
        defaultSubcommand: Run.self
    )
}

/// `workload-generator run FILE`: see docs/OPERATIONS.md.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sends a workload's commands (each user's in order, users in parallel), then its DUMPLOG, and reports.",
        discussion: """
            Exit status: 0 when every line was answered (rejections included) and the log saved; \
            1 when a line was given up or the dump failed; 2 when the workload has malformed lines \
            (and --skip-malformed is not given) or cannot be read.
            """
    )

    @Argument(help: "The workload file, in the course format.")
    var file: String

    @Option(help: "The stack's base URL (HAProxy).")
    var url = "http://127.0.0.1:8080"

    @Option(help: "Users whose commands run at once; also the number of connections.")
    var concurrency = 64

    @Option(help: "The prefix of every idempotency key, <run-id>-<line>. (default: random)")
    var runID: String?

    @Option(help: "Attempts per command, the first included; only what left a command undone is retried (transport failures, 503 unavailable).")
    var maxAttempts = 20

    @Option(help: "The limit on one attempt of a command, in milliseconds.")
    var timeoutMs = 30_000

    @Option(help: "The limit on one attempt of the final DUMPLOG, the whole log included, in milliseconds.")
    var dumpTimeoutMs = 600_000

    @Option(help: ArgumentHelp("Where to save the log of the final DUMPLOG.", valueName: "file"))
    var output = "out/log.xml"

    @Flag(help: "Do not send the final DUMPLOG.")
    var noDump = false

    @Option(help: ArgumentHelp("After the dump, write each user's DISPLAY_SUMMARY to DIR/<user>.json.", valueName: "dir"))
    var summaries: String?

    @Option(help: ArgumentHelp("At most this many commands per second. (default: no limit)", valueName: "n"))
    var rate: Double?

    @Option(help: "The service token, sent as 'Authorization: Bearer <token>' with every request. (default: $API_SERVICE_TOKEN)")
    var serviceToken: String?

    @Option(help: ArgumentHelp("Also write the report as JSON to this file.", valueName: "file"))
    var json: String?

    @Flag(help: "Report malformed lines and run the rest, instead of refusing to start.")
    var skipMalformed = false

    func run() async throws {
        // One thread for the connections, the users' tasks and the pacing timers: it drives
        // several thousand commands/s (docs/PERFORMANCE.md), with no thread switch per command.
        EventLoopThreads.runEverything(threads: 1)
        let workload: Workload
        do {
            workload = try Workload(contentsOfFile: file)
        } catch {
            printError("workload-generator: cannot read \(file): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        for line in workload.malformed {
            printError("\(file):\(line.fileLine): \(line.message)")
        }
        if !workload.malformed.isEmpty, !skipMalformed {
            printError("workload-generator: \(workload.malformed.count) malformed line(s); nothing was sent (--skip-malformed runs the rest)")
            throw ExitCode(2)
        }
        let options = RunOptions(
            baseURL: url,
            concurrency: concurrency,
            runID: runID ?? RunOptions.randomRunID(),
            retry: RetryPolicy(maxAttempts: maxAttempts),
            requestTimeout: .milliseconds(timeoutMs),
            dumpTimeout: .milliseconds(dumpTimeoutMs),
            dumpOutput: noDump ? nil : output,
            summariesDirectory: summaries,
            rate: rate,
            serviceToken: serviceToken ?? ProcessInfo.processInfo.environment["API_SERVICE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        )
        let report = try await WorkloadRunner.run(workload, options: options)
        print(report.text)
        if let json {
            try report.json().write(to: URL(fileURLWithPath: json))
        }
        if !report.succeeded { throw ExitCode.failure }
    }

    func validate() throws {
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        do {
            try RunOptions(
                baseURL: url, concurrency: concurrency, runID: runID ?? RunOptions.randomRunID(), requestTimeout: .milliseconds(timeoutMs),
                dumpTimeout: .milliseconds(dumpTimeoutMs), rate: rate
            ).validate()
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// `workload-generator generate`: a synthetic workload in the course format.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Writes a synthetic workload in the course format, the same for the same seed."
    )

    @Option(help: "How many users.")
    var users: Int

    @Option(help: "How many lines, the final DUMPLOG included.")
    var commands: Int

    @Option(help: "The seed of the random draws.")
    var seed: UInt64 = 468

    @Option(help: ArgumentHelp("Where to write the workload. (default: standard output)", valueName: "file"))
    var output: String?

    func run() throws {
        let workload: SyntheticWorkload
        do {
            workload = try SyntheticWorkload(users: users, commands: commands, seed: seed)
        } catch {
            throw ValidationError(error.description)
        }
        let text = workload.text()
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(text, terminator: "")
        }
    }
}

private func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
