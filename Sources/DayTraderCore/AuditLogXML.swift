/// Writes the audit log as XML (the course's logfile.xsd, or the project's audit/logfile.xsd),
/// one event at a time, so that a log of millions of events is never held in memory at once.
///
/// A log is `header`, then `append` for each event, then `footer`; the caller decides when to
/// flush the buffer to its destination. Every byte is written straight from the event's UTF-8:
/// no intermediate Strings, no number formatting through String.
///
/// Text is escaped (`& < > " '`), a carriage return is written as `&#13;` so a parser keeps it,
/// and a character XML 1.0 forbids (a control character other than tab, line feed and carriage
/// return; U+FFFE; U+FFFF) becomes U+FFFD, so the output is well-formed whatever the strings
/// hold. Whether it is also *valid* depends on the event: see `AuditEvent.missingFields`.
public enum AuditLogXML {
    public static let header: [UInt8] = Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<log>\n".utf8)
    public static let footer: [UInt8] = Array("</log>\n".utf8)

    /// Appends one event element (indented, one child per line) to `buffer`.
    ///
    /// The children follow the order of the schema. Only the fields of the event's kind are
    /// written; a nil field is left out, so an event that lacks a required field renders as an
    /// invalid element.
    public static func append(_ event: AuditEvent, to buffer: inout [UInt8]) {
        let name = elementName(event.kind)
        literal("\t<", &buffer)
        literal(name, &buffer)
        literal(">\n", &buffer)

        integerChild("timestamp", event.timestamp, &buffer)
        textChild("server", event.server, &buffer)
        integerChild("transactionNum", event.transactionNum, &buffer)

        switch event.kind {
        case .userCommand, .systemEvent, .errorEvent, .debugEvent:
            textChild("command", event.command, &buffer)
            textChild("username", event.username, &buffer)
            textChild("stockSymbol", event.stockSymbol, &buffer)
            textChild("filename", event.filename, &buffer)
            textChild("funds", event.funds?.text, &buffer)
            if event.kind == .errorEvent {
                textChild("errorMessage", event.errorMessage, &buffer)
            } else if event.kind == .debugEvent {
                textChild("debugMessage", event.debugMessage, &buffer)
            }
        case .quoteServer:
            moneyChild("price", event.price, &buffer)
            textChild("stockSymbol", event.stockSymbol, &buffer)
            textChild("username", event.username, &buffer)
            integerChild("quoteServerTime", event.quoteServerTime, &buffer)
            textChild("cryptokey", event.cryptokey, &buffer)
        case .accountTransaction:
            textChild("action", event.action, &buffer)
            textChild("username", event.username, &buffer)
            textChild("funds", event.funds?.text, &buffer)
        }

        literal("\t</", &buffer)
        literal(name, &buffer)
        literal(">\n", &buffer)
    }

    // MARK: Elements

    private static func elementName(_ kind: AuditEvent.Kind) -> StaticString {
        switch kind {
        case .userCommand: "userCommand"
        case .quoteServer: "quoteServer"
        case .accountTransaction: "accountTransaction"
        case .systemEvent: "systemEvent"
        case .errorEvent: "errorEvent"
        case .debugEvent: "debugEvent"
        }
    }

    @inline(__always)
    private static func open(_ name: StaticString, _ buffer: inout [UInt8]) {
        literal("\t\t<", &buffer)
        literal(name, &buffer)
        buffer.append(UInt8(ascii: ">"))
    }

    @inline(__always)
    private static func close(_ name: StaticString, _ buffer: inout [UInt8]) {
        literal("</", &buffer)
        literal(name, &buffer)
        literal(">\n", &buffer)
    }

    private static func textChild(_ name: StaticString, _ value: String?, _ buffer: inout [UInt8]) {
        guard let value else { return }
        open(name, &buffer)
        appendEscaped(value, to: &buffer)
        close(name, &buffer)
    }

