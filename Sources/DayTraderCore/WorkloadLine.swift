/// One line of a course workload file: `[n] CMD,arg,...`.
///
/// Every line but the last ends with one trailing space. The admin DUMPLOG has one argument
/// (the file name); a user's DUMPLOG has two (user id, file name).
public struct WorkloadLine: Hashable, Sendable {
    /// The `n` in `[n]`, used as the command's transactionNum.
    public let lineNumber: Int
    public let request: CommandRequest

    public init(lineNumber: Int, request: CommandRequest) {
        self.lineNumber = lineNumber
        self.request = request
    }

    /// Parses one line. Surrounding white space (the trailing space, a CR) is ignored.
    public init(parsing line: some StringProtocol) throws(WorkloadParseError) {
        let text = line.trimmingASCIIWhitespace()
        guard text.first == "[", let close = text.firstIndex(of: "]") else {
            throw WorkloadParseError("expected '[n] COMMAND,...', got \(quoted(text))")
        }
        let digits = text[text.index(after: text.startIndex)..<close]
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(\.isASCIIDigit), let number = Int(digits), number >= 1 else {
            throw WorkloadParseError("line number \(quoted(digits)) must be a whole number of at least 1")
        }
        let body = text[text.index(after: close)...].trimmingASCIIWhitespace()
        var parts = body.split(separator: ",", omittingEmptySubsequences: false).map { String($0.trimmingASCIIWhitespace()) }
        guard let name = parts.first, !name.isEmpty else {
            throw WorkloadParseError("line \(number) has no command")
        }
        parts.removeFirst()
        guard let command = CommandName(rawValue: name) else {
            throw WorkloadParseError("line \(number): unknown command \(quoted(name))")
        }
        var fields = command.fields
        if command == .dumplog, parts.count == 1 { fields = [.filename] }
        guard parts.count == fields.count else {
            throw WorkloadParseError("line \(number): \(name) takes \(fields.count) argument(s) (\(fields.map(\.rawValue).joined(separator: ", "))), got \(parts.count)")
        }
        var request = CommandRequest(name: name)
        for (field, value) in zip(fields, parts) {
            switch field {
            case .user: request.user = value
            case .symbol: request.symbol = value
            case .amount: request.amount = value
            case .filename: request.filename = value
            }
        }
        self.init(lineNumber: number, request: request)
    }
}

/// Why a workload line could not be read.
public struct WorkloadParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> SubSequence {
        // "\r\n" is a single Character (one grapheme cluster), equal to neither "\r" nor "\n".
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
