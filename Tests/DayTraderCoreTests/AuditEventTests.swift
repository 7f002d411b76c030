import Foundation
import Testing
@testable import DayTraderCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Sample events

/// One valid event of each kind, with the shapes the transaction servers produce.
enum SampleEvents {
    static let at: Int64 = 1_700_000_000_000

    static let userCommand = AuditEvent.userCommand(
        id: "e-user", timestamp: at, server: "ts1", transactionNum: 1,
        command: .add, username: "oY01WVirLr", funds: LoggedDecimal(dollars("63511.53"))
    )
    static let quoteServer = AuditEvent.quoteServer(
        id: "e-quote", timestamp: at + 1, server: "ts1", transactionNum: 2,
        price: dollars("276.83"), stockSymbol: "S", username: "oY01WVirLr",
        quoteServerTime: 1_700_000_000_123, cryptokey: "Rk9PQkFS+/=="
    )
    static let accountTransaction = AuditEvent.accountTransaction(
        id: "e-account", timestamp: at + 2, server: "ts2", transactionNum: 3,
        action: .remove, username: "oY01WVirLr", funds: dollars("100")
    )
    static let systemEvent = AuditEvent.systemEvent(
        id: "e-system", timestamp: at + 3, server: "ts2", transactionNum: 4,
        command: .setBuyTrigger, username: "oY01WVirLr", stockSymbol: "ABC", funds: cents(5)
    )
    static let errorEvent = AuditEvent.errorEvent(
        id: "e-error", timestamp: at + 4, server: "ts1", transactionNum: 5,
        command: .commitBuy, username: "oY01WVirLr",
        errorMessage: "no pending buy"
    )
    static let debugEvent = AuditEvent.debugEvent(
        id: "e-debug", timestamp: at + 5, server: "audit", transactionNum: 6,
        command: .dumplog, filename: "testLOG",
        debugMessage: "dump started"
    )

    static let oneOfEachKind: [AuditEvent] = [userCommand, quoteServer, accountTransaction, systemEvent, errorEvent, debugEvent]

    /// Every field set, on a kind that ignores some of them.
    static let everyField = AuditEvent(
        id: "6F9619FF-8B86-D011-B42D-00C04FC964FF", kind: .errorEvent, timestamp: at, server: "ts1",
        transactionNum: 42, command: "BUY", username: "umhaEY4lil", stockSymbol: "QDU", filename: "f",
        funds: LoggedDecimal(dollars("0.5")), price: dollars("12.34"), quoteServerTime: 1_700_000_000_999, cryptokey: "key",
        action: "add", errorMessage: "insufficient funds", debugMessage: "dbg"
    )

    /// Strings an XML writer can get wrong.
    static let nasty = "<&>\"' ]]> &amp; <![CDATA[x]]> -- \u{0}\u{1}\u{7}\u{8}\u{B}\u{C}\u{1B}\u{1F}\t\r\n\u{7F}\u{85}"
        + " \u{FFFE}\u{FFFF}\u{FFFD}\u{FFEF} Zo\u{EB} e\u{301} \u{6F22}\u{5B57} \u{1F600} \u{10FFFF}"

    /// One event of each kind with the nasty strings in every free-text field, and symbols of
    /// exactly three characters that are anything but plain.
    static let nastyOfEachKind: [AuditEvent] = [
        .userCommand(
            id: "n1", timestamp: AuditEvent.timestampRange.lowerBound, server: nasty, transactionNum: 1,
            command: .buy, username: nasty, stockSymbol: "<&>", filename: nasty, funds: LoggedDecimal(cents(-5))
        ),
        .quoteServer(
            id: "n2", timestamp: AuditEvent.timestampRange.upperBound, server: nasty, transactionNum: Int64.max,
            price: Money(cents: Int64.max), stockSymbol: "\r\n\t", username: nasty,
            quoteServerTime: Int64.min, cryptokey: nasty
        ),
        .accountTransaction(
            id: "n3", timestamp: at, server: "", transactionNum: 1,
            // -Int64.max, not Int64.min: Money's JSON decoding cannot read "-92233720368547758.08" back.
            action: .add, username: "", funds: Money(cents: -Int64.max)
        ),
        .systemEvent(
            id: "n4", timestamp: at, server: nasty, transactionNum: 1,
            command: .displaySummary, username: nasty, stockSymbol: "\u{1F600}\u{0}\u{EB}", filename: "", funds: .zero
        ),
        .errorEvent(
            id: "n5", timestamp: at, server: nasty, transactionNum: 1,
            command: .quote, username: nasty, stockSymbol: "", errorMessage: nasty
        ),
        .debugEvent(
            id: "n6", timestamp: at, server: nasty, transactionNum: 1,
            command: .cancelSetSell, stockSymbol: "\u{FFFE}\u{FFFF}'", debugMessage: nasty
        ),
    ]
}

