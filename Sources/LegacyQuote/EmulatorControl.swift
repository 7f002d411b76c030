import DayTraderCore
import NIOCore
import NIOPosix

/// A way the emulator can misbehave on purpose, so that tests can exercise timeouts and retries.
public enum InjectedFault: String, Hashable, Sendable {
    /// Close the connection without replying.
    case drop = "DROP"
    /// Keep the connection open and never reply (until the client gives up or the emulator stops).
    case stall = "STALL"
}

/// A control command, sent to the emulator's quote port as a line that starts with `!`.
///
/// | line | effect | reply |
/// | --- | --- | --- |
/// | `!SET SYM 12.34` | fixes SYM's price (positive, at most two decimals) | `OK` |
/// | `!CLEAR SYM` | back to SYM's generated price | `OK` |
/// | `!HITS` | | the number of quotes answered, all symbols |
/// | `!HITS SYM` | | the number of quotes answered for SYM |
/// | `!RESET` | sets every hit count to zero | `OK` |
/// | `!DROP n` | the next n quote requests are closed without a reply | `OK` |
/// | `!STALL n` | the next n quote requests are never answered | `OK` |
///
/// Anything else gets `ERR <reason>`. Control lines are not hits and are answered at once.
enum EmulatorControlCommand: Hashable, Sendable {
    case setPrice(StockSymbol, Money)
    case clearPrice(StockSymbol)
    case hits(StockSymbol?)
    case resetHits
    case inject(InjectedFault, count: Int)

    static let okReply = "OK"
    static let errorPrefix = "ERR "

    /// Parses a control line, its leading `!` included and its line ending removed.
    init(parsing line: Substring) throws(EmulatorControlError) {
        guard line.first == "!" else { throw EmulatorControlError("a control line starts with '!'") }
        let words = line.dropFirst().split(separator: " ")
        guard let verb = words.first else { throw EmulatorControlError("empty control command") }
        let arguments = Array(words.dropFirst())
        switch (verb, arguments.count) {
        case ("SET", 2):
            let symbol = try Self.symbol(arguments[0])
            guard let price = try? Money(parsing: arguments[1]), price > .zero else {
                throw EmulatorControlError("price '\(arguments[1])' must be positive with at most two decimals")
            }
            self = .setPrice(symbol, price)
        case ("CLEAR", 1):
            self = .clearPrice(try Self.symbol(arguments[0]))
        case ("HITS", 0):
            self = .hits(nil)
        case ("HITS", 1):
            self = .hits(try Self.symbol(arguments[0]))
        case ("RESET", 0):
            self = .resetHits
        default:
            guard let fault = InjectedFault(rawValue: String(verb)), arguments.count == 1 else {
                throw EmulatorControlError("unknown control command '\(line.prefix(60))'")
            }
            guard let count = Int(arguments[0]), count >= 0 else {
                throw EmulatorControlError("count '\(arguments[0])' must be a whole number")
            }
            self = .inject(fault, count: count)
        }
    }

    /// The control line, newline included.
    var line: String {
        switch self {
        case .setPrice(let symbol, let price): "!SET \(symbol) \(price)\n"
        case .clearPrice(let symbol): "!CLEAR \(symbol)\n"
        case .hits(nil): "!HITS\n"
        case .hits(let symbol?): "!HITS \(symbol)\n"
        case .resetHits: "!RESET\n"
        case .inject(let fault, let count): "!\(fault.rawValue) \(count)\n"
        }
    }

    private static func symbol(_ text: Substring) throws(EmulatorControlError) -> StockSymbol {
        do {
            return try StockSymbol(validating: text)
        } catch {
            throw EmulatorControlError(error.description)
        }
    }
}

/// A control line the emulator does not understand.
struct EmulatorControlError: Error, Hashable, Sendable {
    let reason: String

    init(_ reason: String) {
        self.reason = reason
    }
}

/// Drives a `QuoteEmulator` from another process (for example the `quote-server` executable)
/// through control lines on its quote port.
public struct QuoteEmulatorRemote: Sendable {
    private let exchange: LineExchange
    private let timeout: Duration

    public init(
        host: String,
        port: Int,
        timeout: Duration = .seconds(2),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        exchange = LineExchange(host: host, port: port, eventLoopGroup: eventLoopGroup)
        self.timeout = timeout
    }

    /// Sends one raw line (a newline is added if missing) and returns the reply line.
    public func send(_ line: String) async throws(QuoteError) -> String {
        try await exchange.exchange(line.hasSuffix("\n") ? line : line + "\n", timeout: timeout)
    }

    /// Fixes the price of `symbol`, or with `nil` returns it to the generated price.
    public func setPrice(_ price: Money?, for symbol: StockSymbol) async throws(QuoteError) {
        if let price {
            try await expectOK(.setPrice(symbol, price))
        } else {
            try await expectOK(.clearPrice(symbol))
        }
    }

    /// The number of quotes answered for `symbol`, or for all symbols when `nil`.
    public func hitCount(for symbol: StockSymbol? = nil) async throws(QuoteError) -> Int {
        let reply = try await send(EmulatorControlCommand.hits(symbol).line)
        guard let count = Int(reply) else { throw .malformedReply("hit count '\(reply)' is not a number") }
        return count
    }

    public func resetHitCounts() async throws(QuoteError) {
        try await expectOK(.resetHits)
    }

    /// Makes the next `count` quote requests fail with `fault`.
    public func injectFault(_ fault: InjectedFault, count: Int = 1) async throws(QuoteError) {
        try await expectOK(.inject(fault, count: count))
    }

    private func expectOK(_ command: EmulatorControlCommand) async throws(QuoteError) {
        let reply = try await send(command.line)
        guard reply == EmulatorControlCommand.okReply else { throw .requestRejected(reply) }
    }
}
