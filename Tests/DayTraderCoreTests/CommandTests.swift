import Testing
@testable import DayTraderCore

private let user = "oY01WVirLr"
private let symbol = "ABC"
private let amount = "63511.53"

private func uid(_ text: String = user) -> UserID { try! UserID(validating: text) }
private func sym(_ text: String = symbol) -> StockSymbol { try! StockSymbol(validating: text) }

/// A request with every field `name` takes, all valid.
private func fullRequest(_ name: CommandName) -> CommandRequest {
    var request = CommandRequest(name: name.rawValue)
    for field in name.fields {
        switch field {
        case .user: request.user = user
        case .symbol: request.symbol = symbol
        case .amount: request.amount = amount
        case .filename: request.filename = "out.xml"
        }
    }
    return request
}

private func setting(_ field: CommandField, to value: String?, in request: CommandRequest) -> CommandRequest {
    var request = request
    switch field {
    case .user: request.user = value
    case .symbol: request.symbol = value
    case .amount: request.amount = value
    case .filename: request.filename = value
    }
    return request
}

private let allFields: [CommandField] = [.user, .symbol, .amount, .filename]

@Suite("CommandName")
struct CommandNameTests {
    @Test("there are sixteen commands, spelled as in the workloads")
    func names() {
        #expect(CommandName.allCases.map(\.rawValue) == [
            "ADD", "QUOTE", "BUY", "COMMIT_BUY", "CANCEL_BUY", "SELL", "COMMIT_SELL", "CANCEL_SELL",
            "SET_BUY_AMOUNT", "CANCEL_SET_BUY", "SET_BUY_TRIGGER", "SET_SELL_AMOUNT", "SET_SELL_TRIGGER",
            "CANCEL_SET_SELL", "DUMPLOG", "DISPLAY_SUMMARY",
        ])
    }

    @Test("fields per command follow the command table", arguments: [
        (CommandName.add, [CommandField.user, .amount]),
        (.quote, [.user, .symbol]),
        (.buy, [.user, .symbol, .amount]),
        (.commitBuy, [.user]),
        (.cancelBuy, [.user]),
        (.sell, [.user, .symbol, .amount]),
        (.commitSell, [.user]),
        (.cancelSell, [.user]),
        (.setBuyAmount, [.user, .symbol, .amount]),
        (.cancelSetBuy, [.user, .symbol]),
        (.setBuyTrigger, [.user, .symbol, .amount]),
        (.setSellAmount, [.user, .symbol, .amount]),
        (.setSellTrigger, [.user, .symbol, .amount]),
        (.cancelSetSell, [.user, .symbol]),
        (.dumplog, [.user, .filename]),
        (.displaySummary, [.user]),
    ])
    func fields(name: CommandName, expected: [CommandField]) {
        #expect(name.fields == expected)
    }

    @Test("CommandRequest's subscript reads each field")
    func subscriptReadsFields() {
        let request = CommandRequest(name: "X", user: "u", symbol: "s", amount: "a", filename: "f")
        #expect(request[.user] == "u")
        #expect(request[.symbol] == "s")
        #expect(request[.amount] == "a")
        #expect(request[.filename] == "f")
        #expect(CommandRequest(name: "X")[.user] == nil)
    }

    @Test("httpPath is /api/ and the name in lower case with - for _", arguments: [
        (CommandName.add, "/api/add"), (.commitBuy, "/api/commit-buy"), (.setSellTrigger, "/api/set-sell-trigger"),
        (.displaySummary, "/api/display-summary"), (.dumplog, "/api/dumplog"),
    ])
    func httpPath(name: CommandName, expected: String) {
        #expect(name.httpPath == expected)
    }
}

