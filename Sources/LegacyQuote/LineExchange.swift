import NIOCore
import NIOPosix

/// One request/reply exchange over its own TCP connection: connect, send one line, read one
/// line back, close. The legacy protocol and the emulator's control commands both work this way.
struct LineExchange: Sendable {
    let host: String
    let port: Int
    let eventLoopGroup: any EventLoopGroup

    /// Sends `request` (newline included) and returns the reply line without its line ending.
    ///
    /// `timeout` covers the connect and the reply together. The reply ends at `\n` or, if the
    /// server closes first, at end of input; one longer than `QuoteWireFormat.maximumLineLength`
    /// is refused.
    func exchange(_ request: String, timeout: Duration) async throws(QuoteError) -> String {
        let eventLoop = eventLoopGroup.next()
        let reply = eventLoop.makePromise(of: String.self)
        // A single deadline on the channel's loop bounds the whole exchange, whichever step is slow.
        // It also guarantees that the promise is always completed, whatever happens to the connection.
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            reply.fail(QuoteError.timedOut)
        }
        reply.futureResult.whenComplete { _ in deadline.cancel() }

        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineReplyHandler(request: request, reply: reply))
                }
            }
            .connect(host: host, port: port)
        connected.whenComplete { result in
            switch result {
            case .success(let channel):
                // Whatever ends the exchange (reply, timeout, cancellation) also ends the connection.
                reply.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure(let error):
                reply.fail(Self.connectError(error))
            }
        }

        do {
            return try await withTaskCancellationHandler {
                try await reply.futureResult.get()
            } onCancel: {
                reply.fail(QuoteError.cancelled)
            }
        } catch let error as QuoteError {
            throw error
        } catch {
            throw .connectionFailed(String(describing: error))
        }
    }

    private static func connectError(_ error: any Error) -> QuoteError {
        if case ChannelError.connectTimeout = error { return .timedOut }
        return .connectionFailed(String(describing: error))
    }
}

/// Writes the request when the connection opens, then gathers the reply up to its newline.
private final class LineReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let reply: EventLoopPromise<String>
    private var received: [UInt8] = []
    private var isComplete = false

    init(request: String, reply: EventLoopPromise<String>) {
        self.request = request
        self.reply = reply
    }

    func channelActive(context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(string: request)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isComplete else { return }
        let bytes = unwrapInboundIn(data).readableBytesView
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n"))
        received.append(contentsOf: bytes[..<(newline ?? bytes.endIndex)])
        if received.count > QuoteWireFormat.maximumLineLength {
            isComplete = true
            reply.fail(QuoteError.malformedReply("reply longer than \(QuoteWireFormat.maximumLineLength) bytes"))
        } else if newline != nil {
            finish()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !isComplete {
            // The server may end its reply by closing instead of with a newline.
            if received.isEmpty {
                reply.fail(QuoteError.connectionFailed("the server closed the connection without replying"))
            } else {
                finish()
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reply.fail(QuoteError.connectionFailed(String(describing: error)))
        context.close(promise: nil)
    }

    private func finish() {
        isComplete = true
        if received.last == UInt8(ascii: "\r") { received.removeLast() }
        reply.succeed(String(decoding: received, as: UTF8.self))
    }
}
