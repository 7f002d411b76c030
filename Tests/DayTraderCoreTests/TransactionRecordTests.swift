import Foundation
import Testing
@testable import DayTraderCore

/// Records: their JSON, the replies and audit events built from them, and the account document.
@Suite("TransactionRecord")
struct TransactionRecordTests {
    static let at: Int64 = 1_700_000_000_000
    static let quote = QuoteInfo(symbol: "ABC", price: Money(cents: 30_00), quoteServerTime: at - 5, cryptokey: "a2V5PQ==", user: "alice", cached: false, expiresAt: at + 60_000)

    static func command(_ name: CommandName, amount: String? = nil, symbol: String? = nil, quote: QuoteInfo? = nil, refusal: String? = nil) -> RecordHead {
        .command(CommandRequest(name: name.rawValue, user: "alice", symbol: symbol, amount: amount), id: "00000000-0000-4000-8000-000000000001",
                 server: "ts1", at: at, quote: quote, refusal: refusal)
    }

    /// A BUY that released an expired SELL first: every part of a result is set.
    static let buyAfterExpiry: TransactionRecord = {
        var result = RecordResult(transactionNum: 12, code: RecordResult.ok)
        result.version = 4
        result.cash = 10_00
        result.reservedCash = 90_00
        result.order = OrderRow(id: 9, side: .buy, symbol: "ABC", shares: 3, price: 30_00, amount: 90_00, placedAt: at, expiresAt: at + 60_000, transactionNum: 12)
        result.expired = [OrderRow(id: 3, side: .sell, symbol: "XYZ", shares: 2, price: 5_00, amount: 10_00, placedAt: at - 61_000, expiresAt: at - 1_000, transactionNum: 7)]
        result.holdings = [HoldingRow(symbol: "XYZ", shares: 2, reservedShares: 0)]
        result.ledger = [
            LedgerRow(kind: .sellExpired, symbol: "XYZ", shares: 2, reservedShares: -2, transactionNum: 7),
            LedgerRow(kind: .buyReserve, symbol: "ABC", cash: -90_00, reservedCash: 90_00, transactionNum: 12),
        ]
        return TransactionRecord(head: command(.buy, amount: "100.00", symbol: "ABC", quote: quote), result: result)
    }()

    @Test("a record reads back what it writes")
    func roundTrip() throws {
        var firing = RecordHead(id: "00000000-0000-4000-8000-000000000002", kind: .firing, server: "ts2", at: Self.at)
        firing.user = "bob"
        firing.side = .sell
        firing.symbol = "XYZ"
        firing.transactionNum = 5
        firing.funds = 36_00
        var result = RecordResult(code: RecordResult.ok)
        result.removedTrigger = TriggerKey(side: .sell, symbol: "XYZ")
        result.trigger = TriggerRow(side: .buy, symbol: "Q", amount: 1, triggerPrice: nil, reservedShares: 0, transactionNum: 2)
        result.available = 3
        result.shares = 4
        result.amount = 5
        for record in [Self.buyAfterExpiry, TransactionRecord(head: firing, result: result),
                       TransactionRecord(head: Self.command(.add, amount: "\u{0}\"\\\n", refusal: "bad \"amount\""), result: RecordResult(transactionNum: 1, code: "invalid_amount"))] {
            #expect(try TransactionRecord(parsing: record.json) == record)
        }
        let message = "[" + [Self.buyAfterExpiry.json, Self.buyAfterExpiry.json].joined(separator: ",") + "]"
        #expect(try TransactionRecord.records(parsing: Array(message.utf8)) == [Self.buyAfterExpiry, Self.buyAfterExpiry])
    }

    @Test("a record that is not one is refused with the field it lacks", arguments: [
        #"{"h":{}}"#, #"{"h":{"id":"x","k":"command","srv":"s","at":1},"r":{}}"#, #"{"h":{"id":"x","k":"nope","srv":"s","at":1},"r":{"c":"ok"}}"#, "[1]", "{",
    ])
    func malformed(text: String) {
        #expect(throws: RecordFormatError.self) { try TransactionRecord(parsing: text) }
    }

    @Test("the reply of a BUY: the order, the quote and the balances after it")
    func buyReply() {
        let reply = Self.buyAfterExpiry.reply
        #expect(reply.error == nil)
        #expect(reply.transactionNum == 12)
        #expect(reply.shares == 3)
        #expect(reply.price == Money(cents: 30_00))
        #expect(reply.amount == Money(cents: 90_00))
        #expect(reply.expiresAt == Self.at + 60_000)
        #expect(reply.cash == Money(cents: 10_00))
        #expect(reply.reservedCash == Money(cents: 90_00))
        #expect(reply.quote == Self.quote)
        #expect(String(decoding: reply.json, as: UTF8.self).hasPrefix(#"{"amount":"90.00","cash":"10.00","command":"BUY","expiresAt":1700000060000,"price":"30.00","quote":{"cached":false,"#))
    }

