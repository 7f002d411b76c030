import Testing
@testable import DayTraderCore

@Suite("WorkloadLine(parsing:)")
struct WorkloadLineTests {
    @Test("real lines from the workload files, with their trailing space", arguments: [
        ("[1] ADD,oY01WVirLr,63511.53 ", 1, CommandRequest(name: "ADD", user: "oY01WVirLr", amount: "63511.53")),
        ("[2] QUOTE,oY01WVirLr,S ", 2, CommandRequest(name: "QUOTE", user: "oY01WVirLr", symbol: "S")),
        ("[3] BUY,oY01WVirLr,S,276.83 ", 3, CommandRequest(name: "BUY", user: "oY01WVirLr", symbol: "S", amount: "276.83")),
        ("[4] COMMIT_BUY,oY01WVirLr ", 4, CommandRequest(name: "COMMIT_BUY", user: "oY01WVirLr")),
        ("[5] CANCEL_BUY,oY01WVirLr ", 5, CommandRequest(name: "CANCEL_BUY", user: "oY01WVirLr")),
        ("[6] SELL,oY01WVirLr,S,10.00 ", 6, CommandRequest(name: "SELL", user: "oY01WVirLr", symbol: "S", amount: "10.00")),
        ("[7] COMMIT_SELL,oY01WVirLr ", 7, CommandRequest(name: "COMMIT_SELL", user: "oY01WVirLr")),
        ("[8] CANCEL_SELL,oY01WVirLr ", 8, CommandRequest(name: "CANCEL_SELL", user: "oY01WVirLr")),
        ("[9] SET_BUY_AMOUNT,oY01WVirLr,S,50.00 ", 9, CommandRequest(name: "SET_BUY_AMOUNT", user: "oY01WVirLr", symbol: "S", amount: "50.00")),
        ("[10] CANCEL_SET_BUY,oY01WVirLr,S ", 10, CommandRequest(name: "CANCEL_SET_BUY", user: "oY01WVirLr", symbol: "S")),
        ("[11] SET_BUY_TRIGGER,oY01WVirLr,S,20.00 ", 11, CommandRequest(name: "SET_BUY_TRIGGER", user: "oY01WVirLr", symbol: "S", amount: "20.00")),
        ("[12] SET_SELL_AMOUNT,oY01WVirLr,S,50.00 ", 12, CommandRequest(name: "SET_SELL_AMOUNT", user: "oY01WVirLr", symbol: "S", amount: "50.00")),
        ("[13] SET_SELL_TRIGGER,oY01WVirLr,S,20.00 ", 13, CommandRequest(name: "SET_SELL_TRIGGER", user: "oY01WVirLr", symbol: "S", amount: "20.00")),
        ("[14] CANCEL_SET_SELL,oY01WVirLr,S ", 14, CommandRequest(name: "CANCEL_SET_SELL", user: "oY01WVirLr", symbol: "S")),
        ("[15] DISPLAY_SUMMARY,oY01WVirLr ", 15, CommandRequest(name: "DISPLAY_SUMMARY", user: "oY01WVirLr")),
        ("[100] DUMPLOG,./testLOG", 100, CommandRequest(name: "DUMPLOG", filename: "./testLOG")),
        ("[7] DUMPLOG,user1,out.xml", 7, CommandRequest(name: "DUMPLOG", user: "user1", filename: "out.xml")),
        ("[9962] ADD,umhaEY4lil,-73280.58 ", 9962, CommandRequest(name: "ADD", user: "umhaEY4lil", amount: "-73280.58")),
        ("[1000000] DUMPLOG,./testLOG", 1_000_000, CommandRequest(name: "DUMPLOG", filename: "./testLOG")),
    ] as [(String, Int, CommandRequest)])
    func parses(line: String, number: Int, request: CommandRequest) throws {
        let parsed = try WorkloadLine(parsing: line)
        #expect(parsed.lineNumber == number)
        #expect(parsed.request == request)
        #expect(parsed == WorkloadLine(lineNumber: number, request: request))
    }

