import DayTraderCore
import Testing
@testable import WorkloadGenerator

@Suite("Workload: reading a workload file")
struct WorkloadTests {
    @Test("the administrator's DUMPLOG is held back; a user's DUMPLOG is a command")
    func dumpHeldBack() throws {
        let file = workload(["ADD,a,10.00", "DUMPLOG,a,./mine", "QUOTE,a,S", "DUMPLOG,./testLOG"])
        #expect(file.commands.map(\.lineNumber) == [1, 2, 3])
        #expect(file.dump?.lineNumber == 4)
        #expect(file.dump?.request.filename == "./testLOG")
        #expect(file.malformed.isEmpty)
    }

    @Test("malformed lines are listed with their line in the file, and not used")
    func malformed() {
        let text = "[1] ADD,a,10.00 \n[2] BUY,a \n\n[x] QUOTE,a,S \n[4] FLY,a \n[5] QUOTE,a,S \n[6] DUMPLOG,./testLOG"
        let file = Workload(text: text, name: "t")
        #expect(file.malformed.map(\.fileLine) == [2, 4, 5])
        #expect(file.malformed[0].message.hasPrefix("line 2: BUY takes 3 argument(s)"))
        #expect(file.malformed[1].message.hasPrefix("line number 'x'"))
        #expect(file.commands.map(\.lineNumber) == [1, 5])
    }

    @Test("a repeated [n] or a second administrator DUMPLOG is malformed")
    func duplicates() {
        let file = Workload(text: "[1] ADD,a,1.00 \n[1] ADD,b,1.00 \n[2] DUMPLOG,./x \n[3] DUMPLOG,./y", name: "t")
        #expect(file.malformed.map(\.fileLine) == [2, 4])
        #expect(file.malformed[0].message == "[1] is also the number of line 1")
        #expect(file.dump?.lineNumber == 2)
    }

    @Test("CRLF line ends and blank lines are read as line breaks")
    func crlf() {
        let file = Workload(text: "[1] ADD,a,1.00 \r\n\r\n[2] QUOTE,a,S \r\n[3] DUMPLOG,./testLOG\r\n", name: "t")
        #expect(file.malformed.isEmpty)
        #expect(file.commands.count == 2)
        #expect(file.dump?.lineNumber == 3)
    }

    @Test("one queue per user, each in file order, in order of first appearance")
    func queues() {
        let file = workload(["ADD,b,1.00", "ADD,a,1.00", "QUOTE,b,S", "QUOTE,a,S", "COMMIT_BUY,b", "DUMPLOG,./testLOG"])
        #expect(file.queuesByUser.map { $0.map(\.lineNumber) } == [[1, 3, 5], [2, 4]])
        #expect(file.users == ["b", "a"])
    }
}
