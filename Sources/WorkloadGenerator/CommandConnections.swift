import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// HTTP/1.1 connections kept alive between commands, for the requests of a run that carry one
/// command each: one exchange at a time on a connection, the whole reply gathered in memory.
///
/// A run keeps one command in flight per user queue, so a pool of plain connections is all it
/// needs; a general client (AsyncHTTPClient, which the run keeps for the final DUMPLOG's streamed
/// log) cost the generator 1.6 to 2 times the CPU per command in its request bookkeeping and task
/// hops (DECISIONS.md 58). Here an exchange is one write on the connection's event loop and one
/// promise completed from its reply.
final class CommandConnections: Sendable {
    private let host: String
    private let port: Int
    private let maximumReplyBytes: Int
    private let group: any EventLoopGroup
    private let idle = Mutex<[any Channel]>([])

    /// - Parameter maximumReplyBytes: a reply with a longer body fails its exchange.
    init(host: String, port: Int, maximumReplyBytes: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        self.maximumReplyBytes = maximumReplyBytes
        self.group = group
    }

    /// Sends `head` and `body` on an idle connection (a new one when none is idle) and returns
    /// the reply, within `timeout` for connecting and replying together. A connection is kept
    /// for the next exchange only when this one ended cleanly and the server keeps it alive.
    func exchange(_ head: HTTPRequestHead, body: ByteBuffer, timeout: Duration) async throws -> CommandResponse {
        let end = NIODeadline.now() + TimeAmount(timeout)
        let channel: any Channel
        if let kept = idleConnection() {
            channel = kept
        } else {
            channel = try await connect(timeout: timeout)
        }
        let reply = channel.eventLoop.makePromise(of: Reply.self)
        let deadline = channel.eventLoop.scheduleTask(deadline: end) {
            reply.fail(CommandConnectionError.timedOut)
        }
        reply.futureResult.whenComplete { result in
            deadline.cancel()
            guard case .success(let reply) = result, reply.keepAlive else {
                channel.close(promise: nil)
                return
            }
            self.idle.withLock { $0.append(channel) }
        }
        // A connection can close between the look at it and the write: the write then fails
        // (the handler never sees it), and so must the exchange, at once rather than at its deadline.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { reply.fail($0) }
        channel.writeAndFlush(Exchange(head: head, body: body, reply: reply), promise: written)
        let answered = try await withTaskCancellationHandler {
            try await reply.futureResult.get()
        } onCancel: {
            reply.fail(CancellationError())
        }
        return answered.response
    }

    /// Closes every idle connection.
    func closeAll() async {
        let channels = idle.withLock { idle in
            defer { idle.removeAll() }
            return idle
        }
        for channel in channels {
            try? await channel.close()
        }
    }

    private func idleConnection() -> (any Channel)? {
        while let channel = idle.withLock({ $0.popLast() }) {
            if channel.isActive { return channel }
        }
        return nil
    }

    private func connect(timeout: Duration) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { [maximumReplyBytes] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler(maximumReplyBytes: maximumReplyBytes))
                }
            }
            .connect(host: host, port: port)
            .get()
    }
}

/// Why an exchange gave no reply.
enum CommandConnectionError: Error, Equatable, CustomStringConvertible {
    case timedOut
    case closedBeforeReply
    case replyTooLarge(limit: Int)

    var description: String {
        switch self {
        case .timedOut: "no reply within the request timeout"
        case .closedBeforeReply: "the connection closed before the whole reply came"
        case .replyTooLarge(let limit): "the reply is larger than \(limit) bytes"
        }
    }
}

/// One request, and the promise its reply completes.
private struct Exchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer
    var reply: EventLoopPromise<Reply>
}

private struct Reply: Sendable {
    var response: CommandResponse
    var keepAlive: Bool
}

/// Writes an exchange's request and gathers its reply; one exchange at a time.
private final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Exchange
    typealias OutboundOut = HTTPClientRequestPart

    private let maximumReplyBytes: Int
    private var pending: EventLoopPromise<Reply>?
    private var status = 0
    private var keepAlive = true
    private var body: [UInt8] = []

    init(maximumReplyBytes: Int) {
        self.maximumReplyBytes = maximumReplyBytes
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        precondition(pending == nil, "one exchange at a time on a connection")
        pending = exchange.reply
        body.removeAll(keepingCapacity: true)
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(exchange.body))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            keepAlive = head.isKeepAlive
        case .body(let chunk):
            guard body.count + chunk.readableBytes <= maximumReplyBytes else {
                fail(CommandConnectionError.replyTooLarge(limit: maximumReplyBytes))
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: chunk.readableBytesView)
        case .end:
            let reply = Reply(response: CommandResponse(status: status, body: body), keepAlive: keepAlive)
            let promise = pending
            pending = nil
            promise?.succeed(reply)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(CommandConnectionError.closedBeforeReply)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    private func fail(_ error: any Error) {
        let promise = pending
        pending = nil
        promise?.fail(error)
    }
}
