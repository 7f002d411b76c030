/// An amount of money in whole cents.
///
/// Money is never a floating-point value: amounts are parsed exactly from their decimal text
/// ("63511.53") and every arithmetic operation is checked, so an overflow becomes a rejected
/// command instead of a trap or a wrapped value.
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The amount in cents. May be negative only for ledger deltas, never for balances.
    public let cents: Int64

    public static let zero = Money(cents: 0)

    public init(cents: Int64) {
        self.cents = cents
    }

    /// Parses a dollar amount written with at most two decimals: "12", "12.5", "12.50".
    ///
    /// A sign, exponent, grouping separator, surrounding space or a third decimal is an error,
    /// as is a value that does not fit in `Int64` cents.
    public init(parsing text: some StringProtocol) throws(MoneyParseError) {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty else { throw .empty }
        if utf8.first == UInt8(ascii: "-") { throw .negative }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var seenPoint = false
        var wholeDigits = 0
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = Int64(byte - UInt8(ascii: "0"))
                if seenPoint {
                    fractionDigits += 1
                    guard fractionDigits <= 2 else { throw .tooManyDecimals }
                    fraction = fraction * 10 + digit
                } else {
                    wholeDigits += 1
                    let (shifted, o1) = whole.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = shifted.addingReportingOverflow(digit)
                    guard !o1, !o2 else { throw .outOfRange }
                    whole = sum
                }
            case UInt8(ascii: "."):
                guard !seenPoint else { throw .notANumber }
                seenPoint = true
            default:
                throw .notANumber
            }
        }
        guard wholeDigits > 0, !seenPoint || fractionDigits > 0 else { throw .notANumber }
        if fractionDigits == 1 { fraction *= 10 }
        let (scaled, o1) = whole.multipliedReportingOverflow(by: 100)
        let (cents, o2) = scaled.addingReportingOverflow(fraction)
        guard !o1, !o2 else { throw .outOfRange }
        self.cents = cents
    }

    /// Dollars with exactly two decimals, as the audit log and the API write them: "100.00".
    public var description: String {
        let magnitude = cents.magnitude
        let dollars = magnitude / 100
        let remainder = magnitude % 100
        let sign = cents < 0 ? "-" : ""
        return "\(sign)\(dollars).\(remainder < 10 ? "0" : "")\(remainder)"
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.cents < rhs.cents }

    public func adding(_ other: Money) throws(ArithmeticOverflow) -> Money {
        let (sum, overflow) = cents.addingReportingOverflow(other.cents)
        guard !overflow else { throw ArithmeticOverflow() }
        return Money(cents: sum)
    }

    public func subtracting(_ other: Money) throws(ArithmeticOverflow) -> Money {
        let (difference, overflow) = cents.subtractingReportingOverflow(other.cents)
        guard !overflow else { throw ArithmeticOverflow() }
        return Money(cents: difference)
    }

    /// The cost of `shares` whole shares at this price.
    public func times(_ shares: Int64) throws(ArithmeticOverflow) -> Money {
        let (product, overflow) = cents.multipliedReportingOverflow(by: shares)
        guard !overflow else { throw ArithmeticOverflow() }
        return Money(cents: product)
    }

    /// How many whole shares at `price` this amount buys: `floor(self / price)`.
    public func wholeShares(at price: Money) -> Int64 {
        precondition(price.cents > 0, "a price is always positive")
        return cents >= 0 ? cents / price.cents : 0
    }
}

/// Why a text is not an amount of money.
public enum MoneyParseError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case negative
    case notANumber
    case tooManyDecimals
    case outOfRange

    public var description: String {
        switch self {
        case .empty: "the amount is missing"
        case .negative: "the amount is negative"
        case .notANumber: "the amount is not a number of dollars such as 12.34"
        case .tooManyDecimals: "the amount has more than two decimals"
        case .outOfRange: "the amount is too large"
        }
    }
}

/// An arithmetic result that does not fit in 64 bits.
public struct ArithmeticOverflow: Error, Hashable, Sendable {
    public init() {}
}

/// Checked addition for share counts, the other quantity the system adds up.
extension Int64 {
    public func checkedAdding(_ other: Int64) throws(ArithmeticOverflow) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard !overflow else { throw ArithmeticOverflow() }
        return sum
    }
}

/// Money travels in JSON as its two-decimal text, never as a binary floating-point number.
extension Money: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            if text.hasPrefix("-") {
                self = Money(cents: -(try Money(parsing: text.dropFirst())).cents)
            } else {
                self = try Money(parsing: text)
            }
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)': \(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
