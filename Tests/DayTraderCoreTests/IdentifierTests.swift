import Testing
@testable import DayTraderCore

@Suite("UserID")
struct UserIDTests {
    @Test("valid user ids", arguments: [
        "oY01WVirLr",  // the workloads' shape: 10 characters of [A-Za-z0-9]
        "umhaEY4lil",
        "a",
        "Z",
        "0",
        "user_1",
        "user-1",
        "_",
        "-",
        String(repeating: "a", count: 64),
        String(repeating: "Az09_-", count: 10) + "abcd",
    ])
    func valid(text: String) throws {
        #expect(try UserID(validating: text).rawValue == text)
        #expect(try UserID(validating: text).description == text)
    }

    @Test("invalid user ids are rejected as invalid_user_id", arguments: [
        "",
        String(repeating: "a", count: 65),
        String(repeating: "a", count: 1000),
        "a b",
        " a",
        "a ",
        "a,b",
        "a.b",
        "a/b",
        "a\u{0}b",
        "a\tb",
        "a\n",
        "\u{E9}",  // é, one Character, non-ASCII
        "e\u{301}",  // é as e + combining accent
        "\u{7528}\u{6237}",  // 用户
        "\u{1F600}",  // an emoji
        "\u{FF21}",  // full-width A
        "user@example",
    ])
    func invalid(text: String) {
        #expect(throws: Rejection.self) { try UserID(validating: text) }
        do {
            _ = try UserID(validating: text)
        } catch {
            #expect(error.code == .invalidUserID)
            expectBounded(error.message)
        }
    }

    @Test("the length limit counts bytes: 64 ASCII characters pass, 65 fail")
    func lengthBoundary() throws {
        _ = try UserID(validating: String(repeating: "x", count: 64))
        #expect(throws: Rejection.self) { try UserID(validating: String(repeating: "x", count: 65)) }
    }

    @Test("user ids are case-sensitive")
    func caseSensitive() throws {
        #expect(try UserID(validating: "oY01WVirLr") != UserID(validating: "oy01wvirlr"))
        #expect(try UserID(validating: "abc") == UserID(validating: "abc"))
    }

    @Test("accepts a Substring")
    func substring() throws {
        let line = "x,oY01WVirLr,y"
        #expect(try UserID(validating: line.split(separator: ",")[1]).rawValue == "oY01WVirLr")
    }
}

@Suite("StockSymbol")
struct StockSymbolTests {
    @Test("valid symbols", arguments: ["S", "ABC", "QDU", "A1", "123", "0", "Z9Z"])
    func valid(text: String) throws {
        #expect(try StockSymbol(validating: text).rawValue == text)
        #expect(try StockSymbol(validating: text).description == text)
    }

    @Test("invalid symbols are rejected as invalid_symbol", arguments: [
        "",
        "abc",
        "s",
        "Ab",
        "ABCD",
        "ABCDEFGHIJ",
        "A B",
        " A",
        "A ",
        "A-",
        "A_",
        "A.",
        "\u{C4}",  // Ä
        "\u{FF21}\u{FF22}",  // full-width AB
        "A\u{0}",
    ])
    func invalid(text: String) {
        do {
            _ = try StockSymbol(validating: text)
            Issue.record("\(text.debugDescription) should be rejected")
        } catch {
            #expect(error.code == .invalidSymbol)
            expectBounded(error.message)
        }
    }
}

@Suite("DumpFileName")
struct DumpFileNameTests {
    @Test("a path is reduced to its last component", arguments: [
        ("./testLOG", "testLOG"),
        ("./finalLOG", "finalLOG"),
        ("testLOG", "testLOG"),
        ("out.xml", "out.xml"),
        ("../../etc/x", "x"),
        ("/etc/passwd", "passwd"),
        ("/tmp/a.xml", "a.xml"),
        ("a//b", "b"),
        ("dir/sub/log_1-2.xml", "log_1-2.xml"),
        (".hidden", ".hidden"),
        ("...", "..."),  // three dots is an ordinary name, not a parent directory
        ("..x", "..x"),
        (String(repeating: "f", count: 128), String(repeating: "f", count: 128)),
        ("dir/" + String(repeating: "f", count: 128), String(repeating: "f", count: 128)),
    ])
    func reduces(text: String, expected: String) throws {
        let name = try DumpFileName(reducing: text)
        #expect(name.rawValue == expected)
        #expect(name.description == expected)
        #expect(!name.rawValue.contains("/"))
    }

