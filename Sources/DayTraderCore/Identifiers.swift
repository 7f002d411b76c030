/// A trader's account id: 1-64 characters of `[A-Za-z0-9_-]`, case-sensitive.
public struct UserID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(validating text: some StringProtocol) throws(Rejection) {
        guard (1...64).contains(text.utf8.count), text.utf8.allSatisfy(Self.isAllowed) else {
            throw Rejection(.invalidUserID, "user id \(quoted(text)) must be 1-64 characters of A-Z, a-z, 0-9, _ or -")
        }
        rawValue = String(text)
    }

    public var description: String { rawValue }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        isASCIIAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}

/// A stock symbol: 1-3 characters of `[A-Z0-9]`.
public struct StockSymbol: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(validating text: some StringProtocol) throws(Rejection) {
        let isValid = (1...3).contains(text.utf8.count) && text.utf8.allSatisfy {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        }
        guard isValid else {
            throw Rejection(.invalidSymbol, "stock symbol \(quoted(text)) must be 1-3 characters of A-Z or 0-9")
        }
        rawValue = String(text)
    }

    public var description: String { rawValue }
}

/// The name a DUMPLOG writes to, reduced to a plain file name.
///
/// Only the last path component is kept, so "./testLOG" becomes "testLOG" and
/// "../../etc/x" becomes "x"; what is left must be 1-128 characters of `[A-Za-z0-9._-]`
/// and may not be "." or "..".
public struct DumpFileName: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(reducing text: some StringProtocol) throws(Rejection) {
        let lastComponent = String(text.split(separator: Character("/"), omittingEmptySubsequences: false).last ?? "")
        let isValid = (1...128).contains(lastComponent.utf8.count)
            && lastComponent != "." && lastComponent != ".."
            && lastComponent.utf8.allSatisfy {
                isASCIIAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
        guard isValid else {
            throw Rejection(.invalidFilename, "file name \(quoted(text)) must end in 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
        }
        rawValue = lastComponent
    }

    public var description: String { rawValue }
}

private func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
        || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
}

/// Quotes user input for an error message, cut short so that a huge input cannot make a huge message.
///
/// The cut counts Unicode scalars, not Characters: one Character (a letter followed by any
/// number of combining marks) can be megabytes long.
func quoted(_ text: some StringProtocol) -> String {
    let limit = 40
    let scalars = text.unicodeScalars
    guard scalars.dropFirst(limit).isEmpty else {
        var shown = String.UnicodeScalarView()
        shown.append(contentsOf: scalars.prefix(limit))
        return "'\(String(shown))...'"
    }
    return "'\(text)'"
}
