import DayTraderCore
import Testing
@testable import WorkloadGenerator

@Suite("SyntheticWorkload: the course format from a seed")
struct SyntheticWorkloadTests {
    static let sample = try! SyntheticWorkload(users: 50, commands: 5_000, seed: 468).lines()

    @Test("every line parses, numbered from 1, the last the administrator's DUMPLOG")
    func parses() throws {
        let parsed = try Self.sample.map { try WorkloadLine(parsing: $0) }
        #expect(parsed.count == 5_000)
        #expect(parsed.map(\.lineNumber) == Array(1...5_000))
        #expect(Self.sample.last == "[5000] DUMPLOG,./testLOG")
        #expect(parsed.dropLast().allSatisfy { $0.request.name != "DUMPLOG" })
        let file = Workload(text: try SyntheticWorkload(users: 50, commands: 5_000, seed: 468).text(), name: "synthetic")
        #expect(file.malformed.isEmpty)
        #expect(file.commands.count == 4_999)
    }

    @Test("every line but the last ends with exactly one space")
    func trailingSpaces() {
        #expect(Self.sample.dropLast().allSatisfy { $0.hasSuffix(" ") && !$0.hasSuffix("  ") })
        #expect(Self.sample.last?.hasSuffix(" ") == false)
        #expect(Self.sample.allSatisfy { !$0.contains("\n") })
    }

    @Test("the same seed gives the same workload; another seed another")
    func deterministic() throws {
        let again = try SyntheticWorkload(users: 50, commands: 5_000, seed: 468).lines()
        let other = try SyntheticWorkload(users: 50, commands: 5_000, seed: 469).lines()
        #expect(again == Self.sample)
        #expect(other != Self.sample)
    }

    @Test("the first lines of seed 468 stay as they are: a change would change every committed workload")
    func pinned() throws {
        let lines = try SyntheticWorkload(users: 3, commands: 8, seed: 468).lines()
        #expect(lines == [
            "[1] ADD,zNEtsGfCPL,38916.99 ",
            "[2] ADD,B07eaOCNu6,35181.83 ",
            "[3] ADD,2LvKSL7AU9,35167.86 ",
            "[4] SET_BUY_AMOUNT,zNEtsGfCPL,P,211.56 ",
            "[5] CANCEL_SET_BUY,2LvKSL7AU9,PY ",
            "[6] CANCEL_SET_BUY,B07eaOCNu6,QB ",
            "[7] BUY,zNEtsGfCPL,VD,178.68 ",
            "[8] DUMPLOG,./testLOG",
        ])
    }

    @Test("every user appears, and each user's first command is an ADD")
    func usersStartWithAdd() throws {
        var firstCommand: [String: String] = [:]
        for line in Self.sample.dropLast() {
            let parsed = try WorkloadLine(parsing: line)
            if firstCommand[parsed.request.user!] == nil { firstCommand[parsed.request.user!] = parsed.request.name }
        }
        #expect(firstCommand.count == 50)
        #expect(firstCommand.values.allSatisfy { $0 == "ADD" })
        // With barely enough lines, every user still gets its ADD.
        let tight = try SyntheticWorkload(users: 10, commands: 11, seed: 1).lines()
        #expect(Set(tight.dropLast().map { try! WorkloadLine(parsing: $0).request.user! }).count == 10)
        #expect(tight.dropLast().allSatisfy { $0.contains("] ADD,") })
    }

    @Test("user ids are 10 letters and digits, symbols 1-3 capitals, amounts with two decimals, all valid")
    func fieldShapes() throws {
        for line in Self.sample.dropLast() {
            let request = try WorkloadLine(parsing: line).request
            let user = request.user!
            #expect(user.count == 10 && user.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }, "\(line)")
            if let symbol = request.symbol {
                #expect((1...3).contains(symbol.count) && symbol.allSatisfy { $0.isASCII && $0.isUppercase }, "\(line)")
            }
            if let amount = request.amount {
                #expect(amount.split(separator: ".").last?.count == 2, "\(line)")
            }
            do {
                _ = try Command(validating: request)
            } catch {
                Issue.record("\(line): \(error)")
            }
        }
    }

    @Test("the command mix is close to the course's 100-user file")
    func mix() throws {
        let lines = try SyntheticWorkload(users: 100, commands: 40_000, seed: 7).lines().dropLast()
        var counts: [String: Int] = [:]
        for line in lines { counts[try WorkloadLine(parsing: line).request.name, default: 0] += 1 }
        let total = Double(lines.count)
        let mixTotal = Double(SyntheticWorkload.mix.reduce(0) { $0 + $1.perMille })
        for (command, perMille) in SyntheticWorkload.mix {
            let share = Double(counts[command.rawValue] ?? 0) / total
            #expect(abs(share - Double(perMille) / mixTotal) < 0.01, "\(command.rawValue): \(share)")
        }
        #expect(counts["DUMPLOG"] == nil)
    }

    @Test("too few lines for the users is refused")
    func tooFewLines() {
        #expect(throws: SyntheticWorkloadError.self) { try SyntheticWorkload(users: 10, commands: 10, seed: 1) }
        #expect(throws: SyntheticWorkloadError.self) { try SyntheticWorkload(users: 0, commands: 10, seed: 1) }
    }

    @Test("draws below a bound stay below it and cover it")
    func below() {
        var random = SplitMix64(seed: 3)
        var seen = Set<UInt64>()
        for _ in 0..<1_000 {
            let value = random.below(7)
            #expect(value < 7)
            seen.insert(value)
        }
        #expect(seen.count == 7)
    }
}