/// The XML of one event, as text.
func renderedXML(_ event: AuditEvent) -> String {
    var buffer: [UInt8] = []
    AuditLogXML.append(event, to: &buffer)
    return String(decoding: buffer, as: UTF8.self)
}

/// A whole log document holding `events`.
func renderedLog(_ events: [AuditEvent]) -> [UInt8] {
    var buffer = AuditLogXML.header
    for event in events {
        AuditLogXML.append(event, to: &buffer)
    }
    buffer += AuditLogXML.footer
    return buffer
}

/// `text` after escaping for XML character data.
func escapedXML(_ text: String) -> String {
    var buffer: [UInt8] = []
    AuditLogXML.appendEscaped(text, to: &buffer)
    return String(decoding: buffer, as: UTF8.self)
}

@Suite("AuditEvent factories")
struct AuditEventFactoryTests {
    @Test("userCommand and systemEvent set the command fields and nothing else")
    func commandKinds() {
        let base = AuditEvent(
            id: "i", kind: .userCommand, timestamp: 1, server: "s", transactionNum: 2,
            command: "SELL", username: "u", stockSymbol: "S", filename: "f", funds: LoggedDecimal(cents(3))
        )
        #expect(AuditEvent.userCommand(
            id: "i", timestamp: 1, server: "s", transactionNum: 2,
            command: .sell, username: "u", stockSymbol: "S", filename: "f", funds: LoggedDecimal(cents(3))
        ) == base)
        var system = base
        system.kind = .systemEvent
        #expect(AuditEvent.systemEvent(
            id: "i", timestamp: 1, server: "s", transactionNum: 2,
            command: .sell, username: "u", stockSymbol: "S", filename: "f", funds: cents(3)
        ) == system)
        #expect(AuditEvent.userCommand(id: "i", timestamp: 1, server: "s", transactionNum: 2, command: .displaySummary)
            == AuditEvent(id: "i", kind: .userCommand, timestamp: 1, server: "s", transactionNum: 2, command: "DISPLAY_SUMMARY"))
    }

    @Test("quoteServer sets the five quote fields")
    func quoteServer() {
        #expect(SampleEvents.quoteServer == AuditEvent(
            id: "e-quote", kind: .quoteServer, timestamp: SampleEvents.at + 1, server: "ts1", transactionNum: 2,
            username: "oY01WVirLr", stockSymbol: "S",
            price: cents(27683), quoteServerTime: 1_700_000_000_123, cryptokey: "Rk9PQkFS+/=="
        ))
    }

    @Test("accountTransaction writes the action as add or remove", arguments: AuditEvent.Action.allCases)
    func accountTransaction(action: AuditEvent.Action) {
        let event = AuditEvent.accountTransaction(
            id: "i", timestamp: 1, server: "s", transactionNum: 2, action: action, username: "u", funds: cents(100)
        )
        #expect(event == AuditEvent(
            id: "i", kind: .accountTransaction, timestamp: 1, server: "s", transactionNum: 2,
            username: "u", funds: LoggedDecimal(cents(100)), action: action == .add ? "add" : "remove"
        ))
    }

    @Test("errorEvent and debugEvent carry their message")
    func messageKinds() {
        #expect(SampleEvents.errorEvent == AuditEvent(
            id: "e-error", kind: .errorEvent, timestamp: SampleEvents.at + 4, server: "ts1", transactionNum: 5,
            command: "COMMIT_BUY", username: "oY01WVirLr", errorMessage: "no pending buy"
        ))
        #expect(SampleEvents.debugEvent == AuditEvent(
            id: "e-debug", kind: .debugEvent, timestamp: SampleEvents.at + 5, server: "audit", transactionNum: 6,
            command: "DUMPLOG", filename: "testLOG", debugMessage: "dump started"
        ))
        let silent = AuditEvent.errorEvent(id: "i", timestamp: 1, server: "s", transactionNum: 1, command: .add, errorMessage: nil)
        #expect(silent.errorMessage == nil && silent.kind == .errorEvent)
    }

    @Test("kinds are named as the log's elements")
    func kindNames() {
        #expect(AuditEvent.Kind.allCases.map(\.rawValue) == [
            "userCommand", "quoteServer", "accountTransaction", "systemEvent", "errorEvent", "debugEvent",
        ])
    }
}

// MARK: - missingFields

/// An event and the entries its `missingFields` must have, by XML name (the text before any ":").
struct MissingFieldsCase: Sendable, CustomTestStringConvertible {
    let label: String
    let event: AuditEvent
    let expected: [String]
    /// Whether the problem is one the log schema itself catches (so the rendered log is invalid).
    let schemaCatches: Bool

    var testDescription: String { label }

    init(_ label: String, _ event: AuditEvent, _ expected: [String], schemaCatches: Bool = true) {
        self.label = label
        self.event = event
        self.expected = expected
        self.schemaCatches = schemaCatches
    }

