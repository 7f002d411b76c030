import CRabbitMQ
import CRabbitMQShim
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one blocking rabbitmq-c connection, with channel 1 open, and frees it exactly once, in
/// `deinit`.
///
/// A class rather than a raw pointer in the actors because a Swift 6 actor's `deinit` cannot
/// touch a non-Sendable C pointer; an actor simply drops its reference. Not thread-safe (neither
/// is rabbitmq-c): only the actor that made it, on its dedicated thread, uses it.
///
/// **Timeouts.** Connecting is bounded by `connectTimeout`, the login handshake and every
/// synchronous request (channel.open, declarations, basic.qos, ...) by `requestTimeout`; past it
/// rabbitmq-c closes the socket. Frame waits take their own timeout.
///
/// **Heartbeats.** The connection asks for `heartbeat` (the broker may lower it). rabbitmq-c
/// sends and checks heartbeats only inside its calls: every frame wait sends one when due and
/// fails with a heartbeat timeout when the broker has been silent for two intervals, so a dead
/// broker is noticed while waiting. An owner that makes no call for more than two intervals
/// lets the broker close the connection; the owner then sees the closed socket on its next
/// call and reconnects (a consumer's unacknowledged deliveries come back, which consumers
/// de-duplicate anyway).
final class AMQPConnection {
    /// The only channel used.
    static let channel: amqp_channel_t = 1
    /// Heartbeat interval proposed to the broker, in seconds.
    static let heartbeat: Int32 = 30
    static let connectTimeout = Duration.seconds(5)
    static let requestTimeout = Duration.seconds(10)

    let state: amqp_connection_state_t
    /// `host:port`, for messages.
    let peer: String

    private init(state: amqp_connection_state_t, peer: String) {
        self.state = state
        self.peer = peer
    }

    deinit {
        // Closes the socket (without the AMQP close handshake: see `close()`) and frees every
        // pool of the connection.
        amqp_destroy_connection(state)
    }

    /// A new connection with the topology declared on it: what publisher and consumer both do
    /// before anything else. Failures are logged here, once.
    static func open(to endpoint: AMQPEndpoint, name: String, declaring topology: AuditTopology, logger: Logger) -> Result<AMQPConnection, AMQPError> {
        let connection: AMQPConnection
        switch connect(to: endpoint, name: name) {
        case .success(let connected): connection = connected
        case .failure(let error):
            logger.warning("cannot connect to RabbitMQ", metadata: ["error": "\(error)"])
            return .failure(error)
        }
        if let error = connection.declare(topology) {
            logger.warning("cannot declare the AMQP topology", metadata: ["error": "\(error)"])
            return .failure(error)
        }
        return .success(connection)
    }

    /// Connects, logs in and opens channel 1.
    static func connect(to endpoint: AMQPEndpoint, name: String) -> Result<AMQPConnection, AMQPError> {
        let peer = "\(endpoint.host):\(endpoint.port)"
        guard let state = amqp_new_connection() else {
            return .failure(.connection("\(peer): rabbitmq-c could not allocate a connection"))
        }
        // Owned from here on, so every early return below frees it.
        let connection = AMQPConnection(state: state, peer: peer)
        guard let socket = amqp_tcp_socket_new(state) else {
            return .failure(.connection("\(peer): rabbitmq-c could not allocate a socket"))
        }
        var connectTimeout = timeval(Self.connectTimeout)
        let opened = endpoint.host.withCString { host in
            amqp_socket_open_noblock(socket, host, Int32(clamping: endpoint.port), &connectTimeout)
        }
        guard opened == AMQP_STATUS_OK.rawValue else {
            return .failure(.connection("cannot connect to \(peer): \(statusText(opened))"))
        }
        var requestTimeout = timeval(Self.requestTimeout)
        amqp_set_handshake_timeout(state, &requestTimeout)
        amqp_set_rpc_timeout(state, &requestTimeout)

        let login = endpoint.virtualHost.withCString { virtualHost in
            endpoint.user.withCString { user in
                endpoint.password.withCString { password in
                    name.withCString { name in
                        daytrader_amqp_login_plain(
                            state, virtualHost, 0, Int32(AMQP_DEFAULT_FRAME_SIZE), Self.heartbeat, user, password,
                            name)
                    }
                }
            }
        }
        if let error = connection.error(in: login, doing: "login as \(endpoint.user) to \(peer)") {
            return .failure(error)
        }
        amqp_channel_open(state, Self.channel)
        if let error = connection.lastRequestError(doing: "channel.open") {
            return .failure(error)
        }
        return .success(connection)
    }

