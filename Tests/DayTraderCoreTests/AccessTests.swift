import DayTraderCore
import Testing

/// Who may run which command for whom: every command, for every kind of caller.
@Suite struct AccessTests {
    static let readOnly: Set<CommandName> = [.displaySummary, .dumplog]

    @Test(arguments: CommandName.allCases)
    func theServiceAndAnOpenSystemRunEverythingForAnyone(_ command: CommandName) {
        for caller in [Caller.service, .anonymous] {
            #expect(Access.refusal(of: command, for: "alice", by: caller) == nil)
        }
        #expect(Access.refusal(of: command, for: nil, by: .service) == nil)
    }

    /// The whole log fails closed: with sign-in off, a caller with no credentials still may not
    /// dump it (only the service token or a supervisor may).
    @Test(arguments: CommandName.allCases)
    func anOpenSystemKeepsTheWholeLogClosed(_ command: CommandName) {
        let refusal = Access.refusal(of: command, for: nil, by: .anonymous)
        #expect(refusal?.code == (command == .dumplog ? .supervisorOnly : nil))
    }

    @Test(arguments: CommandName.allCases)
    func aTraderActsForThemselvesOnly(_ command: CommandName) {
        let alice = Caller.person(name: "alice", role: .trader)
        #expect(Access.refusal(of: command, for: "alice", by: alice) == nil)
        #expect(Access.refusal(of: command, for: "bob", by: alice)?.code == .forbidden)
        #expect(Access.refusal(of: command, for: "Alice", by: alice)?.code == .forbidden, "user ids are case-sensitive")
        let none = Access.refusal(of: command, for: nil, by: alice)?.code
        #expect(none == (command == .dumplog ? .supervisorOnly : .forbidden))
    }

    @Test(arguments: CommandName.allCases)
    func anAuditorReadsAnyoneAndChangesNothing(_ command: CommandName) {
        let carol = Caller.person(name: "carol", role: .auditor)
        let refusal = Access.refusal(of: command, for: "alice", by: carol)
        #expect((refusal == nil) == Self.readOnly.contains(command), "\(String(describing: refusal))")
        if let refusal { #expect(refusal.code == .forbidden && refusal.message.contains("auditor")) }
        if command == .dumplog {
            #expect(Access.refusal(of: .dumplog, for: nil, by: carol)?.code == .supervisorOnly)
        }
    }

    @Test(arguments: CommandName.allCases)
    func aSupervisorIsAnAuditorWhoMayDumpEverything(_ command: CommandName) {
        let dave = Caller.person(name: "dave", role: .supervisor)
        let auditor = Access.refusal(of: command, for: "alice", by: .person(name: "dave", role: .auditor))
        #expect(Access.refusal(of: command, for: "alice", by: dave)?.code == auditor?.code)
        #expect((Access.refusal(of: .dumplog, for: nil, by: dave)) == nil)
    }

    @Test func onlyTheServiceNumbersItsCommands() {
        #expect(Access.mayNumberCommands(.service))
        #expect(Access.mayNumberCommands(.anonymous))
        for role in Role.allCases {
            #expect(!Access.mayNumberCommands(.person(name: "x", role: role)))
        }
    }

    @Test func staffKeysAreTheirOwnAndNeverMeetAUsers() {
        let trader = Caller.person(name: "alice", role: .trader).keyOwner(actingFor: "alice")
        let auditor = Caller.person(name: "alice", role: .auditor).keyOwner(actingFor: "alice")
        #expect(trader == .user("alice"))
        #expect(auditor == .staff("alice"))
        #expect(trader.scope("k") != auditor.scope("k"))
        #expect(KeyOwner.staff("a|b").scope("c") != KeyOwner.staff("a").scope("b|c"))
        #expect(Caller.service.keyOwner(actingFor: "bob") == .user("bob"))
        #expect(Caller.person(name: "alice", role: .trader).keyOwner(actingFor: "bob") == .user("alice"), "a refused request's key is still the trader's")
    }
}