@Suite("Command(validating:) accepts every command")
struct ValidCommandTests {
    @Test("each of the sixteen commands", arguments: [
        (CommandRequest(name: "ADD", user: user, amount: amount), Command.add(uid(), amount: dollars(amount))),
        (CommandRequest(name: "QUOTE", user: user, symbol: symbol), .quote(uid(), sym())),
        (CommandRequest(name: "BUY", user: user, symbol: symbol, amount: "276.83"), .buy(uid(), sym(), amount: cents(27683))),
        (CommandRequest(name: "COMMIT_BUY", user: user), .commitBuy(uid())),
        (CommandRequest(name: "CANCEL_BUY", user: user), .cancelBuy(uid())),
        (CommandRequest(name: "SELL", user: user, symbol: "S", amount: "12.5"), .sell(uid(), sym("S"), amount: cents(1250))),
        (CommandRequest(name: "COMMIT_SELL", user: user), .commitSell(uid())),
        (CommandRequest(name: "CANCEL_SELL", user: user), .cancelSell(uid())),
        (CommandRequest(name: "SET_BUY_AMOUNT", user: user, symbol: symbol, amount: "100"), .setBuyAmount(uid(), sym(), amount: cents(10000))),
        (CommandRequest(name: "CANCEL_SET_BUY", user: user, symbol: symbol), .cancelSetBuy(uid(), sym())),
        (CommandRequest(name: "SET_BUY_TRIGGER", user: user, symbol: symbol, amount: "20.00"), .setBuyTrigger(uid(), sym(), price: cents(2000))),
        (CommandRequest(name: "SET_SELL_AMOUNT", user: user, symbol: symbol, amount: "0.01"), .setSellAmount(uid(), sym(), amount: cents(1))),
        (CommandRequest(name: "SET_SELL_TRIGGER", user: user, symbol: symbol, amount: "30.10"), .setSellTrigger(uid(), sym(), price: cents(3010))),
        (CommandRequest(name: "CANCEL_SET_SELL", user: user, symbol: symbol), .cancelSetSell(uid(), sym())),
        (CommandRequest(name: "DUMPLOG", filename: "./testLOG"), .dumplog(nil, try! DumpFileName(reducing: "testLOG"))),
        (CommandRequest(name: "DUMPLOG", user: user, filename: "out.xml"), .dumplog(uid(), try! DumpFileName(reducing: "out.xml"))),
        (CommandRequest(name: "DISPLAY_SUMMARY", user: user), .displaySummary(uid())),
    ])
    func valid(request: CommandRequest, expected: Command) throws {
        let command = try Command(validating: request)
        #expect(command == expected)
        #expect(command.name.rawValue == request.name)
    }

    @Test("a full request for every CommandName validates, keeps its name and its user", arguments: CommandName.allCases)
    func fullRequestValidates(name: CommandName) throws {
        let command = try Command(validating: fullRequest(name))
        #expect(command.name == name)
        #expect(command.user == uid())
    }

    @Test("the administrator's DUMPLOG has no user")
    func adminDumplog() throws {
        let command = try Command(validating: CommandRequest(name: "DUMPLOG", filename: "./testLOG"))
        #expect(command.user == nil)
        guard case .dumplog(nil, let file) = command else {
            Issue.record("expected an admin DUMPLOG, got \(command)")
            return
        }
        #expect(file.rawValue == "testLOG")
    }

    @Test("a user's DUMPLOG reduces the file name too")
    func userDumplog() throws {
        let command = try Command(validating: CommandRequest(name: "DUMPLOG", user: "user1", filename: "../../etc/passwd"))
        #expect(command == .dumplog(uid("user1"), try DumpFileName(reducing: "passwd")))
    }

    @Test("an amount exactly at the default maximum is accepted")
    func defaultMaximum() throws {
        #expect(CommandLimits().maximumAmount == dollars("1000000000.00"))
        let command = try Command(validating: CommandRequest(name: "ADD", user: user, amount: "1000000000.00"))
        #expect(command == .add(uid(), amount: dollars("1000000000")))
    }

    @Test("custom limits: exactly the maximum is accepted")
    func customMaximum() throws {
        let limits = CommandLimits(maximumAmount: dollars("100.00"))
        let command = try Command(validating: CommandRequest(name: "BUY", user: user, symbol: symbol, amount: "100"), limits: limits)
        #expect(command == .buy(uid(), sym(), amount: dollars("100")))
    }
}