    private static func changed(_ event: AuditEvent, _ change: (inout AuditEvent) -> Void) -> AuditEvent {
        var copy = event
        change(&copy)
        return copy
    }

    static let all: [MissingFieldsCase] = {
        var cases: [MissingFieldsCase] = []
        let commandKinds = [SampleEvents.userCommand, SampleEvents.systemEvent, SampleEvents.errorEvent, SampleEvents.debugEvent]
        for sample in commandKinds {
            let kind = sample.kind.rawValue
            cases.append(.init("\(kind) without command", changed(sample) { $0.command = nil }, ["command"]))
            cases.append(.init("\(kind) with unknown command", changed(sample) { $0.command = "FOO" }, ["command"]))
            cases.append(.init("\(kind) with lowercase command", changed(sample) { $0.command = "add" }, ["command"]))
            cases.append(.init("\(kind) with padded command", changed(sample) { $0.command = " ADD" }, ["command"]))
            cases.append(.init("\(kind) with 4-letter symbol", changed(sample) { $0.stockSymbol = "ABCD" }, ["stockSymbol"]))
            cases.append(.init("\(kind) with 4-scalar symbol", changed(sample) { $0.stockSymbol = "e\u{301}e\u{301}" }, ["stockSymbol"]))
        }
        let quote = SampleEvents.quoteServer
        cases += [
            .init("quoteServer without price", changed(quote) { $0.price = nil }, ["price"]),
            .init("quoteServer without stockSymbol", changed(quote) { $0.stockSymbol = nil }, ["stockSymbol"]),
            .init("quoteServer with 4-letter symbol", changed(quote) { $0.stockSymbol = "ABCD" }, ["stockSymbol"]),
            .init("quoteServer without username", changed(quote) { $0.username = nil }, ["username"]),
            .init("quoteServer without quoteServerTime", changed(quote) { $0.quoteServerTime = nil }, ["quoteServerTime"]),
            .init("quoteServer without cryptokey", changed(quote) { $0.cryptokey = nil }, ["cryptokey"]),
            .init("quoteServer with nothing of its own", AuditEvent(id: "q", kind: .quoteServer, timestamp: SampleEvents.at, server: "s", transactionNum: 1),
                  ["price", "stockSymbol", "username", "quoteServerTime", "cryptokey"]),
        ]
        let account = SampleEvents.accountTransaction
        cases += [
            .init("accountTransaction without action", changed(account) { $0.action = nil }, ["action"]),
            .init("accountTransaction with action deposit", changed(account) { $0.action = "deposit" }, ["action"], schemaCatches: false),
            .init("accountTransaction with action ADD", changed(account) { $0.action = "ADD" }, ["action"], schemaCatches: false),
            .init("accountTransaction with empty action", changed(account) { $0.action = "" }, ["action"], schemaCatches: false),
            .init("accountTransaction without username", changed(account) { $0.username = nil }, ["username"]),
            .init("accountTransaction without funds", changed(account) { $0.funds = nil }, ["funds"]),
            .init("accountTransaction with nothing of its own", AuditEvent(id: "a", kind: .accountTransaction, timestamp: SampleEvents.at, server: "s", transactionNum: 1),
                  ["action", "username", "funds"]),
        ]
        for sample in SampleEvents.oneOfEachKind {
            let kind = sample.kind.rawValue
            cases += [
                .init("\(kind) with transactionNum 0", changed(sample) { $0.transactionNum = 0 }, ["transactionNum"]),
                .init("\(kind) with transactionNum -1", changed(sample) { $0.transactionNum = -1 }, ["transactionNum"]),
                .init("\(kind) with transactionNum Int64.min", changed(sample) { $0.transactionNum = .min }, ["transactionNum"]),
                .init("\(kind) before 2000", changed(sample) { $0.timestamp = 946_684_799_999 }, ["timestamp"]),
                .init("\(kind) after 2100", changed(sample) { $0.timestamp = 4_102_444_800_001 }, ["timestamp"]),
                .init("\(kind) in seconds, not ms", changed(sample) { $0.timestamp = 1_700_000_000 }, ["timestamp"]),
                .init("\(kind) with negative timestamp", changed(sample) { $0.timestamp = -1 }, ["timestamp"]),
                .init("\(kind) without id", changed(sample) { $0.id = "" }, ["id"], schemaCatches: false),
            ]
        }
        cases.append(.init(
            "everything wrong at once",
            AuditEvent(id: "", kind: .userCommand, timestamp: 0, server: "s", transactionNum: 0, stockSymbol: "TOOLONG"),
            ["id", "timestamp", "transactionNum", "command", "stockSymbol"], schemaCatches: true
        ))
        return cases
    }()
}

