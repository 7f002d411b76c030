import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
@testable import WorkloadGenerator

/// The generator's own HTTP/1.1 connections, against a real socket server whose every reply
/// is scripted.
@Suite struct CommandConnectionsTests {
    /// The time limit of an exchange that should succeed: a bound on a hang, not a speed test.
    /// Tests share two cores with the servers other tests start, and a time limit that counts
    /// the connect as well ran out in CI with the test process stalled for seconds.
    static let patience: Duration = .seconds(60)

    @Test func exchangesReuseOneKeptAliveConnection() async throws {
        try await ScriptedServer.with(.echo) { server in
            let connections = server.connections()
            for number in 1...3 {
                let reply = try await connections.exchange(server.request("/api/ADD"), body: ByteBuffer(string: "body \(number)"), timeout: Self.patience)
                #expect(reply.status == 200)
                #expect(String(decoding: reply.body, as: UTF8.self) == "POST /api/ADD body \(number)")
            }
            #expect(server.connectionsAccepted == 1, "the connection was kept for the next exchange")
            await connections.closeAll()
        }
    }

    @Test func aConnectionTheServerClosesIsNotReused() async throws {
        try await ScriptedServer.with(.echoAndClose) { server in
            let connections = server.connections()
            for _ in 1...3 {
                let reply = try await connections.exchange(server.request("/api/QUOTE"), body: ByteBuffer(string: "x"), timeout: Self.patience)
                #expect(reply.status == 200)
            }
            #expect(server.connectionsAccepted == 3, "each reply said Connection: close")
        }
    }

    @Test func aConnectionClosedWhileIdleIsReplacedByANewOne() async throws {
        try await ScriptedServer.with(.echoThenCloseWhileIdle) { server in
            let connections = server.connections()
            for _ in 1...3 {
                let reply = try await connections.exchange(server.request("/api/ADD"), body: ByteBuffer(string: "x"), timeout: Self.patience)
                #expect(reply.status == 200)
                // The server closes the connection 50 ms after its reply, as a proxy's idle timeout would.
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(server.connectionsAccepted == 3)
        }
    }

    @Test func concurrentExchangesEachGetTheirOwnReply() async throws {
        try await ScriptedServer.with(.echo) { server in
            let connections = server.connections()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<16 {
                    group.addTask {
                        for round in 0..<10 {
                            let body = "task \(task) round \(round)"
                            let reply = try await connections.exchange(server.request("/api/BUY"), body: ByteBuffer(string: body), timeout: Self.patience)
                            #expect(String(decoding: reply.body, as: UTF8.self) == "POST /api/BUY \(body)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect((1...16).contains(server.connectionsAccepted), "at most one connection per exchange in flight")
            await connections.closeAll()
        }
    }

    @Test func noReplyWithinTheTimeoutFailsTheExchange() async throws {
        try await ScriptedServer.with(.silent) { server in
            let connections = server.connections()
            let error = await #expect(throws: CommandConnectionError.self) {
                _ = try await connections.exchange(server.request("/api/SELL"), body: ByteBuffer(string: "x"), timeout: .milliseconds(200))
            }
            #expect(error == .timedOut)
            #expect(RetryPolicy.isRetried(error!), "a timed-out attempt is tried again (its idempotency key makes that safe)")
        }
    }

    @Test func aConnectionClosedBeforeTheReplyFailsTheExchange() async throws {
        try await ScriptedServer.with(.close) { server in
            let connections = server.connections()
            let error = await #expect(throws: CommandConnectionError.self) {
                _ = try await connections.exchange(server.request("/api/SELL"), body: ByteBuffer(string: "x"), timeout: Self.patience)
            }
            #expect(error == .closedBeforeReply)
            #expect(RetryPolicy.isRetried(error!))
        }
    }

    @Test func aReplyOverTheLimitFailsTheExchange() async throws {
        try await ScriptedServer.with(.echo) { server in
            let connections = server.connections(maximumReplyBytes: 64)
            let fits = try await connections.exchange(server.request("/a"), body: ByteBuffer(repeating: UInt8(ascii: "a"), count: 40), timeout: Self.patience)
            #expect(fits.body.count == 48)
            let error = await #expect(throws: CommandConnectionError.self) {
                _ = try await connections.exchange(server.request("/a"), body: ByteBuffer(repeating: UInt8(ascii: "a"), count: 100), timeout: Self.patience)
            }
            #expect(error == .replyTooLarge(limit: 64))
        }
    }

    @Test func aRefusedConnectionIsRetried() async throws {
        // A port that was bound and let go: nothing listens there.
        let port = try await ScriptedServer.with(.echo) { $0.port }
        let connections = CommandConnections(host: "127.0.0.1", port: port, maximumReplyBytes: 1024)
        let error = await #expect(throws: (any Error).self) {
            _ = try await connections.exchange(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/"), body: ByteBuffer(), timeout: Self.patience)
        }
        #expect(RetryPolicy.isRetried(error!))
    }

    @Test func theTransportSendsTheCommandWithItsHeaders() async throws {
        try await ScriptedServer.with(.echoHeaders) { server in
            let transport = HTTPCommandTransport(client: .shared, baseURL: "http://127.0.0.1:\(server.port)", serviceToken: "token-1")
            let request = WorkloadRequest(command: .add, body: CommandBody(user: "alice", amount: "10.00"))
            let reply = try await transport.send(request, timeout: Self.patience)
            #expect(reply.status == 200)
            let echoed = String(decoding: reply.body, as: UTF8.self)
            #expect(echoed.hasPrefix("POST \(request.path) "))
            #expect(echoed.contains("host=127.0.0.1:\(server.port)"))
            #expect(echoed.contains("authorization=Bearer token-1"))
            #expect(echoed.contains("content-type=application/json"))
            #expect(echoed.contains("content-length=\(request.body.json().count)"))
            #expect(echoed.hasSuffix(String(decoding: request.body.json(), as: UTF8.self)))
            await transport.connections.closeAll()
        }
    }
}

/// An HTTP/1.1 server on a free loopback port that answers every request the same scripted way.
private struct ScriptedServer: Sendable {
    enum Script: Sendable {
        /// 200, kept alive, the body `<method> <uri> <request body>`.
        case echo
        /// As `echo`, with `Connection: close`, then closes.
        case echoAndClose
        /// As `echo`, kept alive, then closes the connection 50 ms later.
        case echoThenCloseWhileIdle
        /// 200, the body `<method> <uri> <name>=<value>... <request body>` with every header.
        case echoHeaders
        /// Never answers.
        case silent
        /// Closes the connection without answering.
        case close
    }