@Suite("Command(validating:) rejects")
struct RejectedCommandTests {
    @Test("unknown or misspelled command names", arguments: [
        "", "FOO", "add", "Add", "ADD ", " ADD", "COMMIT", "SET_BUY", "DUMP_LOG", "QUOTES", "ADD\u{0}", "\u{FF21}DD",
    ])
    func unknownName(name: String) {
        let error = rejection(of: CommandRequest(name: name, user: user, amount: amount))
        #expect(error?.code == .malformedCommand)
        #expect(error?.message.contains("unknown command") == true)
    }

    @Test("a missing field (nil or empty) of every command", arguments: CommandName.allCases)
    func missingField(name: CommandName) {
        for field in name.fields {
            if name == .dumplog && field == .user { continue }  // the admin form: tested separately
            for missing in [nil, ""] as [String?] {
                let error = rejection(of: setting(field, to: missing, in: fullRequest(name)))
                #expect(error?.code == .malformedCommand, "\(name.rawValue) without \(field.rawValue)")
                #expect(error?.message == "\(name.rawValue) has no \(field.rawValue)")
            }
        }
    }

    @Test("an extra field on every command", arguments: CommandName.allCases)
    func extraField(name: CommandName) {
        for field in allFields where !name.fields.contains(field) {
            let valid = switch field {
            case .user: user
            case .symbol: symbol
            case .amount: amount
            case .filename: "out.xml"
            }
            // Extra, even if empty or valid: the request is malformed.
            for extra in [valid, ""] {
                let error = rejection(of: setting(field, to: extra, in: fullRequest(name)))
                #expect(error?.code == .malformedCommand, "\(name.rawValue) with a \(field.rawValue)")
                #expect(error?.message == "\(name.rawValue) takes no \(field.rawValue)")
            }
        }
    }

    @Test("QUOTE with an amount")
    func quoteWithAmount() {
        let error = rejection(of: CommandRequest(name: "QUOTE", user: user, symbol: symbol, amount: "1.00"))
        #expect(error == Rejection(.malformedCommand, "QUOTE takes no amount"))
    }

    @Test("an invalid user id on every command that takes one", arguments: CommandName.allCases)
    func invalidUser(name: CommandName) {
        for bad in ["a b", "\u{E9}", String(repeating: "u", count: 65), "user,1"] {
            let error = rejection(of: setting(.user, to: bad, in: fullRequest(name)))
            #expect(error?.code == .invalidUserID, "\(name.rawValue) with user \(bad.debugDescription)")
        }
    }

    @Test("an invalid symbol on every command that takes one", arguments: CommandName.allCases.filter { $0.fields.contains(.symbol) })
    func invalidSymbol(name: CommandName) {
        for bad in ["abc", "ABCD", "A B", "A-", "\u{C4}"] {
            let error = rejection(of: setting(.symbol, to: bad, in: fullRequest(name)))
            #expect(error?.code == .invalidSymbol, "\(name.rawValue) with symbol \(bad.debugDescription)")
        }
    }

    @Test("an invalid file name on DUMPLOG, in both forms", arguments: ["/", ".", "..", "a/..", "a b", "a\u{0}b", String(repeating: "f", count: 129)])
    func invalidFilename(bad: String) {
        #expect(rejection(of: CommandRequest(name: "DUMPLOG", filename: bad))?.code == .invalidFilename)
        #expect(rejection(of: CommandRequest(name: "DUMPLOG", user: user, filename: bad))?.code == .invalidFilename)
    }

    @Test("DUMPLOG without a file name is malformed, in both forms")
    func dumplogWithoutFilename() {
        #expect(rejection(of: CommandRequest(name: "DUMPLOG"))?.code == .malformedCommand)
        #expect(rejection(of: CommandRequest(name: "DUMPLOG", user: user))?.code == .malformedCommand)
        #expect(rejection(of: CommandRequest(name: "DUMPLOG", user: user, filename: ""))?.code == .malformedCommand)
    }

