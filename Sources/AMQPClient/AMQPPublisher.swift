import CRabbitMQ
import DedicatedThread
import Logging

/// Publishes to the audit topology with publisher confirms, over one rabbitmq-c connection.
///
/// **Threading.** rabbitmq-c is blocking and not thread-safe, so the actor runs on its own
/// `DedicatedThreadExecutor`: every C call happens on that one thread, and a slow or dead broker
/// blocks it instead of Swift's cooperative pool. Calls run one after the other.
///
/// **Connection.** The first `publish` connects, declares the topology and puts channel 1 into
/// confirm mode. Before each publish the publisher reads whatever the broker sent meanwhile
/// (without waiting), so a connection the broker closed while it was idle (a restart, missed
/// heartbeats) is replaced before anything is sent on it. After any error the connection is
/// destroyed and the error thrown; the next `publish` reconnects. There is no back-off: while the
/// broker is down every publish tries to connect (bounded by a 5 s connect timeout) and fails.
///
/// **Bounded.** `publish` returns or throws within about `confirmTimeout` once connected: the
/// confirm wait is bounded by it, and a write that the broker does not read (it stops reading
/// from publishers under a resource alarm) is cut off by shutting the socket down one second
/// after it.
public actor AMQPPublisher: MessagePublishing {
    /// How long after the confirm timeout a blocked write is cut off.
    static let writeGrace = Duration.seconds(1)

    private let endpoint: AMQPEndpoint
    private let topology: AuditTopology
    private let confirmTimeout: Duration
    private let logger: Logger
    private let executor: DedicatedThreadExecutor

    /// Runs this actor on its dedicated thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    /// A live connection in confirm mode and its per-channel state.
    private final class Link {
        let connection: AMQPConnection
        /// The publish sequence number (delivery tag of its confirm) of the next message.
        var nextSequence: UInt64 = 1
        /// Why the broker blocks publishing, between connection.blocked and connection.unblocked.
        var blockedReason: String?

        init(_ connection: AMQPConnection) {
            self.connection = connection
        }
    }

    private var link: Link?
    private var isClosed = false

    /// Creates the publisher; it connects on first use.
    /// - Parameters:
    ///   - endpoint: the broker.
    ///   - topology: declared on every connect; messages go to its exchange with its routing key.
    ///   - confirmTimeout: the longest `publish` waits for the broker's confirms.
    ///   - logger: for connects, drops and broker notifications.
    public init(
        endpoint: AMQPEndpoint, topology: AuditTopology, confirmTimeout: Duration = .seconds(5), logger: Logger
    ) {
        self.endpoint = endpoint
        self.topology = topology
        self.confirmTimeout = confirmTimeout
        var logger = logger
        logger[metadataKey: "amqp"] = "\(endpoint.host):\(endpoint.port)"
        logger[metadataKey: "exchange"] = "\(topology.exchange)"
        self.logger = logger
        self.executor = DedicatedThreadExecutor(name: "amqp-publish")
    }

    /// Publishes persistent (delivery_mode 2), mandatory messages to the topology's exchange and
    /// returns only after the broker confirmed every one (publisher confirms). Any failure
    /// throws; the caller re-publishes (consumers de-duplicate).
    ///
    /// An empty `bodies` returns at once without connecting.
    /// - Throws: `AMQPError`: `.connection` or `.channel` (not connected, or the connection
    ///   failed), `.nacked`, `.returned`, `.timedOut`, `.closed`, or `.blocked` when the broker
    ///   blocks publishing under a resource alarm: then either nothing was sent (the alarm was
    ///   already known) or everything was sent but not confirmed within `confirmTimeout`; the
    ///   connection is kept either way, and publishes fail fast with `.blocked` until the broker
    ///   lifts the block. Whatever the error, some of the messages may reach the queue.
    public func publish(_ bodies: [[UInt8]], type: String?) async throws(AMQPError) {
        if isClosed {
            throw .closed
        }
        if bodies.isEmpty {
            return
        }
        let link = try liveLink()
        if let reason = link.blockedReason {
            throw .blocked(reason)
        }
        let watchdog = SocketWatchdog(
            socket: link.connection.socketDescriptor, limit: confirmTimeout + Self.writeGrace)
        let failure = publishAndConfirm(bodies, type: type, on: link, deadline: .now + confirmTimeout)
        let cutOff = watchdog.disarm()
        guard let failure else { return }
        if failure == .timedOut, !cutOff, let reason = link.blockedReason {
            // Everything was written; the broker holds it back under an alarm. The connection is
            // sound, so keep it: later publishes fail fast until the broker unblocks it (and the
            // messages of this one may still be enqueued then).
            throw .blocked(reason)
        }
        if cutOff {
            logger.warning("a write to RabbitMQ was still blocked after the confirm timeout; socket shut down")
        }
        let error: AMQPError = cutOff ? .timedOut : failure
        drop(after: error)
        throw error
    }

    /// Closes the connection cleanly (each step of the close handshake bounded by 10 s, which a
    /// broker that blocks this connection makes it wait out). Later calls throw
    /// `AMQPError.closed`.
    public func close() {
        isClosed = true
        if let link {
            link.connection.close()
            self.link = nil
            logger.debug("AMQP publisher closed")
        }
    }

    // MARK: Connection

    /// The connection to publish on: the current one if it is still sound, else a new one.
    private func liveLink() throws(AMQPError) -> Link {
        if let link {
            if let error = drainNotifications(on: link) {
                logger.info("AMQP connection lost while idle; reconnecting", metadata: ["error": "\(error)"])
                self.link = nil
            } else {
                return link
            }
        }
        let connection = try AMQPConnection.open(to: endpoint, name: "daytrader publisher to \(topology.exchange)", declaring: topology, logger: logger).get()
        amqp_confirm_select(connection.state, AMQPConnection.channel)
        if let error = connection.lastRequestError(doing: "confirm.select") {
            logger.warning("cannot enable publisher confirms", metadata: ["error": "\(error)"])
            throw error
        }
        logger.debug("connected to RabbitMQ for publishing")
        let link = Link(connection)
        self.link = link
        return link
    }

    /// Reads, without waiting, what the broker sent since the last publish: notifications
    /// (blocked, unblocked) or the news that the connection is gone.
    private func drainNotifications(on link: Link) -> AMQPError? {
        while true {
            switch link.connection.waitFrame(timeout: .zero) {
            case .timedOut:
                link.connection.releaseBuffers()
                return nil
            case .failed(let error):
                return error
            case .frame(let frame):
                if let error = handleUnsolicited(frame, on: link) {
                    return error
                }
            }
        }
    }

    /// Handles a frame that is not a confirm: broker notifications and closes. Returns the error
    /// it stands for, if any.
    private func handleUnsolicited(_ frame: amqp_frame_t, on link: Link) -> AMQPError? {
        guard frame.frame_type == AMQP_FRAME_METHOD else { return nil }
        let method = frame.payload.method
        switch method.id {
        case AMQP_CONNECTION_CLOSE_METHOD, AMQP_CHANNEL_CLOSE_METHOD:
            return link.connection.serverError(method, doing: "publishing")
        case AMQP_CONNECTION_BLOCKED_METHOD:
            let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            let reason = string(blocked.reason)
            logger.warning("RabbitMQ blocks publishing", metadata: ["reason": "\(reason)"])
            link.blockedReason = reason.isEmpty ? "connection.blocked" : reason
            return nil
        case AMQP_CONNECTION_UNBLOCKED_METHOD:
            logger.info("RabbitMQ unblocked publishing")
            link.blockedReason = nil
            return nil
        case AMQP_BASIC_RETURN_METHOD:
            // Only possible for a message of an earlier, failed publish; read past its content.
            return link.connection.skipContent()
        default:
            // A late confirm of an earlier, failed publish, or something this client ignores.
            return nil
        }
    }

    private func drop(after error: AMQPError) {
        logger.warning("AMQP publisher connection dropped", metadata: ["error": "\(error)"])
        link = nil
    }

    // MARK: Publishing

    /// Sends every message, then reads frames until each has been confirmed. Returns the first
    /// failure, after which the connection must be dropped.
    private func publishAndConfirm(
        _ bodies: [[UInt8]], type: String?, on link: Link, deadline: ContinuousClock.Instant
    ) -> AMQPError? {
        let connection = link.connection
        let first = link.nextSequence
        let sent: Int32 = withBytes(topology.exchange) { exchange in
            withBytes(topology.routingKey) { routingKey in
                withBytes(type ?? "") { typeBytes in
                    var properties = amqp_basic_properties_t()
                    properties._flags = amqp_flags_t(AMQP_BASIC_DELIVERY_MODE_FLAG)
                    properties.delivery_mode = 2  // persistent
                    if type != nil {
                        properties._flags |= amqp_flags_t(AMQP_BASIC_TYPE_FLAG)
                        properties.type = typeBytes
                    }
                    for body in bodies {
                        let status = body.withUnsafeBytes { raw in
                            amqp_basic_publish(
                                connection.state, AMQPConnection.channel, exchange, routingKey, 1, 0, &properties,
                                amqp_bytes_t(len: raw.count, bytes: UnsafeMutableRawPointer(mutating: raw.baseAddress)))
                        }
                        if status != AMQP_STATUS_OK.rawValue {
                            return status
                        }
                        link.nextSequence += 1
                    }
                    return AMQP_STATUS_OK.rawValue
                }
            }
        }
        if sent != AMQP_STATUS_OK.rawValue {
            return .connection("publishing to \(connection.peer): \(AMQPConnection.statusText(sent))")
        }

        var confirms = ConfirmTracker(first: first, count: bodies.count)
        while !confirms.isComplete {
            let remaining = deadline - .now
            if remaining <= .zero {
                return .timedOut
            }
            switch connection.waitFrame(timeout: remaining) {
            case .timedOut:
                return .timedOut
            case .failed(let error):
                return error
            case .frame(let frame):
                guard frame.frame_type == AMQP_FRAME_METHOD, frame.channel == AMQPConnection.channel else {
                    if let error = handleUnsolicited(frame, on: link) {
                        return error
                    }
                    continue
                }
                let method = frame.payload.method
                switch method.id {
                case AMQP_BASIC_ACK_METHOD:
                    let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
                    confirms.confirm(ack.delivery_tag, multiple: ack.multiple != 0)
                case AMQP_BASIC_NACK_METHOD:
                    let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
                    if confirms.covers(nack.delivery_tag, multiple: nack.multiple != 0) {
                        return .nacked
                    }
                case AMQP_BASIC_RETURN_METHOD:
                    let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
                    logger.warning(
                        "RabbitMQ returned an unroutable message",
                        metadata: [
                            "reply": "\(returned.reply_code) \(string(returned.reply_text))",
                            "routing_key": "\(string(returned.routing_key))",
                        ])
                    // Its confirm (an ack) follows, but the message reached no queue.
                    return connection.skipContent() ?? .returned
                default:
                    if let error = handleUnsolicited(frame, on: link) {
                        return error
                    }
                }
            }
            connection.releaseBuffers()
        }
        connection.releaseBuffers()
        return nil
    }
}