    private static func integerChild(_ name: StaticString, _ value: Int64?, _ buffer: inout [UInt8]) {
        guard let value else { return }
        open(name, &buffer)
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude, to: &buffer)
        close(name, &buffer)
    }

    /// Money to the cent, trailing zeros included: "100.00", "-0.05".
    private static func moneyChild(_ name: StaticString, _ value: Money?, _ buffer: inout [UInt8]) {
        guard let value else { return }
        open(name, &buffer)
        if value.cents < 0 { buffer.append(UInt8(ascii: "-")) }
        let magnitude = value.cents.magnitude
        appendDecimal(magnitude / 100, to: &buffer)
        let remainder = UInt8(truncatingIfNeeded: magnitude % 100)
        buffer.append(UInt8(ascii: "."))
        buffer.append(UInt8(ascii: "0") &+ remainder / 10)
        buffer.append(UInt8(ascii: "0") &+ remainder % 10)
        close(name, &buffer)
    }

    // MARK: Bytes

    @inline(__always)
    private static func literal(_ text: StaticString, _ buffer: inout [UInt8]) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    /// The decimal digits of `value`, most significant first.
    @inline(__always)
    static func appendDecimal(_ value: UInt64, to buffer: inout [UInt8]) {
        var remaining = value
        var low = buffer.count
        repeat {
            buffer.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10))
            remaining /= 10
        } while remaining != 0
        var high = buffer.count - 1
        while low < high {
            buffer.swapAt(low, high)
            low += 1
            high -= 1
        }
    }

    /// `text` as XML character data: markup characters escaped, forbidden characters replaced.
    static func appendEscaped(_ text: String, to buffer: inout [UInt8]) {
        let handled: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            appendEscaped(bytes: bytes, to: &buffer)
        }
        if handled == nil {
            // A bridged or otherwise non-native string: copy it once.
            Array(text.utf8).withUnsafeBufferPointer { appendEscaped(bytes: $0, to: &buffer) }
        }
    }

    /// Copies runs of ordinary bytes in one go and handles the few bytes that need attention.
    ///
    /// `bytes` is valid UTF-8 (it comes from a Swift String), so 0xEF 0xBF 0xBE and
    /// 0xEF 0xBF 0xBF are exactly U+FFFE and U+FFFF, and no byte of a multi-byte sequence is
    /// ever mistaken for ASCII.
    private static func appendEscaped(bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) {
        let count = bytes.count
        var runStart = 0
        var index = 0
        while index < count {
            let byte = bytes[index]
            guard needsAttention(byte) else {
                index += 1
                continue
            }
            if byte == 0xEF {
                // U+FFFE and U+FFFF share their first two bytes with U+FFFD: only the last one changes.
                if index + 2 < count, bytes[index + 1] == 0xBF, bytes[index + 2] >= 0xBE {
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                    appendReplacementCharacter(&buffer)
                    index += 3
                    runStart = index
                } else {
                    index += 1
                }
                continue
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            switch byte {
            case UInt8(ascii: "&"): literal("&amp;", &buffer)
            case UInt8(ascii: "<"): literal("&lt;", &buffer)
            case UInt8(ascii: ">"): literal("&gt;", &buffer)
            case UInt8(ascii: "\""): literal("&quot;", &buffer)
            case UInt8(ascii: "'"): literal("&apos;", &buffer)
            case UInt8(ascii: "\r"): literal("&#13;", &buffer)
            default:
                // A C0 control character other than tab, line feed and carriage return.
                appendReplacementCharacter(&buffer)
            }
            index += 1
            runStart = index
        }
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<count]))
    }

    /// U+FFFD, which takes the place of a character XML 1.0 does not allow.
    @inline(__always)
    private static func appendReplacementCharacter(_ buffer: inout [UInt8]) {
        buffer.append(0xEF)
        buffer.append(0xBF)
        buffer.append(0xBD)
    }

    /// Markup characters, control characters other than tab and line feed, and the lead byte
    /// of U+FFFE and U+FFFF (shared with many allowed characters, which are then copied as they are).
    @inline(__always)
    private static func needsAttention(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\n"))
            || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
            || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") || byte == 0xEF
    }
}