    @Test("the events of a BUY: its userCommand, the quote hit, the expiry's systemEvent, the cash removed")
    func buyEvents() {
        let events = AuditEvent.events(of: Self.buyAfterExpiry)
        #expect(events.map(\.kind) == [.userCommand, .quoteServer, .systemEvent, .accountTransaction])
        #expect(events.map(\.id) == (0..<4).map { "00000000-0000-4000-8000-000000000001.\($0)" })
        #expect(events[0].funds?.text == "100.00")
        #expect(events[1].cryptokey == "a2V5PQ==")
        #expect(events[2].command == "CANCEL_SELL")
        #expect(events[2].transactionNum == 7)
        #expect(events[2].funds?.text == "10.00")
        #expect(events[3].action == "remove")
        #expect(events[3].funds?.text == "90.00")
        #expect(events.allSatisfy { $0.missingFields.isEmpty && $0.timestamp == Self.at && $0.server == "ts1" })
    }

    @Test("a refused command logs its fields as sent, and an errorEvent saying why")
    func refusedEvents() throws {
        let record = TransactionRecord(
            head: Self.command(.add, amount: "-73280.58", refusal: "amount '-73280.58': the amount is negative"),
            result: RecordResult(transactionNum: 9962, code: "invalid_amount")
        )
        let events = AuditEvent.events(of: record)
        #expect(events.map(\.kind) == [.userCommand, .errorEvent])
        #expect(events.map { $0.funds?.text } == ["-73280.58", "-73280.58"])
        #expect(events[1].errorMessage == "invalid_amount: amount '-73280.58': the amount is negative")
        #expect(record.reply.error?.code == "invalid_amount")
    }

    @Test("funds as sent, when the schema's decimal holds them", arguments: [
        ("12", "12.00"), ("12.5", "12.50"), ("-73280.58", "-73280.58"), ("1.234", "1.234"), ("+5", "+5"), (".5", ".5"),
        ("99999999999999999999999", "99999999999999999999999"), ("-.5", "-.5"),
        // 24 digits, the most xmllint reads; leading zeros of the whole part do not count.
        ("999999999999999999999999", "999999999999999999999999"), ("0.000000000000000000000001", "0.000000000000000000000001"),
        ("0000000000000000000000001.234", "0000000000000000000000001.234"),
    ])
    func decimals(sent: String, logged: String) {
        #expect(LoggedDecimal(sent: sent)?.text == logged)
    }

    @Test("text that is no decimal xmllint reads is left out", arguments: [
        "", "abc", "1,000", "1e5", "--1", ".", "1.2.3", " 1", "NaN",
        "17939366932752195601756903", "1.000000000000000000000000000",  // 26 and 28 digits (the fuzz run's)
    ])
    func notDecimals(sent: String) {
        #expect(LoggedDecimal(sent: sent) == nil)
    }

    @Test("text the log cannot hold is replaced before it reaches a record")
    func safeText() {
        #expect(LogText.safe("a\u{0}b\u{1F}c\u{FFFE}\td\ne\r") == "a\u{FFFD}b\u{FFFD}c\u{FFFD}\td\ne\r")
        #expect(LogText.safe("Zo\u{EB} \u{1F600}") == "Zo\u{EB} \u{1F600}")
        #expect(LogText.needsReplacing("x\u{0}y"))
        #expect(!LogText.needsReplacing("plain"))
        let head = RecordHead.command(CommandRequest(name: "ADD", user: "x\u{0}y", amount: "1"), id: "i", server: "s", at: 1)
        #expect(head.user == "x\u{FFFD}y")
    }

    @Test("record ids are UUIDs, never the same twice")
    func ids() {
        let ids = (0..<10_000).map { _ in RecordID.next() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { UUID(uuidString: $0) != nil && $0 == $0.lowercased() && $0.count == 36 })
    }
}

@Suite("JSONValue and JSONWriter")
struct JSONTests {
    @Test("what the writer writes, the parser reads, and Foundation agrees")
    func roundTrip() throws {
        var json = JSONWriter()
        json.beginObject()
        json.field("text", "quote \" backslash \\ control \u{1} newline \n \u{1F600}")
        json.field("number", Int64.min)
        json.field("money", Money(cents: -5))
        json.key("list")
        json.beginArray()
        json.null()
        json.bool(true)
        json.beginObject()
        json.endObject()
        json.raw(#"{"already":"json"}"#)
        json.endArray()
        json.endObject()
        let parsed = try JSONValue(parsing: json.bytes)
        #expect(parsed["text"]?.string == "quote \" backslash \\ control \u{1} newline \n \u{1F600}")
        #expect(parsed["number"]?.int == Int64.min)
        #expect(parsed["money"]?.string == "-0.05")
        #expect(parsed["list"] == .array([.null, .bool(true), .object([:]), .object(["already": .string("json")])]))
        #expect(try JSONSerialization.jsonObject(with: Data(json.bytes)) is [String: Any])
    }

    @Test("escapes, surrogate pairs and numbers are read as RFC 8259 says")
    func parsing() throws {
        #expect(try JSONValue(parsing: #" {"a" : [1, -2.5, 1e3, "\u00e9\ud83d\ude00\/\b\f\n\r\t"] } "#) == .object([
            "a": .array([.integer(1), .number("-2.5"), .number("1e3"), .string("\u{E9}\u{1F600}/\u{8}\u{C}\n\r\t")]),
        ]))
        #expect(try JSONValue(parsing: "99999999999999999999") == .number("99999999999999999999"))
    }

    @Test("what is not JSON is refused", arguments: ["", "{", "[1,]", #"{"a"}"#, "tru", #""\x""#, "\"\u{1}\"", #""\ud83d""#, "1 2", "-"])
    func refused(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test("nesting is bounded")
    func depth() {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) }
    }
}