@Suite("AuditEvent.missingFields")
struct AuditEventMissingFieldsTests {
    @Test("a complete event of each kind has nothing missing",
          arguments: SampleEvents.oneOfEachKind + SampleEvents.nastyOfEachKind + [SampleEvents.everyField])
    func complete(event: AuditEvent) {
        #expect(event.missingFields == [])
    }

    @Test("optional children may be nil", arguments: AuditEvent.Kind.allCases.filter { $0 != .quoteServer && $0 != .accountTransaction })
    func optionalChildren(kind: AuditEvent.Kind) {
        let event = AuditEvent(id: "i", kind: kind, timestamp: SampleEvents.at, server: "s", transactionNum: 1, command: "QUOTE")
        #expect(event.missingFields == [])
    }

    @Test("boundaries: timestamps of 2000 and 2100, transactionNum 1, three-character symbols, empty strings")
    func boundaries() {
        var event = SampleEvents.quoteServer
        event.timestamp = 946_684_800_000
        event.transactionNum = 1
        event.stockSymbol = "\u{1F600}\u{1F600}\u{1F600}"  // three scalars, twelve bytes
        event.username = ""
        event.cryptokey = ""
        event.server = ""
        #expect(event.missingFields == [])
        event.timestamp = 4_102_444_800_000
        event.stockSymbol = ""
        #expect(event.missingFields == [])
    }

    @Test("fields the kind does not have are ignored")
    func extraFieldsIgnored() {
        var event = SampleEvents.userCommand
        event.price = cents(1)
        event.action = "bogus"
        event.quoteServerTime = -1
        event.errorMessage = "x"
        #expect(event.missingFields == [])
        var account = SampleEvents.accountTransaction
        account.command = "NOT_A_COMMAND"
        account.stockSymbol = "TOOLONG"
        #expect(account.missingFields == [])
    }

    @Test("every missing field and every bad value is reported", arguments: MissingFieldsCase.all)
    func reported(testCase: MissingFieldsCase) {
        let problems = testCase.event.missingFields
        let names = problems.map { String($0.prefix { $0 != ":" }) }
        #expect(names == testCase.expected, "\(problems)")
    }

    @Test("a bad value's message names the value, briefly")
    func messages() {
        var event = SampleEvents.userCommand
        event.command = String(repeating: "X", count: 1 << 20)
        event.transactionNum = 0
        let problems = event.missingFields
        #expect(problems.count == 2)
        #expect(problems.contains("transactionNum: 0 is not a positive integer"))
        for problem in problems {
            expectBounded(problem)
        }
        var account = SampleEvents.accountTransaction
        account.action = "deposit"
        #expect(account.missingFields == [#"action: 'deposit' is neither "add" nor "remove""#])
    }
}

// MARK: - XML rendering

@Suite("AuditLogXML")
struct AuditLogXMLTests {
    @Test("header and footer")
    func headerFooter() {
        #expect(String(decoding: AuditLogXML.header, as: UTF8.self) == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<log>\n")
        #expect(String(decoding: AuditLogXML.footer, as: UTF8.self) == "</log>\n")
    }