    @Test("DUMPLOG with an invalid user is not silently taken as the admin form")
    func dumplogInvalidUser() {
        #expect(rejection(of: CommandRequest(name: "DUMPLOG", user: "bad user", filename: "out.xml"))?.code == .invalidUserID)
        // An empty user field, as in "DUMPLOG,,out.xml", is an invalid user id, not the admin form.
        #expect(rejection(of: CommandRequest(name: "DUMPLOG", user: "", filename: "out.xml"))?.code == .invalidUserID)
    }

    static let amountCommands = CommandName.allCases.filter { $0.fields.contains(.amount) }

    @Test("zero, negative and malformed amounts on every command that takes one", arguments: amountCommands)
    func invalidAmount(name: CommandName) {
        let cases: [(String, String)] = [
            ("0", "greater than zero"),
            ("0.00", "greater than zero"),
            ("0.0", "greater than zero"),
            ("-1", "negative"),
            ("-73280.58", "negative"),
            ("1.234", "more than two decimals"),
            ("1.", "not a number"),
            (".5", "not a number"),
            ("1e3", "not a number"),
            ("1,000", "not a number"),
            (" 1", "not a number"),
            ("abc", "not a number"),
            ("NaN", "not a number"),
            ("+1", "not a number"),
        ]
        for (bad, reason) in cases {
            let error = rejection(of: setting(.amount, to: bad, in: fullRequest(name)))
            #expect(error?.code == .invalidAmount, "\(name.rawValue) with amount \(bad.debugDescription)")
            #expect(error?.message.contains(reason) == true, "\(error?.message ?? "no error") should say \(reason)")
            #expect(error?.message.contains("'\(bad)'") == true, "the message quotes the amount")
        }
    }

    @Test("amounts above the default maximum on every command that takes one", arguments: amountCommands)
    func tooLarge(name: CommandName) {
        for bad in ["1000000000.01", "1000000001", "92233720368547758.07", "92233720368547758.08", "99999999999999999999"] {
            let error = rejection(of: setting(.amount, to: bad, in: fullRequest(name)))
            #expect(error?.code == .amountTooLarge, "\(name.rawValue) with amount \(bad)")
            #expect(error?.message.contains("1000000000.00") == true, "the message names the maximum")
        }
    }

    @Test("custom limits", arguments: [
        ("100.00", nil),
        ("99.99", nil),
        ("0.01", nil),
        ("100.01", Rejection.Code.amountTooLarge),
        ("1000000000.00", .amountTooLarge),
        ("0", .invalidAmount),
    ] as [(String, Rejection.Code?)])
    func customLimits(text: String, expected: Rejection.Code?) {
        let limits = CommandLimits(maximumAmount: dollars("100.00"))
        let error = rejection(of: CommandRequest(name: "ADD", user: user, amount: text), limits: limits)
        #expect(error?.code == expected)
        if expected == .amountTooLarge {
            #expect(error?.message.contains("100.00") == true)
        }
    }

    @Test("a maximum of one cent allows only one cent")
    func tinyLimit() {
        let limits = CommandLimits(maximumAmount: cents(1))
        #expect(rejection(of: CommandRequest(name: "ADD", user: user, amount: "0.01"), limits: limits) == nil)
        #expect(rejection(of: CommandRequest(name: "ADD", user: user, amount: "0.02"), limits: limits)?.code == .amountTooLarge)
    }

    @Test("the first problem is reported: name, then extra fields, then fields in order")
    func order() {
        // Unknown name wins over everything.
        #expect(rejection(of: CommandRequest(name: "add", user: "bad user", amount: "-1"))?.code == .malformedCommand)
        // An extra field wins over invalid fields.
        #expect(rejection(of: CommandRequest(name: "QUOTE", user: "bad user", symbol: "bad", amount: "1"))?.message == "QUOTE takes no amount")
        // User before symbol before amount.
        #expect(rejection(of: CommandRequest(name: "BUY", user: "bad user", symbol: "bad", amount: "-1"))?.code == .invalidUserID)
        #expect(rejection(of: CommandRequest(name: "BUY", user: user, symbol: "bad", amount: "-1"))?.code == .invalidSymbol)
        #expect(rejection(of: CommandRequest(name: "BUY", user: user, symbol: symbol, amount: "-1"))?.code == .invalidAmount)
        #expect(rejection(of: CommandRequest(name: "BUY", user: user, amount: "-1"))?.message == "BUY has no symbol")
    }
}

