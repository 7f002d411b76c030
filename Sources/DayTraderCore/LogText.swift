/// Text as the audit log can hold it.
///
/// XML 1.0 forbids most control characters (all below U+0020 but tab, line feed and carriage
/// return) and U+FFFE and U+FFFF, and PostgreSQL's text cannot hold U+0000 at all. Text a client
/// sent goes into a record (and so into the database and the log) only through ``safe(_:)``,
/// which puts U+FFFD in place of each such character; a refusal's message then says so.
public enum LogText {
    /// `text` with every character the log cannot hold replaced by U+FFFD.
    public static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isForbidden) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(isForbidden(scalar) ? replacement : scalar)
        }
        return String(scalars)
    }

    /// Whether `safe` would change `text`.
    public static func needsReplacing(_ text: String) -> Bool {
        text.unicodeScalars.contains(where: isForbidden)
    }

    /// What a refusal's message adds when the request held such characters.
    public static let replacedNote = " (characters the log cannot hold were replaced with U+FFFD)"

    static let replacement: Unicode.Scalar = "\u{FFFD}"

    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false
        case 0..<0x20, 0xFFFE, 0xFFFF: true
        default: false
        }
    }
}

/// An amount as the log writes it: an `xsd:decimal` in its lexical form.
///
/// The system's own amounts are money, written to the cent ("100.00"). An amount a client sent is
/// logged as a valid amount (to the cent) when it is one, and otherwise as it was sent whenever it
/// is a decimal the log's validator can read ("-73280.58", "1.234", "99999999999999999999999"), so
/// the auditor sees what was asked; text that is not one ("abc", or 25 significant digits) is left
/// out of the log.
public struct LoggedDecimal: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public init(_ money: Money) {
        text = money.description
    }

    private init(verbatim: String) {
        text = verbatim
    }

    /// A client's amount: to the cent if it is valid money, verbatim if it is another decimal.
    public init?(sent: String) {
        if let money = try? Money(parsing: sent) {
            self.init(money)
        } else if Self.isDecimal(sent) {
            self.init(verbatim: sent)
        } else {
            return nil
        }
    }

    /// Text already in decimal form (as the audit database stores it).
    public init?(stored: String) {
        guard Self.isDecimal(stored) else { return nil }
        text = stored
    }

    public var description: String { text }

    /// The lexical space of `xsd:decimal` (an optional sign, then digits with at most one point
    /// and at least one digit: `(\+|-)?([0-9]+(\.[0-9]*)?|\.[0-9]+)`), within what libxml2 (xmllint,
    /// the course's validator) reads: at most 24 digits, leading zeros of the whole part not
    /// counted. A longer one made the whole log invalid (found by the fuzz run).
    static func isDecimal(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        var digits = 0
        var significant = 0
        var points = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                if significant > 0 || points > 0 || byte != UInt8(ascii: "0") { significant += 1 }
            case UInt8(ascii: "."): points += 1
            default: return false
            }
        }
        return digits > 0 && points <= 1 && significant <= Self.mostDigits
    }

    /// The most digits libxml2 reads in an `xsd:decimal`.
    static let mostDigits = 24
}
