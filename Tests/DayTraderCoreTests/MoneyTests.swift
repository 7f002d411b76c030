import Testing
@testable import DayTraderCore

@Suite("Money parsing")
struct MoneyParsingTests {
    @Test("valid amounts parse exactly into cents", arguments: [
        ("63511.53", 6_351_153),
        ("0.01", 1),
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("007.10", 710),
        ("0", 0),
        ("0.00", 0),
        ("0.5", 50),
        ("276.83", 27683),
        ("1000000000.00", 1_000_000_000_00),
        ("00000000000000000000000000000000000001.00", 100),
        ("92233720368547758.07", Int64.max),
        ("92233720368547758", 9_223_372_036_854_775_800),
    ] as [(String, Int64)])
    func parses(text: String, expected: Int64) throws {
        #expect(try Money(parsing: text).cents == expected)
    }

    @Test("invalid amounts are rejected with the right reason", arguments: [
        ("", MoneyParseError.empty),
        ("-1", .negative),
        ("-73280.58", .negative),
        ("-0", .negative),
        ("-0.00", .negative),
        ("1.234", .tooManyDecimals),
        ("0.001", .tooManyDecimals),
        ("12.500", .tooManyDecimals),
        ("1.", .notANumber),
        (".5", .notANumber),
        (".", .notANumber),
        ("1..2", .notANumber),
        ("1.2.3", .notANumber),
        ("1e3", .notANumber),
        ("1E3", .notANumber),
        ("1,000", .notANumber),
        ("1_000", .notANumber),
        (" 1", .notANumber),
        ("1 ", .notANumber),
        ("1\n", .notANumber),
        ("abc", .notANumber),
        ("NaN", .notANumber),
        ("inf", .notANumber),
        ("+1", .notANumber),
        ("$1", .notANumber),
        ("0x10", .notANumber),
        ("1\u{0}", .notANumber),
        ("\u{661}\u{662}", .notANumber),  // Arabic-Indic digits
        ("\u{FF11}\u{FF12}", .notANumber),  // full-width digits
        ("1.2a", .notANumber),
        ("99999999999999999999", .outOfRange),
        ("99999999999999999999.99", .outOfRange),
        ("92233720368547758.08", .outOfRange),
        ("92233720368547758.1", .outOfRange),
        ("92233720368547759", .outOfRange),
        ("9223372036854775807", .outOfRange),  // Int64.max as dollars is far too many cents
    ] as [(String, MoneyParseError)])
    func rejects(text: String, expected: MoneyParseError) {
        #expect(throws: expected) { try Money(parsing: text) }
    }

    @Test("parses any StringProtocol, such as a Substring of a line")
    func parsesSubstring() throws {
        let line = "ADD,user,63511.53 "
        let field = line.split(separator: ",")[2].dropLast()
        #expect(try Money(parsing: field) == cents(6_351_153))
    }

    @Test("a megabyte of digits is out of range, not a crash or a hang")
    func hugeInput() {
        #expect(throws: MoneyParseError.outOfRange) { try Money(parsing: repeated("9", oneMegabyte)) }
        #expect(throws: MoneyParseError.notANumber) { try Money(parsing: repeated("x", oneMegabyte)) }
        #expect(throws: MoneyParseError.tooManyDecimals) { try Money(parsing: "1." + repeated("0", oneMegabyte)) }
    }

    @Test("every parse error has a distinct, readable description")
    func errorDescriptions() {
        let all: [MoneyParseError] = [.empty, .negative, .notANumber, .tooManyDecimals, .outOfRange]
        let descriptions = all.map(\.description)
        #expect(Set(descriptions).count == all.count)
        for text in descriptions {
            #expect(!text.isEmpty)
            #expect(text.count < 80)
        }
    }
}

@Suite("Money formatting")
struct MoneyFormattingTests {
    @Test("dollars with exactly two decimals", arguments: [
        (0, "0.00"),
        (1, "0.01"),
        (5, "0.05"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (101, "1.01"),
        (1250, "12.50"),
        (6_351_153, "63511.53"),
        (-1, "-0.01"),
        (-5, "-0.05"),
        (-100, "-1.00"),
        (-6_351_153, "-63511.53"),
        (Int64.max, "92233720368547758.07"),
        (Int64.min, "-92233720368547758.08"),
        (Int64.min + 1, "-92233720368547758.07"),
    ] as [(Int64, String)])
    func formats(value: Int64, expected: String) {
        #expect(cents(value).description == expected)
        #expect("\(cents(value))" == expected)
    }

    @Test("parse(format(m)) == m for many seeded random non-negative amounts")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 468)
        var values: [Int64] = [0, 1, 9, 10, 99, 100, 101, 999, 1000, Int64.max, Int64.max - 1, Int64.max - 99]
        for _ in 0..<5000 { values.append(Int64.random(in: 0...Int64.max, using: &generator)) }
        for _ in 0..<5000 { values.append(Int64.random(in: 0...10_000_000, using: &generator)) }
        for exponent in 0..<63 { values.append((1 as Int64) << exponent) }
        for value in values {
            let money = cents(value)
            let text = money.description
            #expect(try Money(parsing: text) == money, "round trip of \(value) via \(text)")
            let point = try #require(text.firstIndex(of: "."))
            #expect(text[text.index(after: point)...].count == 2)
        }
    }

    @Test("negative amounts format as '-' followed by the magnitude's text")
    func negativeIsSignedMagnitude() {
        var generator = SplitMix64(seed: 462)
        for _ in 0..<2000 {
            let value = Int64.random(in: 1...Int64.max, using: &generator)
            #expect(cents(-value).description == "-" + cents(value).description)
        }
    }

    @Test("writing dollars.cents yields exactly dollars * 100 + cents")
    func composedText() throws {
        var generator = SplitMix64(seed: 2020)
        for _ in 0..<2000 {
            let whole = Int64.random(in: 0...92_233_720_368_547_757, using: &generator)
            let fraction = Int64.random(in: 0...99, using: &generator)
            let twoDigits = fraction < 10 ? "0\(fraction)" : "\(fraction)"
            #expect(try Money(parsing: "\(whole).\(twoDigits)").cents == whole * 100 + fraction)
            if fraction % 10 == 0 {
                #expect(try Money(parsing: "\(whole).\(fraction / 10)").cents == whole * 100 + fraction)
            }
            #expect(try Money(parsing: "\(whole)").cents == whole * 100)
        }
    }
}