    /// Closes channel and connection with the AMQP handshake (each step bounded by the request
    /// timeout), so the broker logs a clean close; the memory goes with `deinit`. Errors are
    /// ignored: the connection is finished either way.
    func close() {
        amqp_channel_close(state, Self.channel, AMQP_REPLY_SUCCESS)
        amqp_connection_close(state, AMQP_REPLY_SUCCESS)
    }

    /// The socket's descriptor (owned by rabbitmq-c), or -1 when it is closed.
    var socketDescriptor: Int32 {
        amqp_get_sockfd(state)
    }

    // MARK: Topology

    /// Declares `topology` (every part durable, each declaration idempotent) on channel 1.
    func declare(_ topology: AuditTopology) -> AMQPError? {
        declareExchange(topology.deadLetterExchange, type: "fanout")
            ?? declareQueue(topology.deadLetterQueue, deadLetterExchange: nil)
            ?? bindQueue(topology.deadLetterQueue, to: topology.deadLetterExchange, routingKey: "")
            ?? declareExchange(topology.exchange, type: "direct")
            ?? declareQueue(topology.queue, deadLetterExchange: topology.deadLetterExchange)
            ?? bindQueue(topology.queue, to: topology.exchange, routingKey: topology.routingKey)
    }

    private func declareExchange(_ name: String, type: String) -> AMQPError? {
        withBytes(name) { name in
            withBytes(type) { type in
                _ = amqp_exchange_declare(state, Self.channel, name, type, 0, 1, 0, 0, amqp_empty_table)
            }
        }
        return lastRequestError(doing: "exchange.declare \(name)")
    }

    private func declareQueue(_ name: String, deadLetterExchange: String?) -> AMQPError? {
        withBytes(name) { queue in
            guard let deadLetterExchange else {
                _ = amqp_queue_declare(state, Self.channel, queue, 0, 1, 0, 0, amqp_empty_table)
                return
            }
            withBytes("x-dead-letter-exchange") { key in
                withBytes(deadLetterExchange) { exchange in
                    var entry = amqp_table_entry_t(
                        key: key, value: amqp_field_value_t(kind: UInt8(AMQP_FIELD_KIND_UTF8.rawValue), value: .init(bytes: exchange)))
                    withUnsafeMutablePointer(to: &entry) { entry in
                        _ = amqp_queue_declare(
                            state, Self.channel, queue, 0, 1, 0, 0, amqp_table_t(num_entries: 1, entries: entry))
                    }
                }
            }
        }
        return lastRequestError(doing: "queue.declare \(name)")
    }

    private func bindQueue(_ queue: String, to exchange: String, routingKey: String) -> AMQPError? {
        withBytes(queue) { queue in
            withBytes(exchange) { exchange in
                withBytes(routingKey) { routingKey in
                    _ = amqp_queue_bind(state, Self.channel, queue, exchange, routingKey, amqp_empty_table)
                }
            }
        }
        return lastRequestError(doing: "queue.bind \(queue) to \(exchange)")
    }

    // MARK: Frames

    /// The outcome of waiting for one frame.
    enum FrameWait {
        case frame(amqp_frame_t)
        case timedOut
        case failed(AMQPError)
    }