    @Test("exact userCommand")
    func userCommand() {
        #expect(renderedXML(SampleEvents.userCommand) == """
            \t<userCommand>
            \t\t<timestamp>1700000000000</timestamp>
            \t\t<server>ts1</server>
            \t\t<transactionNum>1</transactionNum>
            \t\t<command>ADD</command>
            \t\t<username>oY01WVirLr</username>
            \t\t<funds>63511.53</funds>
            \t</userCommand>

            """)
    }

    @Test("exact quoteServer")
    func quoteServer() {
        #expect(renderedXML(SampleEvents.quoteServer) == """
            \t<quoteServer>
            \t\t<timestamp>1700000000001</timestamp>
            \t\t<server>ts1</server>
            \t\t<transactionNum>2</transactionNum>
            \t\t<price>276.83</price>
            \t\t<stockSymbol>S</stockSymbol>
            \t\t<username>oY01WVirLr</username>
            \t\t<quoteServerTime>1700000000123</quoteServerTime>
            \t\t<cryptokey>Rk9PQkFS+/==</cryptokey>
            \t</quoteServer>

            """)
    }

    @Test("exact accountTransaction")
    func accountTransaction() {
        #expect(renderedXML(SampleEvents.accountTransaction) == """
            \t<accountTransaction>
            \t\t<timestamp>1700000000002</timestamp>
            \t\t<server>ts2</server>
            \t\t<transactionNum>3</transactionNum>
            \t\t<action>remove</action>
            \t\t<username>oY01WVirLr</username>
            \t\t<funds>100.00</funds>
            \t</accountTransaction>

            """)
    }

    @Test("exact systemEvent")
    func systemEvent() {
        #expect(renderedXML(SampleEvents.systemEvent) == """
            \t<systemEvent>
            \t\t<timestamp>1700000000003</timestamp>
            \t\t<server>ts2</server>
            \t\t<transactionNum>4</transactionNum>
            \t\t<command>SET_BUY_TRIGGER</command>
            \t\t<username>oY01WVirLr</username>
            \t\t<stockSymbol>ABC</stockSymbol>
            \t\t<funds>0.05</funds>
            \t</systemEvent>

            """)
    }

    @Test("exact errorEvent")
    func errorEvent() {
        #expect(renderedXML(SampleEvents.errorEvent) == """
            \t<errorEvent>
            \t\t<timestamp>1700000000004</timestamp>
            \t\t<server>ts1</server>
            \t\t<transactionNum>5</transactionNum>
            \t\t<command>COMMIT_BUY</command>
            \t\t<username>oY01WVirLr</username>
            \t\t<errorMessage>no pending buy</errorMessage>
            \t</errorEvent>

            """)
    }

    @Test("exact debugEvent")
    func debugEvent() {
        #expect(renderedXML(SampleEvents.debugEvent) == """
            \t<debugEvent>
            \t\t<timestamp>1700000000005</timestamp>
            \t\t<server>audit</server>
            \t\t<transactionNum>6</transactionNum>
            \t\t<command>DUMPLOG</command>
            \t\t<filename>testLOG</filename>
            \t\t<debugMessage>dump started</debugMessage>
            \t</debugEvent>

            """)
    }

    @Test("every field, in the schema's order; fields of other kinds are not written")
    func everyFieldOrder() {
        #expect(renderedXML(SampleEvents.everyField) == """
            \t<errorEvent>
            \t\t<timestamp>1700000000000</timestamp>
            \t\t<server>ts1</server>
            \t\t<transactionNum>42</transactionNum>
            \t\t<command>BUY</command>
            \t\t<username>umhaEY4lil</username>
            \t\t<stockSymbol>QDU</stockSymbol>
            \t\t<filename>f</filename>
            \t\t<funds>0.50</funds>
            \t\t<errorMessage>insufficient funds</errorMessage>
            \t</errorEvent>

            """)
        var debug = SampleEvents.everyField
        debug.kind = .debugEvent
        #expect(renderedXML(debug).contains("\t\t<debugMessage>dbg</debugMessage>\n"))
        #expect(!renderedXML(debug).contains("errorMessage"))
        var user = SampleEvents.everyField
        user.kind = .userCommand
        for absent in ["price", "quoteServerTime", "cryptokey", "action", "errorMessage", "debugMessage"] {
            #expect(!renderedXML(user).contains("<\(absent)>"))
        }
        var quote = SampleEvents.everyField
        quote.kind = .quoteServer
        #expect(renderedXML(quote) == """
            \t<quoteServer>
            \t\t<timestamp>1700000000000</timestamp>
            \t\t<server>ts1</server>
            \t\t<transactionNum>42</transactionNum>
            \t\t<price>12.34</price>
            \t\t<stockSymbol>QDU</stockSymbol>
            \t\t<username>umhaEY4lil</username>
            \t\t<quoteServerTime>1700000000999</quoteServerTime>
            \t\t<cryptokey>key</cryptokey>
            \t</quoteServer>

            """)
        var account = SampleEvents.everyField
        account.kind = .accountTransaction
        #expect(renderedXML(account) == """
            \t<accountTransaction>
            \t\t<timestamp>1700000000000</timestamp>
            \t\t<server>ts1</server>
            \t\t<transactionNum>42</transactionNum>
            \t\t<action>add</action>
            \t\t<username>umhaEY4lil</username>
            \t\t<funds>0.50</funds>
            \t</accountTransaction>

            """)
    }

    @Test("append adds to what the buffer holds")
    func appends() {
        var buffer = AuditLogXML.header
        AuditLogXML.append(SampleEvents.userCommand, to: &buffer)
        AuditLogXML.append(SampleEvents.debugEvent, to: &buffer)
        buffer += AuditLogXML.footer
        let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<log>\n"
            + renderedXML(SampleEvents.userCommand) + renderedXML(SampleEvents.debugEvent) + "</log>\n"
        #expect(String(decoding: buffer, as: UTF8.self) == expected)
    }

    @Test("markup characters are escaped", arguments: [
        ("<&>\"'", "&lt;&amp;&gt;&quot;&apos;"),
        ("]]>", "]]&gt;"),
        ("&amp;", "&amp;amp;"),
        ("a<b", "a&lt;b"),
        ("<", "&lt;"),
        ("plain text", "plain text"),
        ("", ""),
    ])
    func escaping(text: String, expected: String) {
        #expect(escapedXML(text) == expected)
    }

    @Test("characters XML 1.0 forbids become U+FFFD; allowed ones are kept", arguments: [
        ("\u{0}", "\u{FFFD}"),
        ("a\u{1}b\u{8}c\u{B}d\u{C}e\u{E}f\u{1F}", "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e\u{FFFD}f\u{FFFD}"),
        ("\u{1B}[31m", "\u{FFFD}[31m"),
        ("\u{FFFE}", "\u{FFFD}"),
        ("\u{FFFF}", "\u{FFFD}"),
        ("x\u{FFFE}\u{FFFF}y", "x\u{FFFD}\u{FFFD}y"),
        ("\u{FFFD}\u{FFEF}\u{FFBF}\u{F000}\u{EFFF}", "\u{FFFD}\u{FFEF}\u{FFBF}\u{F000}\u{EFFF}"),
        ("\t\n", "\t\n"),
        ("\r", "&#13;"),
        ("a\r\nb", "a&#13;\nb"),
        ("\u{7F}\u{80}\u{85}\u{9F}", "\u{7F}\u{80}\u{85}\u{9F}"),
        ("Zo\u{EB} e\u{301} \u{6F22}\u{5B57} \u{1F600}", "Zo\u{EB} e\u{301} \u{6F22}\u{5B57} \u{1F600}"),
        ("\u{1FFFE}\u{10FFFF}", "\u{1FFFE}\u{10FFFF}"),
        ("\u{0}<\u{FFFF}&", "\u{FFFD}&lt;\u{FFFD}&amp;"),
    ])
    func invalidCharacters(text: String, expected: String) {
        #expect(escapedXML(text) == expected)
    }

    @Test("escaping leaves no markup or forbidden character behind, for random strings")
    func randomEscaping() {
        var generator = SplitMix64(seed: 468)
        let alphabet: [Unicode.Scalar] = ["a", "<", ">", "&", "\"", "'", "\t", "\n", "\r", "\u{0}", "\u{1F}", "\u{FFFE}", "\u{FFFF}", "\u{FFFD}", "\u{EB}", "\u{1F600}", "]"]
        for _ in 0..<2000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...24, using: &generator) {
                scalars.append(alphabet.randomElement(using: &generator)!)
            }
            let escaped = escapedXML(String(scalars))
            for scalar in escaped.unicodeScalars {
                let value = scalar.value
                #expect(value >= 0x20 || value == 0x9 || value == 0xA)
                #expect(value != 0xFFFE && value != 0xFFFF)
                #expect(scalar != "<" && scalar != ">" && scalar != "\"" && scalar != "'")
            }
            // Every & starts one of the six references the writer uses.
            let references = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#13;"]
            var rest = Substring(escaped)
            while let ampersand = rest.firstIndex(of: "&") {
                rest = rest[ampersand...]
                #expect(references.contains { rest.hasPrefix($0) }, "\(escaped)")
                rest = rest.dropFirst()
            }
        }
    }

    @Test("numbers", arguments: [
        (UInt64(0), "0"), (9, "9"), (10, "10"), (1_700_000_000_000, "1700000000000"),
        (UInt64(Int64.max), "9223372036854775807"), (UInt64.max, "18446744073709551615"),
    ])
    func numbers(value: UInt64, expected: String) {
        var buffer: [UInt8] = Array("x".utf8)
        AuditLogXML.appendDecimal(value, to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "x" + expected)
    }

    @Test("negative and extreme integers")
    func extremeIntegers() {
        var event = SampleEvents.quoteServer
        event.quoteServerTime = Int64.min
        event.transactionNum = Int64.max
        let xml = renderedXML(event)
        #expect(xml.contains("<quoteServerTime>-9223372036854775808</quoteServerTime>"))
        #expect(xml.contains("<transactionNum>9223372036854775807</transactionNum>"))
        event.quoteServerTime = -1
        #expect(renderedXML(event).contains("<quoteServerTime>-1</quoteServerTime>"))
    }

    @Test("money is written to the cent, like Money.description", arguments: [
        (Int64(0), "0.00"), (5, "0.05"), (50, "0.50"), (100, "1.00"), (10_000, "100.00"), (6_351_153, "63511.53"),
        (-5, "-0.05"), (-100, "-1.00"), (Int64.max, "92233720368547758.07"), (Int64.min, "-92233720368547758.08"),
    ])
    func money(value: Int64, expected: String) {
        var event = SampleEvents.accountTransaction
        event.funds = LoggedDecimal(cents(value))
        #expect(renderedXML(event).contains("\t\t<funds>\(expected)</funds>\n"))
        #expect(cents(value).description == expected)
    }

    @Test("money agrees with Money.description for random amounts")
    func randomMoney() {
        var generator = SplitMix64(seed: 2024)
        var event = SampleEvents.quoteServer
        for round in 0..<5000 {
            let value: Int64 = switch round % 3 {
            case 0: Int64.random(in: -10_000...10_000, using: &generator)
            case 1: Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &generator)
            default: Int64(bitPattern: generator.next())
            }
            event.price = cents(value)
            #expect(renderedXML(event).contains("<price>\(cents(value).description)</price>"))
        }
    }

    @Test("a nil optional child is left out, an empty string is written")
    func nilAndEmpty() {
        let event = AuditEvent.userCommand(id: "i", timestamp: 1, server: "", transactionNum: 1, command: .quote, username: "")
        #expect(renderedXML(event) == """
            \t<userCommand>
            \t\t<timestamp>1</timestamp>
            \t\t<server></server>
            \t\t<transactionNum>1</transactionNum>
            \t\t<command>QUOTE</command>
            \t\t<username></username>
            \t</userCommand>

            """)
    }

    @Test("nasty strings in every text field are escaped the same way")
    func nastyFields() {
        let expected = escapedXML(SampleEvents.nasty)
        #expect(expected.hasPrefix("&lt;&amp;&gt;&quot;&apos; ]]&gt; &amp;amp; &lt;![CDATA[x]]&gt; -- "))
        let xml = renderedXML(SampleEvents.nastyOfEachKind[1])
        #expect(xml.contains("<server>\(expected)</server>"))
        #expect(xml.contains("<username>\(expected)</username>"))
        #expect(xml.contains("<cryptokey>\(expected)</cryptokey>"))
        #expect(xml.contains("<stockSymbol>&#13;\n\t</stockSymbol>"))
    }
}

// MARK: - Validation with xmllint

/// Runs xmllint on files, as the course does to check a log.
enum XMLLint {
    /// `<repo>`, found from this file: `<repo>/Tests/DayTraderCoreTests/AuditEventTests.swift`.
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // DayTraderCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository
        .standardizedFileURL

    /// The project's own schema, committed with the code.
    static let projectSchema = repository.appendingPathComponent("audit/logfile.xsd").path

    /// The course's schema, beside the repository in `<repo>/../shared/course`.
    static let courseSchema = repository.appendingPathComponent("../shared/course/logfile-current.xsd").standardizedFileURL.path

    static var courseSchemaAvailable: Bool { FileManager.default.isReadableFile(atPath: courseSchema) }

    struct Outcome {
        let exitStatus: Int32
        let output: String
        var validates: Bool { exitStatus == 0 }
    }

    /// A fresh directory for one test's files, removed by `body`'s end.
    static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("daytrader-auditxml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    /// Writes `document` to `directory/name` and validates it against `schema`.
    static func validate(_ document: [UInt8], named name: String, in directory: URL, schema: String) throws -> Outcome {
        let file = directory.appendingPathComponent(name)
        try Data(document).write(to: file)
        return try run(["xmllint", "--noout", "--schema", schema, file.path], outputFile: directory.appendingPathComponent(name + ".out").path)
    }

    struct SpawnFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `arguments` with posix_spawnp, stdout and stderr into `outputFile`, and waits for it.
    /// (Foundation's Process is not used: it hangs in some sandboxes.)
    static func run(_ arguments: [String], outputFile: String) throws -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { argv.forEach { free($0) } }
        let environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/local/bin:/usr/bin:/bin"), strdup("LC_ALL=C"), nil]
        defer { environment.forEach { free($0) } }

        var pid = pid_t()
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environment)
        guard spawned == 0 else {
            throw SpawnFailure(description: "cannot run \(arguments[0]) (\(String(cString: strerror(spawned)))); install libxml2-utils (scripts/install-deps.sh)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw SpawnFailure(description: "waitpid: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import as functions.
        let exited = status & 0x7F == 0
        let exitStatus = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        // Lossy: xmllint quotes the bad document's bytes, which need not be UTF-8.
        let output = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: outputFile))) ?? Data(), as: UTF8.self)
        return Outcome(exitStatus: exitStatus, output: output)
    }

    /// The log with one of each kind and the nasty strings, as a test file.
    static let goodLog = renderedLog(SampleEvents.oneOfEachKind + SampleEvents.nastyOfEachKind + [SampleEvents.everyField])
}

@Suite("Audit log validation with xmllint", .serialized)
struct AuditLogValidationTests {
    @Test("a log of every kind, nasty strings included, validates against audit/logfile.xsd")
    func projectSchema() throws {
        let outcome = try XMLLint.withTemporaryDirectory { directory in
            try XMLLint.validate(XMLLint.goodLog, named: "log.xml", in: directory, schema: XMLLint.projectSchema)
        }
        #expect(outcome.validates, "xmllint exit \(outcome.exitStatus): \(outcome.output)")
        #expect(outcome.output.contains("validates"))
    }

    @Test(
        "the same log validates against the course's logfile-current.xsd",
        .enabled(
            if: XMLLint.courseSchemaAvailable,
            "the course schema is not at \(XMLLint.courseSchema) (<repo>/../shared/course); skipping the course half of the validation"
        )
    )
    func courseSchema() throws {
        let outcome = try XMLLint.withTemporaryDirectory { directory in
            try XMLLint.validate(XMLLint.goodLog, named: "log.xml", in: directory, schema: XMLLint.courseSchema)
        }
        #expect(outcome.validates, "xmllint exit \(outcome.exitStatus): \(outcome.output)")
    }

    @Test("an empty log validates")
    func emptyLog() throws {
        let outcome = try XMLLint.withTemporaryDirectory { directory in
            try XMLLint.validate(AuditLogXML.header + AuditLogXML.footer, named: "empty.xml", in: directory, schema: XMLLint.projectSchema)
        }
        #expect(outcome.validates, "\(outcome.output)")
    }

    /// Documents that must not validate, each one mistake away from a valid one.
    static let brokenDocuments: [(String, String)] = {
        let good = renderedXML(SampleEvents.userCommand)
        func broken(_ from: String, _ to: String, in element: String = good) -> String {
            precondition(element.contains(from), "test bug: \(from) is not in the element")
            return String(decoding: AuditLogXML.header, as: UTF8.self)
                + element.replacingOccurrences(of: from, with: to)
                + String(decoding: AuditLogXML.footer, as: UTF8.self)
        }
        let quote = renderedXML(SampleEvents.quoteServer)
        let account = renderedXML(SampleEvents.accountTransaction)
        return [
            ("funds abc", broken("<funds>63511.53</funds>", "<funds>abc</funds>")),
            ("funds with a comma", broken("<funds>63511.53</funds>", "<funds>63,511.53</funds>")),
            ("price empty", broken("<price>276.83</price>", "<price></price>", in: quote)),
            ("transactionNum 0", broken("<transactionNum>1</transactionNum>", "<transactionNum>0</transactionNum>")),
            ("timestamp in seconds", broken("<timestamp>1700000000000</timestamp>", "<timestamp>1700000000</timestamp>")),
            ("timestamp after 2100", broken("<timestamp>1700000000000</timestamp>", "<timestamp>4102444800001</timestamp>")),
            ("unknown command", broken("<command>ADD</command>", "<command>DEPOSIT</command>")),
            ("four-letter symbol", broken("<stockSymbol>S</stockSymbol>", "<stockSymbol>ABCD</stockSymbol>", in: quote)),
            ("quoteServerTime not an integer", broken("<quoteServerTime>1700000000123</quoteServerTime>", "<quoteServerTime>1.5</quoteServerTime>", in: quote)),
            ("no server", broken("\t\t<server>ts1</server>\n", "")),
            ("no funds in an accountTransaction", broken("\t\t<funds>100.00</funds>\n", "", in: account)),
            ("a child twice", broken("\t\t<username>oY01WVirLr</username>\n", "\t\t<username>a</username>\n\t\t<username>b</username>\n")),
            ("a child of another kind", broken("\t\t<funds>63511.53</funds>\n", "\t\t<price>1.00</price>\n")),
            ("an unknown event", broken("userCommand>", "userCommands>")),
            ("not well-formed", broken("<server>ts1</server>", "<server>a & b</server>")),
        ]
    }()

    @Test("broken documents fail validation against audit/logfile.xsd (and the course schema, when present)",
          arguments: brokenDocuments.map(\.0))
    func brokenDocumentsFail(label: String) throws {
        let document = try #require(Self.brokenDocuments.first { $0.0 == label }).1
        let schemas = [XMLLint.projectSchema] + (XMLLint.courseSchemaAvailable ? [XMLLint.courseSchema] : [])
        try XMLLint.withTemporaryDirectory { directory in
            for schema in schemas {
                let outcome = try XMLLint.validate(Array(document.utf8), named: "broken.xml", in: directory, schema: schema)
                #expect(!outcome.validates, "\(label) passed \(schema)")
                #expect(outcome.exitStatus != 0 && !outcome.output.isEmpty)
            }
        }
    }

    @Test("an event missingFields refuses for a schema reason renders as an invalid log; a complete one as a valid log")
    func missingFieldsAgreesWithSchema() throws {
        try XMLLint.withTemporaryDirectory { directory in
            for testCase in MissingFieldsCase.all where testCase.schemaCatches {
                let outcome = try XMLLint.validate(renderedLog([testCase.event]), named: "case.xml", in: directory, schema: XMLLint.projectSchema)
                #expect(!outcome.validates, "\(testCase.label) validates although missingFields is \(testCase.event.missingFields)")
            }
            for event in SampleEvents.oneOfEachKind + SampleEvents.nastyOfEachKind {
                #expect(event.missingFields.isEmpty)
                let outcome = try XMLLint.validate(renderedLog([event]), named: "event.xml", in: directory, schema: XMLLint.projectSchema)
                #expect(outcome.validates, "\(event.kind) \(event.id): \(outcome.output)")
            }
        }
    }
}