    @Test("line endings and surrounding white space are ignored", arguments: [
        "[1] ADD,oY01WVirLr,63511.53",
        "[1] ADD,oY01WVirLr,63511.53 ",
        "[1] ADD,oY01WVirLr,63511.53\n",
        "[1] ADD,oY01WVirLr,63511.53 \n",
        "[1] ADD,oY01WVirLr,63511.53\r",
        "[1] ADD,oY01WVirLr,63511.53 \r",
        "[1] ADD,oY01WVirLr,63511.53\r\n",  // CRLF: one Character in Swift
        "[1] ADD,oY01WVirLr,63511.53 \r\n",
        "\r\n[1] ADD,oY01WVirLr,63511.53\r\n",
        "  [1] ADD,oY01WVirLr,63511.53  ",
        "\t[1] ADD,oY01WVirLr,63511.53\t",
        "[1]ADD,oY01WVirLr,63511.53",
        "[1]   ADD,oY01WVirLr,63511.53",
        "[1] ADD , oY01WVirLr , 63511.53",
    ])
    func whiteSpace(line: String) throws {
        let parsed = try WorkloadLine(parsing: line)
        #expect(parsed.lineNumber == 1)
        #expect(parsed.request == CommandRequest(name: "ADD", user: "oY01WVirLr", amount: "63511.53"))
        #expect(try Command(validating: parsed.request) == .add(UserID(validating: "oY01WVirLr"), amount: cents(6_351_153)))
    }

    @Test("the admin DUMPLOG with a CRLF ending")
    func adminDumplogCRLF() throws {
        let parsed = try WorkloadLine(parsing: "[100] DUMPLOG,./testLOG\r\n")
        #expect(parsed.request == CommandRequest(name: "DUMPLOG", filename: "./testLOG"))
        #expect(try Command(validating: parsed.request) == .dumplog(nil, DumpFileName(reducing: "testLOG")))
    }

    @Test("a whole CRLF file split the Swift way still parses line by line")
    func crlfFile() throws {
        let file = "[1] ADD,oY01WVirLr,63511.53 \r\n[2] QUOTE,oY01WVirLr,S \r\n[3] DUMPLOG,./testLOG\r\n"
        // Split on bytes, as a reader of a file would, leaving the CR on each line.
        let lines = file.utf8.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        #expect(lines.count == 3)
        let parsed = try lines.map { line throws(WorkloadParseError) in try WorkloadLine(parsing: line) }
        #expect(parsed.map(\.lineNumber) == [1, 2, 3])
        #expect(parsed[1].request == CommandRequest(name: "QUOTE", user: "oY01WVirLr", symbol: "S"))
        // Split on Characters: "\r\n" is one Character, so split on it, not on "\n".
        let characterLines = file.split(separator: "\r\n")
        #expect(characterLines.count == 3)
        #expect(try characterLines.map { line throws(WorkloadParseError) in try WorkloadLine(parsing: line).lineNumber } == [1, 2, 3])
    }

    @Test("empty fields are kept, for Command(validating:) to reject")
    func emptyFields() throws {
        let parsed = try WorkloadLine(parsing: "[5] ADD,,1.00 ")
        #expect(parsed.request == CommandRequest(name: "ADD", user: "", amount: "1.00"))
        #expect(rejection(of: parsed.request)?.code == .malformedCommand)
        let dumplog = try WorkloadLine(parsing: "[6] DUMPLOG,, ")
        #expect(dumplog.request == CommandRequest(name: "DUMPLOG", user: "", filename: ""))
    }

    @Test("the largest accepted line number has 18 digits")
    func largeLineNumbers() throws {
        #expect(try WorkloadLine(parsing: "[999999999999999999] COMMIT_BUY,u").lineNumber == 999_999_999_999_999_999)
        #expect(try WorkloadLine(parsing: "[000000000000000001] COMMIT_BUY,u").lineNumber == 1)
        #expect(parseError(of: "[1000000000000000000] COMMIT_BUY,u") != nil)
        #expect(parseError(of: "[99999999999999999999999] COMMIT_BUY,u") != nil)
    }

