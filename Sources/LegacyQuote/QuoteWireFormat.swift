import DayTraderCore

/// The text of the legacy quote protocol, without any I/O.
///
/// A request is `SYM,userid\n`; the reply is one line `price,SYM,userid,timestamp,cryptokey`,
/// for example `383.82,QDU,kHMjwfSx2P,1583452412110,4ezh2VUVde+ZVUcMj+L7f7r9bKnjeNkjzPdaZx1m4Vf+zEF/t4pPTA==`.
/// A request the server judges invalid gets `NA` in the userid field.
public enum QuoteWireFormat {
    /// The longest line either side reads; anything longer is garbage, not a quote.
    public static let maximumLineLength = 1024

    /// The userid field of a reply to a request the server judged invalid.
    public static let rejectedUserField = "NA"

    /// The request line for a quote, newline included: `SYM,userid\n`.
    public static func request(symbol: StockSymbol, user: UserID) -> String {
        "\(symbol.rawValue),\(user.rawValue)\n"
    }

    /// Parses one reply line strictly.
    ///
    /// The line must have exactly five comma-separated fields: a positive price with at most two
    /// decimals, the requested symbol, a non-empty userid, a Unix-millisecond timestamp of digits
    /// only, and a non-empty cryptokey of base64 characters. One trailing `\n` or `\r\n` is allowed.
    public static func parseReply(_ line: some StringProtocol, expecting symbol: StockSymbol) throws(QuoteError) -> Quote {
        let fields = try replyFields(line)
        let price: Money
        do {
            price = try Money(parsing: fields[0])
        } catch {
            throw .malformedReply("price \(shown(fields[0])): \(error)")
        }
        guard price > .zero else { throw .malformedReply("price \(shown(fields[0])) is not positive") }
        guard fields[1] == symbol.rawValue else {
            throw .malformedReply("symbol \(shown(fields[1])) does not match the requested \(symbol)")
        }
        guard !fields[2].isEmpty else { throw .malformedReply("the userid field is empty") }
        guard !fields[3].isEmpty, fields[3].utf8.allSatisfy(isDigit), let quoteServerTime = Int64(fields[3]) else {
            throw .malformedReply("timestamp \(shown(fields[3])) is not a number of milliseconds")
        }
        guard isBase64(fields[4]) else {
            throw .malformedReply("cryptokey \(shown(fields[4])) is not base64")
        }
        return Quote(
            price: price,
            symbol: symbol,
            user: String(fields[2]),
            quoteServerTime: quoteServerTime,
            cryptokey: String(fields[4])
        )
    }

    /// Whether a reply line has the shape of a rejection: five fields with `NA` as the userid.
    public static func isRejection(_ line: some StringProtocol) -> Bool {
        guard let fields = try? replyFields(line) else { return false }
        return fields[2] == rejectedUserField
    }

    /// The reply line for a quote, newline included, as the legacy server writes it.
    public static func reply(_ quote: Quote) -> String {
        "\(quote.price),\(quote.symbol.rawValue),\(quote.user),\(quote.quoteServerTime),\(quote.cryptokey)\n"
    }

    private static func replyFields(_ line: some StringProtocol) throws(QuoteError) -> [Substring] {
        var body = Substring(line)
        // "\r\n" is a single Character, so one dropLast removes either line ending.
        if body.last == "\n" || body.last == "\r\n" { body = body.dropLast() }
        let fields = body.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 5 else {
            throw .malformedReply("expected 5 comma-separated fields, got \(fields.count) in \(shown(body))")
        }
        return fields
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Base64's alphabet, with at most two `=` of padding and only at the end.
    private static func isBase64(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        let padding = bytes.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard bytes.count > padding, padding <= 2 else { return false }
        return bytes.dropLast(padding).allSatisfy { byte in
            isDigit(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
        }
    }

    /// A field or line quoted for an error message, cut short so that garbage cannot make a huge message.
    private static func shown(_ text: some StringProtocol) -> String {
        let limit = 60
        return text.count > limit ? "'\(text.prefix(limit))...'" : "'\(text)'"
    }
}