    let port: Int
    private let accepted: AcceptedCount

    /// How many connections the server has accepted so far.
    var connectionsAccepted: Int { accepted.value.load(ordering: .relaxed) }

    func connections(maximumReplyBytes: Int = 1 << 20) -> CommandConnections {
        CommandConnections(host: "127.0.0.1", port: port, maximumReplyBytes: maximumReplyBytes)
    }

    func request(_ uri: String) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: uri)
        head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
        return head
    }

    /// Runs `body` with a server that answers as `script` says, and stops the server after it.
    static func with<Result: Sendable>(_ script: Script, _ body: (ScriptedServer) async throws -> Result) async throws -> Result {
        let accepted = AcceptedCount()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.value.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let server = ScriptedServer(port: channel.localAddress!.port!, accepted: accepted)
        do {
            let result = try await body(server)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

private final class AcceptedCount: Sendable {
    let value = Atomic<Int>(0)
}

/// Answers each request as its script says.
private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let script: ScriptedServer.Script
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(script: ScriptedServer.Script) {
        self.script = script
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll()
        case .body(let chunk):
            body.append(contentsOf: chunk.readableBytesView)
        case .end:
            guard let head else { return }
            let request = String(decoding: body, as: UTF8.self)
            switch script {
            case .echo:
                reply("\(head.method) \(head.uri) \(request)", close: false, context: context)
            case .echoAndClose:
                reply("\(head.method) \(head.uri) \(request)", close: true, context: context)
            case .echoThenCloseWhileIdle:
                reply("\(head.method) \(head.uri) \(request)", close: false, context: context)
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(50)) { loopBound.value.close(promise: nil) }
            case .echoHeaders:
                let headers = head.headers.map { "\($0.name.lowercased())=\($0.value)" }.joined(separator: " ")
                reply("\(head.method) \(head.uri) \(headers) \(request)", close: false, context: context)
            case .silent:
                break
            case .close:
                context.close(promise: nil)
            }
        }
    }

    private func reply(_ text: String, close: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders([("Content-Length", String(text.utf8.count))])
        if close { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }
}