    /// Waits up to `timeout` (zero: only what is already there) for the next frame, sending and
    /// checking heartbeats meanwhile. A returned frame points into rabbitmq-c's buffers: copy
    /// what is needed before `releaseBuffers()`.
    func waitFrame(timeout: Duration) -> FrameWait {
        var frame = amqp_frame_t()
        var limit = timeval(timeout)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &limit)
        if status == AMQP_STATUS_OK.rawValue {
            return .frame(frame)
        }
        if status == AMQP_STATUS_TIMEOUT.rawValue {
            return .timedOut
        }
        return .failed(.connection("\(peer): \(Self.statusText(status))"))
    }

    /// Frees the memory of frames already handled, when none is queued.
    func releaseBuffers() {
        amqp_maybe_release_buffers(state)
    }

    /// Reads the content (header and body frames) that follows a basic.return or basic.deliver
    /// method on channel 1, and throws it away.
    func skipContent() -> AMQPError? {
        var message = amqp_message_t()
        let reply = amqp_read_message(state, Self.channel, &message, 0)
        if let error = error(in: reply, doing: "reading a returned message") {
            return error
        }
        amqp_destroy_message(&message)
        return nil
    }

    /// Sends connection.close-ok after the broker's connection.close, so it closes cleanly.
    func acknowledgeConnectionClose() {
        var closeOk = amqp_connection_close_ok_t()
        _ = amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &closeOk)
    }

    // MARK: Errors

    /// The error of the last synchronous request (declare, bind, qos, ...), if it failed.
    func lastRequestError(doing what: String) -> AMQPError? {
        error(in: amqp_get_rpc_reply(state), doing: what)
    }

    /// The error an RPC reply stands for, or `nil` for a normal reply.
    func error(in reply: amqp_rpc_reply_t, doing what: String) -> AMQPError? {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return .connection("\(what) (\(peer)): \(Self.statusText(reply.library_error))")
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            return serverError(reply.reply, doing: what)
        default:
            return .connection("\(what) (\(peer)): no reply")
        }
    }

    /// The error a channel.close or connection.close from the broker stands for.
    func serverError(_ method: amqp_method_t, doing what: String) -> AMQPError {
        switch method.id {
        case AMQP_CONNECTION_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            acknowledgeConnectionClose()
            return .connection(
                "\(what) (\(peer)): the broker closed the connection: \(close.reply_code) \(string(close.reply_text))")
        case AMQP_CHANNEL_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return .channel("\(what) (\(peer)): \(close.reply_code) \(string(close.reply_text))")
        default:
            return .connection("\(what) (\(peer)): unexpected method \(method.id) from the broker")
        }
    }

    static func statusText(_ status: Int32) -> String {
        if let text = amqp_error_string2(status) {
            return String(cString: text)
        }
        return "status \(status)"
    }
}

/// Calls `body` with `text` as `amqp_bytes_t`; the bytes live only during the call (the pointer
/// that `amqp_cstring_bytes` keeps dies with `withCString`).
@discardableResult
func withBytes<R>(_ text: String, _ body: (amqp_bytes_t) -> R) -> R {
    text.withCString { body(amqp_cstring_bytes($0)) }
}

/// Copies an `amqp_bytes_t` into a `String` (by pointer and length; invalid UTF-8 is repaired).
func string(_ bytes: amqp_bytes_t) -> String {
    guard let start = bytes.bytes, bytes.len > 0 else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: start, count: bytes.len), as: UTF8.self)
}

/// Copies an `amqp_bytes_t` into a byte array.
func byteArray(_ bytes: amqp_bytes_t) -> [UInt8] {
    guard let start = bytes.bytes, bytes.len > 0 else { return [] }
    return Array(UnsafeRawBufferPointer(start: start, count: bytes.len))
}

extension timeval {
    /// A timeval for a C timeout; negative durations become zero.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds < 0) {
            self.init(tv_sec: 0, tv_usec: 0)
        } else {
            self.init(tv_sec: .init(seconds), tv_usec: .init(attoseconds / 1_000_000_000_000))
        }
    }
}