/// Which of one publish's messages (sequence numbers `first ..< first + count`) the broker has
/// confirmed. Confirms for sequence numbers outside the range (late ones of an earlier publish)
/// are ignored.
struct ConfirmTracker {
    let first: UInt64
    private var confirmed: [Bool]
    /// Index of the lowest unconfirmed message (every one before it is confirmed).
    private var lowest = 0
    private(set) var remaining: Int

    init(first: UInt64, count: Int) {
        self.first = first
        confirmed = Array(repeating: false, count: count)
        remaining = count
    }

    var isComplete: Bool { remaining == 0 }

    /// Whether a confirm (or nack) for `tag` concerns any message of this publish.
    func covers(_ tag: UInt64, multiple: Bool) -> Bool {
        let end = first + UInt64(confirmed.count)
        if multiple {
            return tag >= first || tag == 0
        }
        return tag >= first && tag < end
    }

    /// Records an ack: of `tag` alone, or with `multiple` of every message up to `tag`.
    mutating func confirm(_ tag: UInt64, multiple: Bool) {
        guard tag >= first else { return }
        let index = tag - first
        if multiple {
            let upTo = Int(min(index, UInt64(confirmed.count - 1)))
            while lowest <= upTo {
                mark(lowest)
                lowest += 1
            }
        } else if index < UInt64(confirmed.count) {
            mark(Int(index))
        }
        while lowest < confirmed.count && confirmed[lowest] {
            lowest += 1
        }
    }

    private mutating func mark(_ index: Int) {
        if !confirmed[index] {
            confirmed[index] = true
            remaining -= 1
        }
    }
}
