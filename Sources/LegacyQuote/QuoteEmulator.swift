import DayTraderCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// An in-process stand-in for the legacy quote server, for tests and for the `quote-server` executable.
///
/// It speaks the legacy protocol on one TCP port: one request line per connection, one reply
/// line, then it closes. Prices are a pure function of the seed, the symbol and the time (see
/// `EmulatedPrices`) unless fixed with `setPrice(_:for:)`; replies wait as the latency profile says.
///
/// A request that is not `SYM,userid` with a valid symbol and user id is answered
/// `0.00,SYM,NA,<timestamp>,<cryptokey>`: `NA` in the userid field as the legacy server does,
/// price `0.00` because there is no quote, and `NA` for the symbol too when the symbol itself is
/// invalid, so that the reply is always five well-formed fields. Such replies are not hits.
///
/// Lines starting with `!` are control commands (see `EmulatorControlCommand`), so that another
/// process can drive the emulator through `QuoteEmulatorRemote`.
public final class QuoteEmulator: Sendable {
    private let host: String
    private let requestedPort: Int
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let core: EmulatorCore
    private let serverChannel = Mutex<(any Channel)?>(nil)

    /// - Parameters:
    ///   - port: The port to listen on; 0 picks a free one, which `start()` returns.
    ///   - seed: Fixes the prices, the cryptokeys and the latency draws.
    public init(
        host: String = "127.0.0.1",
        port: Int,
        seed: UInt64,
        latency: LatencyProfile,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        requestedPort = port
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        core = EmulatorCore(prices: EmulatedPrices(seed: seed), latency: latency, latencySeed: seed, logger: logger)
    }

    /// Starts listening and returns the port it is bound to. It may start again after `stop()`.
    public func start() async throws -> Int {
        let core = core
        let channel = try await ServerBootstrap(group: eventLoopGroup)
            // The legacy profile keeps hundreds of connections waiting; let bursts queue up.
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A client may half-close after its request instead of sending a newline.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                core.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(EmulatorConnectionHandler(core: core))
                }
            }
            .bind(host: host, port: requestedPort)
            .get()
        guard let port = channel.localAddress?.port else {
            try await channel.close()
            throw QuoteError.connectionFailed("the emulator's socket has no local port")
        }
        serverChannel.withLock { current in
            precondition(current == nil, "a QuoteEmulator is started once before each stop")
            current = channel
        }
        logger.info("quote emulator listening", metadata: [
            "host": "\(host)", "port": "\(port)", "seed": "\(core.prices.seed)", "latency": "\(core.latency)",
        ])
        return port
    }

    /// Stops listening and closes every open connection, waiting requests included.
    public func stop() async throws {
        let running = serverChannel.withLock { current in
            defer { current = nil }
            return current
        }
        guard let channel = running else { return }
        try await channel.close()
        for connection in core.openConnections() {
            // A connection may finish by itself meanwhile; closing it twice is no failure here.
            try? await connection.close()
        }
        logger.info("quote emulator stopped")
    }

    /// Fixes the price of `symbol` (which must be positive), or with `nil` returns it to the generated price.
    public func setPrice(_ price: Money?, for symbol: StockSymbol) {
        core.setPrice(price, for: symbol)
    }

    /// The number of quote requests answered with a price for `symbol`, or for all symbols when `nil`.
    public func hitCount(for symbol: StockSymbol? = nil) -> Int {
        core.hitCount(for: symbol)
    }

    public func resetHitCounts() {
        core.resetHitCounts()
    }

    /// Makes the next `count` quote requests fail with `fault`, after any faults already queued.
    public func injectFault(_ fault: InjectedFault, count: Int = 1) {
        core.injectFault(fault, count: count)
    }
}

/// What the emulator does with one quote request before any reply is written.
enum ReplyPlan: Hashable {
    case reply(afterMilliseconds: Int64)
    case drop
    case stall
}

/// The emulator's shared state, used from every event loop.
final class EmulatorCore: Sendable {
    private struct State {
        var overrides: [StockSymbol: Money] = [:]
        var hits: [StockSymbol: Int] = [:]
        var pendingFaults: [InjectedFault] = []
        var latencyGenerator: SplitMix64
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    let prices: EmulatedPrices
    let latency: LatencyProfile
    private let logger: Logger
    private let state: Mutex<State>

    init(prices: EmulatedPrices, latency: LatencyProfile, latencySeed: UInt64, logger: Logger) {
        self.prices = prices
        self.latency = latency
        self.logger = logger
        state = Mutex(State(latencyGenerator: SplitMix64(seed: latencySeed)))
    }

    func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    func openConnections() -> [any Channel] {
        state.withLock { Array($0.connections.values) }
    }

    func setPrice(_ price: Money?, for symbol: StockSymbol) {
        if let price { precondition(price > .zero, "a quote price is always positive") }
        state.withLock { $0.overrides[symbol] = price }
    }

    func hitCount(for symbol: StockSymbol?) -> Int {
        state.withLock { state in
            if let symbol { state.hits[symbol, default: 0] } else { state.hits.values.reduce(0, +) }
        }
    }

    func resetHitCounts() {
        state.withLock { $0.hits.removeAll() }
    }

