import Foundation
import Testing
@testable import DayTraderCore

/// The course workload files live outside the repository, in `<repo>/../shared/course/workloads`
/// (the repository is `<root>/main`, or a worktree beside it). Without them these tests are skipped.
enum CourseWorkloads {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // DayTraderCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository
        .appendingPathComponent("../shared/course/workloads")
        .standardizedFileURL

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static var available: Bool {
        Expectation.all.allSatisfy { FileManager.default.isReadableFile(atPath: url($0.file).path) }
    }

    /// What SOURCES.md says about each file.
    struct Expectation: Sendable, CustomTestStringConvertible {
        let file: String
        let users: Int
        let symbols: Int
        let counts: [CommandName: Int]

        var total: Int { counts.values.reduce(0, +) }
        var testDescription: String { file }

        static let all: [Expectation] = {
            let order: [CommandName] = [
                .add, .quote, .buy, .commitBuy, .cancelBuy, .sell, .commitSell, .cancelSell,
                .setBuyAmount, .cancelSetBuy, .setBuyTrigger, .setSellAmount, .setSellTrigger, .cancelSetSell,
                .dumplog, .displaySummary,
            ]
            // The table "Command counts per workload file" of SOURCES.md, one column per file.
            let table: [(String, Int, Int, [Int])] = [
                ("1userWorkLoad", 1, 1, [6, 6, 20, 21, 6, 6, 8, 6, 1, 5, 0, 1, 3, 5, 1, 5]),
                ("2userWorkLoad", 2, 20, [730, 1219, 1337, 1106, 495, 655, 774, 493, 267, 465, 472, 293, 463, 513, 1, 717]),
                ("10User_testWorkLoad", 10, 50, [735, 1146, 1315, 1037, 519, 714, 854, 476, 266, 455, 457, 296, 490, 508, 1, 731]),
                ("45User_testWorkLoad", 45, 100, [772, 1213, 1307, 1105, 510, 641, 813, 452, 256, 443, 488, 271, 497, 481, 1, 750]),
                ("100User_testWorkLoad", 100, 981, [11034, 13206, 13945, 8048, 2446, 6222, 4206, 2027, 5012, 1967, 8564, 4415, 7309, 2480, 1, 9118]),
            ]
            return table.map { file, users, symbols, column in
                Expectation(file: file, users: users, symbols: symbols, counts: Dictionary(uniqueKeysWithValues: zip(order, column)))
            }
        }()
    }

    /// The one line of all five files that is known not to validate.
    static let knownInvalid: [String: (line: Int, text: String, code: Rejection.Code)] = [
        "10User_testWorkLoad": (9962, "[9962] ADD,umhaEY4lil,-73280.58 ", .invalidAmount)
    ]

    /// The file's lines, split on LF bytes; the empty piece after the final LF is dropped.
    static func lines(_ name: String) throws -> [String] {
        let data = try Data(contentsOf: url(name))
        #expect(data.last == UInt8(ascii: "\n"), "\(name) ends with a newline")
        #expect(!data.contains(UInt8(ascii: "\r")), "\(name) has no CR")
        var pieces = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if pieces.last?.isEmpty == true { pieces.removeLast() }
        return pieces.map { String(decoding: $0, as: UTF8.self) }
    }
}

@Suite(
    "The course workload files",
    .enabled(
        if: CourseWorkloads.available,
        "the course workloads are not at \(CourseWorkloads.directory.path) (<repo>/../shared/course/workloads); skipping the whole-file tests"
    )
)
struct WorkloadFileTests {
    @Test("every line parses, numbered 1..N, with the command counts of SOURCES.md", arguments: CourseWorkloads.Expectation.all)
    func parseEveryLine(expected: CourseWorkloads.Expectation) throws {
        let lines = try CourseWorkloads.lines(expected.file)
        #expect(lines.count == expected.total)

        var counts: [CommandName: Int] = [:]
        var parseFailures: [String] = []
        var numberingErrors: [String] = []
        for (index, line) in lines.enumerated() {
            do {
                let parsed = try WorkloadLine(parsing: line)
                if parsed.lineNumber != index + 1 { numberingErrors.append("line \(index + 1) is numbered \(parsed.lineNumber)") }
                counts[CommandName(rawValue: parsed.request.name)!, default: 0] += 1
            } catch {
                parseFailures.append("line \(index + 1): \(error)")
            }
        }
        #expect(parseFailures.isEmpty, "\(parseFailures.count) lines do not parse, first: \(parseFailures.prefix(5))")
        #expect(numberingErrors.isEmpty, "\(numberingErrors.prefix(5))")
        for name in CommandName.allCases {
            #expect(counts[name, default: 0] == expected.counts[name], "\(expected.file): \(name.rawValue)")
        }
    }