@Suite("Money arithmetic")
struct MoneyArithmeticTests {
    @Test("ordering and zero")
    func ordering() {
        #expect(Money.zero == cents(0))
        #expect(cents(-1) < .zero)
        #expect(cents(1) > .zero)
        #expect(cents(199) < cents(200))
        #expect(cents(Int64.min) < cents(Int64.max))
        #expect([cents(3), cents(-2), cents(1)].sorted() == [cents(-2), cents(1), cents(3)])
    }

    @Test("adding and subtracting in range")
    func inRange() throws {
        #expect(try dollars("1.50").adding(dollars("2.75")) == dollars("4.25"))
        #expect(try dollars("1.50").subtracting(dollars("2.75")) == cents(-125))
        #expect(try cents(Int64.max - 1).adding(cents(1)) == cents(Int64.max))
        #expect(try cents(Int64.min + 1).subtracting(cents(1)) == cents(Int64.min))
        #expect(try cents(Int64.max).adding(cents(Int64.min)) == cents(-1))
        #expect(try cents(0).subtracting(cents(Int64.max)) == cents(-Int64.max))
    }

    @Test("adding overflow throws, never traps or wraps", arguments: [
        (Int64.max, 1),
        (1, Int64.max),
        (Int64.max, Int64.max),
        (Int64.min, -1),
        (Int64.min, Int64.min),
    ] as [(Int64, Int64)])
    func addingOverflow(lhs: Int64, rhs: Int64) {
        #expect(throws: ArithmeticOverflow()) { try cents(lhs).adding(cents(rhs)) }
    }

    @Test("subtracting overflow throws, never traps or wraps", arguments: [
        (Int64.min, 1),
        (0, Int64.min),
        (Int64.max, -1),
        (Int64.max, Int64.min),
        (-2, Int64.max),
    ] as [(Int64, Int64)])
    func subtractingOverflow(lhs: Int64, rhs: Int64) {
        #expect(throws: ArithmeticOverflow()) { try cents(lhs).subtracting(cents(rhs)) }
    }

    @Test("times: the cost of whole shares")
    func times() throws {
        #expect(try dollars("276.83").times(3) == dollars("830.49"))
        #expect(try dollars("276.83").times(0) == .zero)
        #expect(try cents(1).times(Int64.max) == cents(Int64.max))
        #expect(try cents(Int64.max).times(1) == cents(Int64.max))
        #expect(try cents(4_611_686_018_427_387_903).times(2) == cents(Int64.max - 1))
    }

    @Test("times overflow throws, never traps or wraps", arguments: [
        (Int64.max, 2),
        (4_611_686_018_427_387_904, 2),
        (2, Int64.max),
        (Int64.min, -1),
        (3_037_000_500, 3_037_000_500),
        (-3_037_000_500, 3_037_000_500),
    ] as [(Int64, Int64)])
    func timesOverflow(price: Int64, shares: Int64) {
        #expect(throws: ArithmeticOverflow()) { try cents(price).times(shares) }
    }

    @Test("checked share-count addition")
    func checkedAdding() throws {
        #expect(try Int64(40).checkedAdding(2) == 42)
        #expect(try (Int64.max - 1).checkedAdding(1) == Int64.max)
        #expect(throws: ArithmeticOverflow()) { try Int64.max.checkedAdding(1) }
        #expect(throws: ArithmeticOverflow()) { try Int64.min.checkedAdding(-1) }
    }

    @Test("wholeShares is floor(amount / price)", arguments: [
        (100_00, 30_00, 3),
        (90_00, 30_00, 3),
        (89_99, 30_00, 2),
        (30_00, 30_00, 1),
        (29_99, 30_00, 0),
        (0, 1, 0),
        (1, 1, 1),
        (-5, 1, 0),  // a negative amount buys nothing, never a negative count
        (-100_00, 30_00, 0),
        (Int64.max, 1, Int64.max),
        (Int64.max, Int64.max, 1),
        (Int64.max - 1, Int64.max, 0),
        (Int64.min, 7, 0),
    ] as [(Int64, Int64, Int64)])
    func wholeShares(amount: Int64, price: Int64, expected: Int64) {
        #expect(cents(amount).wholeShares(at: cents(price)) == expected)
    }

    @Test("wholeShares: shares * price <= amount < (shares + 1) * price, for seeded random values")
    func wholeSharesProperty() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<5000 {
            let amount = Int64.random(in: 0...1_000_000_000_00, using: &generator)
            let price = Int64.random(in: 1...100_000_00, using: &generator)
            let shares = cents(amount).wholeShares(at: cents(price))
            #expect(shares * price <= amount)
            #expect((shares + 1) * price > amount)
        }
    }
}