@Suite("Rejection")
struct RejectionTests {
    @Test("codes are stable, machine-readable strings")
    func codes() {
        let expected: [Rejection.Code: String] = [
            .malformedCommand: "malformed_command",
            .invalidUserID: "invalid_user_id",
            .invalidSymbol: "invalid_symbol",
            .invalidAmount: "invalid_amount",
            .amountTooLarge: "amount_too_large",
            .invalidFilename: "invalid_filename",
            .idempotencyKeyReused: "idempotency_key_reused",
            .supervisorOnly: "supervisor_only",
            .forbidden: "forbidden",
            .unauthenticated: "unauthenticated",
            .badCredentials: "bad_credentials",
            .tooManyAttempts: "too_many_attempts",
            .nameTaken: "name_taken",
            .weakPassword: "weak_password",
            .crossSiteRequest: "cross_site_request",
            .unknownAccount: "unknown_account",
            .insufficientFunds: "insufficient_funds",
            .insufficientShares: "insufficient_shares",
            .amountBelowPrice: "amount_below_price",
            .noPendingBuy: "no_pending_buy",
            .noPendingSell: "no_pending_sell",
            .noBuyAmount: "no_buy_amount",
            .noSellAmount: "no_sell_amount",
            .triggerAboveReserve: "trigger_above_reserve",
            .noTrigger: "no_trigger",
            .arithmeticOverflow: "arithmetic_overflow",
            .quoteUnavailable: "quote_unavailable",
            .auditUnavailable: "audit_unavailable",
        ]
        #expect(Rejection.Code.allCases.count == expected.count)
        for code in Rejection.Code.allCases {
            #expect(code.rawValue == expected[code])
        }
    }

    @Test("description is code: message")
    func description() {
        let rejection = Rejection(.insufficientFunds, "not enough cash")
        #expect(rejection.description == "insufficient_funds: not enough cash")
        #expect(Rejection.overflow("the total").code == .arithmeticOverflow)
        #expect(Rejection.overflow("the total").message == "the total would overflow; nothing was changed")
    }
}

@Suite("Command rejections stay short for a megabyte of input")
struct HugeCommandInputTests {
    static let fields = ["name", "user", "symbol", "amount digits", "amount letters", "filename", "DUMPLOG user", "grapheme user"]

    static func request(_ which: String) -> CommandRequest {
        let huge = repeated("a", oneMegabyte)
        return switch which {
        case "name": CommandRequest(name: huge, user: user)
        case "user": CommandRequest(name: "ADD", user: huge, amount: "1.00")
        case "symbol": CommandRequest(name: "QUOTE", user: user, symbol: repeated("A", oneMegabyte))
        case "amount digits": CommandRequest(name: "ADD", user: user, amount: repeated("9", oneMegabyte))
        case "amount letters": CommandRequest(name: "ADD", user: user, amount: huge)
        case "filename": CommandRequest(name: "DUMPLOG", filename: repeated("f", oneMegabyte))
        case "DUMPLOG user": CommandRequest(name: "DUMPLOG", user: huge, filename: "out.xml")
        case "grapheme user": CommandRequest(name: "ADD", user: "a" + repeated("\u{301}", oneMegabyte / 2), amount: "1.00")
        default: fatalError("unknown case \(which)")
        }
    }

    @Test("message under 200 characters", arguments: fields)
    func bounded(which: String) {
        let error = rejection(of: Self.request(which))
        #expect(error != nil)
        if let error {
            expectBounded(error.message)
            expectBounded(error.description)
        }
    }

    @Test("a 1 MB user id is invalid_user_id with a short message")
    func megabyteUser() {
        let error = rejection(of: Self.request("user"))
        #expect(error?.code == .invalidUserID)
        #expect((error?.message.count ?? .max) < 200)
    }

    @Test("a 1 MB amount of digits is amount_too_large")
    func megabyteAmount() {
        #expect(rejection(of: Self.request("amount digits"))?.code == .amountTooLarge)
    }
}