    func injectFault(_ fault: InjectedFault, count: Int) {
        precondition(count >= 0, "a fault count is never negative")
        state.withLock { $0.pendingFaults.append(contentsOf: repeatElement(fault, count: count)) }
    }

    /// Decides the fate of the next quote request: a queued fault, or a reply after a sampled delay.
    func planReply() -> ReplyPlan {
        state.withLock { state in
            if !state.pendingFaults.isEmpty {
                switch state.pendingFaults.removeFirst() {
                case .drop: return .drop
                case .stall: return .stall
                }
            }
            return .reply(afterMilliseconds: latency.sampleDelayMilliseconds(using: &state.latencyGenerator))
        }
    }

    /// The reply line to a quote request line, newline included; a valid request counts as a hit.
    func reply(toRequest line: Substring, at time: Timestamp) -> String {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        let symbolField = fields.first ?? ""
        let userField = fields.count > 1 ? fields[1] : ""
        guard fields.count == 2,
              let symbol = try? StockSymbol(validating: symbolField),
              let user = try? UserID(validating: userField)
        else {
            let symbol = (try? StockSymbol(validating: symbolField))?.rawValue ?? QuoteWireFormat.rejectedUserField
            let cryptokey = prices.cryptokey(symbol: String(symbolField), user: String(userField), at: time)
            logger.debug("invalid quote request", metadata: ["request": "\(line.prefix(80))"])
            return "\(Money.zero),\(symbol),\(QuoteWireFormat.rejectedUserField),\(time.unixMillis),\(cryptokey)\n"
        }
        let price = state.withLock { state in
            state.hits[symbol, default: 0] += 1
            return state.overrides[symbol]
        } ?? prices.price(for: symbol, at: time)
        let quote = Quote(
            price: price,
            symbol: symbol,
            user: user.rawValue,
            quoteServerTime: time.unixMillis,
            cryptokey: prices.cryptokey(symbol: symbol.rawValue, user: user.rawValue, at: time)
        )
        logger.debug("quote", metadata: ["symbol": "\(symbol)", "user": "\(user)", "price": "\(price)"])
        return QuoteWireFormat.reply(quote)
    }

    /// The reply line to a control line, newline included.
    func reply(toControl line: Substring) -> String {
        let command: EmulatorControlCommand
        do {
            command = try EmulatorControlCommand(parsing: line)
        } catch {
            return EmulatorControlCommand.errorPrefix + error.reason + "\n"
        }
        switch command {
        case .setPrice(let symbol, let price): setPrice(price, for: symbol)
        case .clearPrice(let symbol): setPrice(nil, for: symbol)
        case .hits(let symbol): return "\(hitCount(for: symbol))\n"
        case .resetHits: resetHitCounts()
        case .inject(let fault, let count): injectFault(fault, count: count)
        }
        return EmulatorControlCommand.okReply + "\n"
    }
}

/// The current wall-clock time, as the reply's timestamp.
func currentTimestamp() -> Timestamp {
    Timestamp(unixMillis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
}

/// Reads one request line from a connection and answers it, after the planned delay.
private final class EmulatorConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case reading
        case answering(pendingReply: Scheduled<Void>?)
        case finished
    }

    private let core: EmulatorCore
    private var received: [UInt8] = []
    private var phase = Phase.reading

    init(core: EmulatorCore) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .reading = phase else { return }
        let bytes = unwrapInboundIn(data).readableBytesView
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n"))
        received.append(contentsOf: bytes[..<(newline ?? bytes.endIndex)])
        // An over-long line is garbage: answer it as an invalid request rather than buffer more.
        if newline != nil || received.count > QuoteWireFormat.maximumLineLength {
            answer(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard case .reading = phase else { return }
        if received.isEmpty {
            context.close(promise: nil)
        } else {
            answer(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelPendingReply()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelPendingReply()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(context: ChannelHandlerContext) {
        if received.last == UInt8(ascii: "\r") { received.removeLast() }
        let line = Substring(String(decoding: received.prefix(QuoteWireFormat.maximumLineLength), as: UTF8.self))
        received = []
        if line.first == "!" {
            phase = .answering(pendingReply: nil)
            respond(core.reply(toControl: line), context: context)
            return
        }
        switch core.planReply() {
        case .drop:
            phase = .finished
            context.close(promise: nil)
        case .stall:
            phase = .answering(pendingReply: nil)
        case .reply(afterMilliseconds: 0):
            phase = .answering(pendingReply: nil)
            respond(core.reply(toRequest: line, at: currentTimestamp()), context: context)
        case .reply(afterMilliseconds: let delay):
            // Waiting on the event loop's timer keeps thousands of slow replies cheap and never blocks the loop.
            let pendingReply = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(delay)) {
                self.respond(self.core.reply(toRequest: line, at: currentTimestamp()), context: context)
            }
            phase = .answering(pendingReply: pendingReply)
        }
    }

    private func respond(_ reply: String, context: ChannelHandlerContext) {
        phase = .finished
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: reply))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func cancelPendingReply() {
        if case .answering(let pendingReply?) = phase {
            pendingReply.cancel()
        }
        phase = .finished
    }
}