    @Test("names that reduce to nothing usable are rejected as invalid_filename", arguments: [
        "",
        "/",
        "//",
        ".",
        "..",
        "./",
        "../",
        "a/..",
        "a/.",
        "../..",
        "dir/",
        "a b",
        "a\u{0}b",
        "x/a\u{0}",
        "a\\b",
        "..\\..\\x",
        "log\n",
        "\u{E9}.xml",
        "a:b",
        "a*",
        String(repeating: "f", count: 129),
        "dir/" + String(repeating: "f", count: 129),
    ])
    func rejects(text: String) {
        do {
            let name = try DumpFileName(reducing: text)
            Issue.record("\(text.debugDescription) should be rejected, got \(name.rawValue.debugDescription)")
        } catch {
            #expect(error.code == .invalidFilename)
            expectBounded(error.message)
        }
    }
}

@Suite("Error messages stay short for huge input")
struct BoundedMessageTests {
    /// Names of huge inputs; the inputs themselves are built in the test so that a megabyte
    /// never ends up in a test's displayed name.
    static let hugeInputs = ["letters", "letters and spaces", "emoji", "one megabyte grapheme", "slashes"]

    static func hugeInput(_ name: String) -> String {
        switch name {
        case "letters": repeated("a", oneMegabyte)
        case "letters and spaces": repeated("a ", oneMegabyte / 2)
        case "emoji": repeated("\u{1F600}", oneMegabyte / 4)
        // One grapheme cluster of a megabyte: a base letter and a mountain of combining marks.
        case "one megabyte grapheme": "a" + repeated("\u{301}", oneMegabyte / 2)
        case "slashes": repeated("/", oneMegabyte)
        default: fatalError("unknown huge input \(name)")
        }
    }

    @Test("UserID", arguments: hugeInputs)
    func userID(name: String) {
        do {
            _ = try UserID(validating: Self.hugeInput(name))
            Issue.record("should be rejected")
        } catch {
            expectBounded(error.message)
        }
    }

    @Test("StockSymbol", arguments: hugeInputs)
    func symbol(name: String) {
        do {
            _ = try StockSymbol(validating: Self.hugeInput(name))
            Issue.record("should be rejected")
        } catch {
            expectBounded(error.message)
        }
    }

    @Test("DumpFileName", arguments: hugeInputs)
    func filename(name: String) {
        do {
            _ = try DumpFileName(reducing: Self.hugeInput(name))
            Issue.record("should be rejected")
        } catch {
            expectBounded(error.message)
        }
    }

    @Test("the quoted input is cut to 40 characters and marked as cut")
    func quotedShape() {
        #expect(quoted("short") == "'short'")
        #expect(quoted(repeated("b", 40)) == "'" + repeated("b", 40) + "'")
        #expect(quoted(repeated("b", 41)) == "'" + repeated("b", 40) + "...'")
    }
}

/// Idempotency keys are scoped to their caller, and no two callers' scoped keys can meet.
@Suite struct KeyOwnerTests {
    @Test func oneKeyOfDifferentCallersIsStoredApart() {
        let owners: [KeyOwner] = [.user("alice"), .user("bob"), .user(nil), .user(""), .staff("alice"), .staff("s"), .user("s"), .user("u-")]
        let scoped = owners.map { $0.scope("k-1") }
        #expect(Set(scoped).count == owners.count)
        #expect(KeyOwner.user("alice").scope("k-1") == KeyOwner.user("alice").scope("k-1"))
    }

    /// The owner is written with its length: a user id and key cannot be shifted into another's.
    @Test func anOwnerCannotBeForgedFromItsKey() {
        #expect(KeyOwner.user("a").scope("b|c") != KeyOwner.user("a|b").scope("c"))
        #expect(KeyOwner.user("a").scope("x") != KeyOwner.user("a").scope("y"))
    }
}

/// Fingerprints and scoped keys hold no U+0000 (PostgreSQL's text cannot), and stay distinct.
@Suite struct StoredTextTests {
    @Test func noNULReachesTheDatabaseAndDifferentTextsStayDifferent() {
        let texts = ["x\u{0}y", #"x\0y"#, #"x\\0y"#, "x\\\u{0}y", "xy"]
        let escaped = texts.map(StoredText.escaped)
        #expect(escaped.allSatisfy { !$0.unicodeScalars.contains("\0") })
        #expect(Set(escaped).count == texts.count)
        let request = CommandRequest(name: "ADD", user: "x\u{0}y", symbol: nil, amount: "1.00", filename: nil)
        #expect(!request.fingerprint(transactionNum: nil).unicodeScalars.contains("\0"))
        #expect(!KeyOwner.user("x\u{0}y").scope("k\u{0}").unicodeScalars.contains("\0"))
    }
}