@Suite("AccountState")
struct AccountStateTests {
    static let now = Timestamp(unixMillis: 1_700_000_000_000)
    static let state = AccountState(
        version: 7, cash: 10_00, reservedCash: 150_00,
        holdings: [HoldingRow(symbol: "ZZZ", shares: 1, reservedShares: 0), HoldingRow(symbol: "AAA", shares: 0, reservedShares: 0), HoldingRow(symbol: "BBB", shares: 0, reservedShares: 2)],
        orders: [
            OrderRow(id: 1, side: .buy, symbol: "ABC", shares: 1, price: 50_00, amount: 50_00, placedAt: now.unixMillis - 60_000, expiresAt: now.unixMillis, transactionNum: 1),
            OrderRow(id: 2, side: .buy, symbol: "ABC", shares: 1, price: 50_00, amount: 50_00, placedAt: now.unixMillis - 10, expiresAt: now.unixMillis + 59_990, transactionNum: 2),
            OrderRow(id: 3, side: .buy, symbol: "ABC", shares: 1, price: 50_00, amount: 50_00, placedAt: now.unixMillis - 10, expiresAt: now.unixMillis + 59_990, transactionNum: 3),
            OrderRow(id: 4, side: .sell, symbol: "BBB", shares: 2, price: 1_00, amount: 2_00, placedAt: now.unixMillis, expiresAt: now.unixMillis + 60_000, transactionNum: 4),
        ],
        triggers: [TriggerRow(side: .sell, symbol: "BBB", amount: 5_00, triggerPrice: nil, reservedShares: 0, transactionNum: 5)],
        history: .rows([LedgerRow(kind: .add, symbol: nil, cash: 10_00, transactionNum: 1, at: now.unixMillis)])
    )

    @Test("the summary: holdings with shares by symbol, live orders newest first, triggers, history")
    func summary() throws {
        let json = try JSONValue(parsing: Self.state.summaryJSON(user: try UserID(validating: "alice"), now: Self.now))
        #expect(json["user"]?.string == "alice")
        #expect(json["version"]?.int == 7)
        #expect(json["cash"]?.string == "10.00")
        #expect(json["reservedCash"]?.string == "150.00")
        #expect(json["holdings"]?.array?.compactMap { $0["symbol"]?.string } == ["BBB", "ZZZ"])
        // Order 1's 60 s have run out at `now`: it is not pending any more.
        #expect(json["pendingBuys"]?.array?.compactMap { $0["transactionNum"]?.int } == [3, 2])
        #expect(json["pendingSells"]?.array?.count == 1)
        #expect(json["triggers"]?.array?.first?["state"]?.string == "awaiting_trigger")
        #expect(json["triggers"]?.array?.first?["triggerPrice"] == .null)
        #expect(json["history"]?.array?.first?["cash"]?.string == "10.00")
    }

    @Test("a history kept rendered gives the same document")
    func rendered() throws {
        guard case .rows(let rows) = Self.state.history else { return }
        var cached = Self.state
        cached.history = .rendered(rows.map(\.summaryEntryJSON))
        let user = try UserID(validating: "alice")
        #expect(cached.summaryJSON(user: user, now: Self.now) == Self.state.summaryJSON(user: user, now: Self.now))
    }

    @Test("the database's form of an account reads back")
    func parsing() throws {
        let text = #"{"v":3,"cash":100,"rcash":5,"h":[{"sym":"A","s":1,"rs":0}],"o":[],"g":[{"side":"buy","sym":"A","amt":5,"p":2,"rs":0,"t":9}],"l":[{"k":"add","sym":null,"c":100,"rc":0,"s":0,"rs":0,"t":1,"at":7}]}"#
        let state = try AccountState(parsing: text)
        #expect(state.version == 3)
        #expect(state.triggers.first?.triggerPrice == 2)
        #expect(state.history == .rows([LedgerRow(kind: .add, symbol: nil, cash: 100, transactionNum: 1, at: 7)]))
    }
}