    @Test("malformed lines are parse errors, never crashes", arguments: [
        ("", "expected '[n] COMMAND"),
        ("   ", "expected '[n] COMMAND"),
        ("\r\n", "expected '[n] COMMAND"),
        ("ADD,oY01WVirLr,63511.53", "expected '[n] COMMAND"),
        ("1 ADD,oY01WVirLr,63511.53", "expected '[n] COMMAND"),
        ("1] ADD,oY01WVirLr,63511.53", "expected '[n] COMMAND"),
        ("[1 ADD,oY01WVirLr,63511.53", "expected '[n] COMMAND"),
        ("(1) ADD,oY01WVirLr,63511.53", "expected '[n] COMMAND"),
        ("x[1] ADD,oY01WVirLr,63511.53", "expected '[n] COMMAND"),
        ("[] ADD,oY01WVirLr,63511.53", "line number"),
        ("[0] ADD,oY01WVirLr,63511.53", "line number"),
        ("[00] ADD,oY01WVirLr,63511.53", "line number"),
        ("[-1] ADD,oY01WVirLr,63511.53", "line number"),
        ("[+1] ADD,oY01WVirLr,63511.53", "line number"),
        ("[abc] ADD,oY01WVirLr,63511.53", "line number"),
        ("[1.5] ADD,oY01WVirLr,63511.53", "line number"),
        ("[ 1] ADD,oY01WVirLr,63511.53", "line number"),
        ("[1 ] ADD,oY01WVirLr,63511.53", "line number"),
        ("[\u{661}] ADD,oY01WVirLr,63511.53", "line number"),  // an Arabic-Indic one
        ("[1]", "has no command"),
        ("[1] ", "has no command"),
        ("[1] ,oY01WVirLr,63511.53", "has no command"),
        ("[1] FOO,oY01WVirLr", "unknown command"),
        ("[1] add,oY01WVirLr,63511.53", "unknown command"),
        ("[1] ADD;oY01WVirLr;63511.53", "unknown command"),
        ("[1] ADD oY01WVirLr 63511.53", "unknown command"),
        ("[1] ADD", "takes 2 argument(s)"),
        ("[1] ADD,oY01WVirLr", "takes 2 argument(s)"),
        ("[1] ADD,oY01WVirLr,63511.53,extra", "takes 2 argument(s)"),
        ("[1] ADD,oY01WVirLr,63511.53,", "takes 2 argument(s)"),
        ("[1] QUOTE,oY01WVirLr", "takes 2 argument(s)"),
        ("[1] QUOTE,oY01WVirLr,S,1.00", "takes 2 argument(s)"),
        ("[1] BUY,oY01WVirLr,S", "takes 3 argument(s)"),
        ("[1] BUY,oY01WVirLr,S,1.00,2.00", "takes 3 argument(s)"),
        ("[1] COMMIT_BUY", "takes 1 argument(s)"),
        ("[1] COMMIT_BUY,oY01WVirLr,S", "takes 1 argument(s)"),
        ("[1] CANCEL_SET_SELL,oY01WVirLr", "takes 2 argument(s)"),
        ("[1] DISPLAY_SUMMARY,oY01WVirLr,x", "takes 1 argument(s)"),
        ("[1] DUMPLOG", "takes 2 argument(s)"),
        ("[1] DUMPLOG,user1,out.xml,extra", "takes 2 argument(s)"),
    ] as [(String, String)])
    func malformed(line: String, reason: String) {
        let error = parseError(of: line)
        #expect(error != nil, "\(line.debugDescription) should not parse")
        #expect(error?.description.contains(reason) == true, "\(error?.description ?? "") should mention \(reason)")
        if let error { expectBounded(error.description) }
    }

    @Test("the argument-count error names the expected fields")
    func argumentCountMessage() {
        #expect(parseError(of: "[12] BUY,u,S")?.description == "line 12: BUY takes 3 argument(s) (user, symbol, amount), got 2")
        #expect(parseError(of: "[3] FOO,u")?.description == "line 3: unknown command 'FOO'")
        #expect(parseError(of: "[4] ")?.description == "line 4 has no command")
    }

    @Test("parse errors stay short for a megabyte-long line", arguments: ["no bracket", "line number", "command", "arguments", "grapheme"])
    func hugeLine(which: String) {
        let huge = repeated("A", oneMegabyte)
        let line = switch which {
        case "no bracket": huge
        case "line number": "[" + repeated("7", oneMegabyte) + "] ADD,u,1.00"
        case "command": "[1] " + huge + ",u"
        case "arguments": "[1] ADD," + repeated("x,", oneMegabyte / 2)
        case "grapheme": "[1] A" + repeated("\u{301}", oneMegabyte / 2) + ",u"
        default: fatalError("unknown case \(which)")
        }
        let error = parseError(of: line)
        #expect(error != nil)
        if let error { expectBounded(error.description) }
    }
}