    @Test("every line validates as a Command, except the known negative ADD", arguments: CourseWorkloads.Expectation.all)
    func validateEveryLine(expected: CourseWorkloads.Expectation) throws {
        let lines = try CourseWorkloads.lines(expected.file)
        var unexpected: [String] = []
        var rejected: [(Int, String, Rejection)] = []
        for (index, line) in lines.enumerated() {
            let request = try WorkloadLine(parsing: line).request
            if let error = rejection(of: request) { rejected.append((index + 1, line, error)) }
        }
        let known = CourseWorkloads.knownInvalid[expected.file]
        for (number, line, error) in rejected {
            if let known, known.line == number, known.text == line, known.code == error.code { continue }
            unexpected.append("line \(number) \(line.debugDescription): \(error)")
        }
        #expect(unexpected.isEmpty, "\(unexpected.count) unexpected rejections, first: \(unexpected.prefix(5))")
        #expect(rejected.count == (known == nil ? 0 : 1))
        if let known {
            let hit = rejected.first { $0.0 == known.line }
            #expect(hit?.1 == known.text)
            #expect(hit?.2.code == .invalidAmount)
            #expect(hit?.2.message == "amount '-73280.58': the amount is negative")
        }
    }

    @Test("the format facts of SOURCES.md hold", arguments: CourseWorkloads.Expectation.all)
    func formatFacts(expected: CourseWorkloads.Expectation) throws {
        let lines = try CourseWorkloads.lines(expected.file)
        let last = try #require(lines.last)
        #expect(last == "[\(expected.total)] DUMPLOG,./testLOG", "the last line is the admin DUMPLOG, no trailing space")

        var users = Set<String>()
        var firstCommand: [String: String] = [:]
        var symbols = Set<String>()
        var oddities: [String] = []
        for (index, line) in lines.enumerated().dropLast() {
            let number = index + 1
            if !line.hasSuffix(" ") || line.hasSuffix("  ") { oddities.append("line \(number) does not end in exactly one space") }
            let request = try WorkloadLine(parsing: line).request
            if let user = request.user {
                users.insert(user)
                if firstCommand[user] == nil { firstCommand[user] = request.name }
                let isTenAlphanumerics = user.utf8.count == 10 && user.utf8.allSatisfy {
                    (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
                }
                if !isTenAlphanumerics { oddities.append("line \(number): user id \(user)") }
            }
            if let symbol = request.symbol {
                symbols.insert(symbol)
                let isThreeLetters = symbol.utf8.count == 3 && symbol.utf8.allSatisfy { (65...90).contains($0) }
                if !(isThreeLetters || (expected.file == "1userWorkLoad" && symbol == "S")) {
                    oddities.append("line \(number): symbol \(symbol)")
                }
            }
            if let amount = request.amount {
                let parts = amount.split(separator: ".", omittingEmptySubsequences: false)
                if parts.count != 2 || parts[1].count != 2 { oddities.append("line \(number): amount \(amount)") }
            }
            if request.name == "DUMPLOG" { oddities.append("line \(number): DUMPLOG before the last line") }
        }
        #expect(oddities.isEmpty, "\(oddities.count) oddities, first: \(oddities.prefix(5))")
        #expect(users.count == expected.users)
        #expect(symbols.count == expected.symbols)
        let notStartingWithAdd = firstCommand.filter { $0.value != "ADD" }
        #expect(notStartingWithAdd.isEmpty, "users whose first command is not ADD: \(notStartingWithAdd)")
    }
}

@Suite("Where the course workloads are looked for")
struct WorkloadLocationTests {
    @Test("<repo>/../shared/course/workloads, resolved from this file")
    func location() {
        let path = CourseWorkloads.directory.path
        #expect(path.hasSuffix("/shared/course/workloads"))
        #expect(!path.contains(".."))
    }

    @Test("the table of SOURCES.md adds up to each file's line count")
    func tableIsConsistent() {
        #expect(CourseWorkloads.Expectation.all.map(\.total) == [100, 10000, 10000, 10000, 100_000])
        #expect(CourseWorkloads.Expectation.all.allSatisfy { $0.counts.count == CommandName.allCases.count })
    }
}
