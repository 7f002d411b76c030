import Testing
@testable import DayTraderCore

/// Money from cents, for readable expectations.
func cents(_ value: Int64) -> Money { Money(cents: value) }

/// Money from a literal the test knows to be valid.
func dollars(_ text: String) -> Money {
    do { return try Money(parsing: text) } catch { fatalError("test bug: \(text) is not money: \(error)") }
}

/// The rejection a request gets, or `nil` when it validates.
func rejection(of request: CommandRequest, limits: CommandLimits = CommandLimits()) -> Rejection? {
    do {
        _ = try Command(validating: request, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// The parse error of a workload line, or `nil` when it parses.
func parseError(of line: String) -> WorkloadParseError? {
    do {
        _ = try WorkloadLine(parsing: line)
        return nil
    } catch {
        return error
    }
}

/// A string of `count` copies of `unit`.
func repeated(_ unit: String, _ count: Int) -> String { String(repeating: unit, count: count) }

/// One megabyte of input, the "huge field" of the message-length tests.
let oneMegabyte = 1 << 20

/// Expects an error message to be short enough to log: fewer than `limit` characters and
/// fewer than `4 * limit` UTF-8 bytes. Only the sizes reach the expectation, so a failure
/// never prints a megabyte.
func expectBounded(_ message: String, below limit: Int = 200, sourceLocation: SourceLocation = #_sourceLocation) {
    let characters = message.count
    let bytes = message.utf8.count
    #expect(characters < limit, "message has \(characters) characters", sourceLocation: sourceLocation)
    #expect(bytes < 4 * limit, "message has \(bytes) UTF-8 bytes", sourceLocation: sourceLocation)
    #expect(!message.isEmpty, sourceLocation: sourceLocation)
}
