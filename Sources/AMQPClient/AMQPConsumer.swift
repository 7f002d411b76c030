import CRabbitMQ
import DedicatedThread
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One message received by an `AMQPConsumer`, not yet acknowledged.
public struct AMQPDelivery: Sendable, Hashable {
    /// The broker's delivery tag, valid only on the connection the message came on.
    public var deliveryTag: UInt64
    /// The generation of the connection the message came on (the consumer counts its
    /// connections); acks for an earlier generation are void and ignored.
    public var connection: UInt64
    /// The message body.
    public var body: [UInt8]
    /// The message's `type` property, if it has one.
    public var type: String?
    /// Whether the broker delivered this message before (to a consumer that did not acknowledge
    /// it): it may already have been processed.
    public var redelivered: Bool

    /// Creates a delivery (deliveries normally come from `AMQPConsumer.next`).
    public init(deliveryTag: UInt64, connection: UInt64, body: [UInt8], type: String?, redelivered: Bool) {
        self.deliveryTag = deliveryTag
        self.connection = connection
        self.body = body
        self.type = type
        self.redelivered = redelivered
    }
}

/// Consumes the audit topology's queue with manual acknowledgements, over one rabbitmq-c
/// connection.
///
/// **Threading.** rabbitmq-c is blocking and not thread-safe, so the actor runs on its own
/// `DedicatedThreadExecutor`. Every blocking wait is bounded (by `next`'s `wait`), so the actor
/// stays responsive: an `ack` issued while `next` waits runs as soon as that wait ends.
///
/// **Delivery.** At most `prefetch` messages are unacknowledged at a time; the broker sends the
/// next ones as earlier ones are acknowledged or rejected. Messages that are not acknowledged
/// when the connection ends (an error, `close()`, the process dying) go back to the queue and
/// are delivered again with `redelivered == true`, so processing must be idempotent.
///
/// **Failures.** After any error the connection is dropped and the error thrown; the next call
/// to `next` reconnects (redeclaring the topology). Deliveries of the dropped connection can no
/// longer be acknowledged: `ack` and `reject` ignore them.
public actor AMQPConsumer {
    private let endpoint: AMQPEndpoint
    private let topology: AuditTopology
    private let prefetch: UInt16
    private let logger: Logger
    private let executor: DedicatedThreadExecutor

    /// Runs this actor on its dedicated thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    /// A live, consuming connection and the delivery tags it still owes an ack or reject for.
    private final class Link {
        let connection: AMQPConnection
        let generation: UInt64
        /// Delivery tags neither acked nor rejected yet, ascending (the order of delivery).
        var outstanding: [UInt64] = []

        init(_ connection: AMQPConnection, generation: UInt64) {
            self.connection = connection
            self.generation = generation
        }
    }

    private var link: Link?
    private var generation: UInt64 = 0
    private var isClosed = false

    /// Creates the consumer; it connects on the first `next`.
    /// - Parameters:
    ///   - endpoint: the broker.
    ///   - topology: declared on every connect; its `queue` is consumed.
    ///   - prefetch: the most unacknowledged messages the broker sends this consumer (basic.qos);
    ///     0 means no limit.
    ///   - logger: for connects and drops.
    public init(endpoint: AMQPEndpoint, topology: AuditTopology, prefetch: UInt16, logger: Logger) {
        self.endpoint = endpoint
        self.topology = topology
        self.prefetch = prefetch
        var logger = logger
        logger[metadataKey: "amqp"] = "\(endpoint.host):\(endpoint.port)"
        logger[metadataKey: "queue"] = "\(topology.queue)"
        self.logger = logger
        self.executor = DedicatedThreadExecutor(name: "amqp-consume")
    }

    /// Waits up to `wait` for the first message, then takes what else is already there, up to
    /// `maxMessages`. Connects (and declares topology, basic.qos, basic.consume with manual acks)
    /// lazily; after any error the connection is dropped and the next call reconnects (the
    /// broker redelivers unacked messages).
    ///
    /// Returns an empty array when no message came within `wait` (or when `maxMessages` < 1).
    /// Connecting is bounded separately (5 s to connect, 10 s per handshake step).
    /// - Throws: `AMQPError.connection` or `.channel` (including a broker-side cancel of the
    ///   consumer, e.g. because its queue was deleted), `.closed` after `close()`. Messages
    ///   received in the failed call are not returned; they come again.
    public func next(maxMessages: Int, wait: Duration) async throws(AMQPError) -> [AMQPDelivery] {
        if isClosed {
            throw .closed
        }
        guard maxMessages > 0 else { return [] }
        let link = try liveLink()
        switch receive(upTo: maxMessages, wait: wait, on: link) {
        case .success(let deliveries):
            return deliveries
        case .failure(let error):
            drop(after: error)
            throw error
        }
    }

    /// Acks every delivery up to and including this one (multiple=true). A delivery from an
    /// earlier connection is ignored (its tags are void; the broker redelivers it).
    ///
    /// Deliveries already acked or rejected are skipped, so acking the same delivery twice, or
    /// acking up to a rejected one, is harmless.
    /// - Throws: `AMQPError.connection` when the ack cannot be sent (the connection is dropped and
    ///   the messages come again).
    public func ack(upTo delivery: AMQPDelivery) async throws(AMQPError) {
        guard let link, link.generation == delivery.connection else { return }
        // The broker closes the channel for an unknown tag, even with multiple=true: ack the
        // highest tag still outstanding at or below this one.
        guard let index = link.outstanding.lastIndex(where: { $0 <= delivery.deliveryTag }) else { return }
        let status = amqp_basic_ack(link.connection.state, AMQPConnection.channel, link.outstanding[index], 1)
        guard status == AMQP_STATUS_OK.rawValue else {
            let error = AMQPError.connection("basic.ack: \(AMQPConnection.statusText(status))")
            drop(after: error)
            throw error
        }
        link.outstanding.removeFirst(index + 1)
    }

    /// Rejects one delivery without requeue, so it goes to the dead-letter queue (poison
    /// message). A delivery from an earlier connection, or one already acked or rejected, is
    /// ignored.
    /// - Throws: `AMQPError.connection` when the reject cannot be sent (the connection is
    ///   dropped and the message comes again).
    public func reject(_ delivery: AMQPDelivery) async throws(AMQPError) {
        guard let link, link.generation == delivery.connection,
            let index = link.outstanding.firstIndex(of: delivery.deliveryTag)
        else { return }
        let status = amqp_basic_reject(link.connection.state, AMQPConnection.channel, delivery.deliveryTag, 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            let error = AMQPError.connection("basic.reject: \(AMQPConnection.statusText(status))")
            drop(after: error)
            throw error
        }
        link.outstanding.remove(at: index)
    }

    /// Drops the connection, handing every unacknowledged message back to the queue, and
    /// reconnects on the next `next`. For a caller that could not store what it received.
    public func disconnect() {
        if let link {
            link.connection.close()
            self.link = nil
            logger.debug("AMQP consumer disconnected; unacked messages return to the queue")
        }
    }

    /// Closes the connection cleanly; unacknowledged messages go back to the queue. Later calls
    /// to `next` throw `AMQPError.closed`; `ack` and `reject` ignore every delivery.
    public func close() {
        isClosed = true
        if let link {
            link.connection.close()
            self.link = nil
            logger.debug("AMQP consumer closed")
        }
    }

    // MARK: Connection

    private func liveLink() throws(AMQPError) -> Link {
        if let link {
            return link
        }
        let connection = try AMQPConnection.open(to: endpoint, name: "daytrader consumer of \(topology.queue)", declaring: topology, logger: logger).get()
        amqp_basic_qos(connection.state, AMQPConnection.channel, 0, prefetch, 0)
        if let error = connection.lastRequestError(doing: "basic.qos") {
            throw error
        }
        withBytes(topology.queue) { queue in
            // Empty consumer tag: the broker makes one up. no_ack = 0: manual acknowledgements.
            _ = amqp_basic_consume(
                connection.state, AMQPConnection.channel, queue, amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
        }
        if let error = connection.lastRequestError(doing: "basic.consume \(topology.queue)") {
            throw error
        }
        generation += 1
        logger.debug("consuming from RabbitMQ", metadata: ["connection": "\(generation)"])
        let link = Link(connection, generation: generation)
        self.link = link
        return link
    }

    private func drop(after error: AMQPError) {
        logger.warning("AMQP consumer connection dropped", metadata: ["error": "\(error)"])
        link = nil
    }

    // MARK: Receiving

    private func receive(upTo maxMessages: Int, wait: Duration, on link: Link) -> Result<[AMQPDelivery], AMQPError> {
        let connection = link.connection
        let deadline = ContinuousClock.now + wait
        var deliveries: [AMQPDelivery] = []
        while deliveries.count < maxMessages {
            // The first message may take until the deadline; the rest only if already there.
            var timeout = timeval(deliveries.isEmpty ? deadline - .now : .zero)
            var envelope = amqp_envelope_t()
            let reply = amqp_consume_message(connection.state, &envelope, &timeout, 0)

            if reply.reply_type == AMQP_RESPONSE_NORMAL {
                deliveries.append(delivery(from: envelope, generation: link.generation))
                link.outstanding.append(envelope.delivery_tag)
                amqp_destroy_envelope(&envelope)
                connection.releaseBuffers()
                continue
            }
            if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION {
                if reply.library_error == AMQP_STATUS_TIMEOUT.rawValue {
                    break
                }
                if reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue {
                    // A frame other than basic.deliver came first; it is queued for us.
                    if let error = handleOtherFrame(on: connection) {
                        return .failure(error)
                    }
                    continue
                }
            }
            return .failure(connection.error(in: reply, doing: "receiving") ?? .connection("receiving: no reply"))
        }
        return .success(deliveries)
    }

    /// Reads and handles the frame that `amqp_consume_message` left queued.
    private func handleOtherFrame(on connection: AMQPConnection) -> AMQPError? {
        switch connection.waitFrame(timeout: .zero) {
        case .timedOut:
            return nil
        case .failed(let error):
            return error
        case .frame(let frame):
            defer { connection.releaseBuffers() }
            guard frame.frame_type == AMQP_FRAME_METHOD else { return nil }
            switch frame.payload.method.id {
            case AMQP_CONNECTION_CLOSE_METHOD, AMQP_CHANNEL_CLOSE_METHOD:
                return connection.serverError(frame.payload.method, doing: "consuming")
            case AMQP_BASIC_CANCEL_METHOD:
                return .channel("the broker cancelled the consumer of \(topology.queue) (queue deleted?)")
            default:
                return nil  // connection.blocked and the like do not concern a consumer
            }
        }
    }

    private func delivery(from envelope: amqp_envelope_t, generation: UInt64) -> AMQPDelivery {
        let properties = envelope.message.properties
        let hasType = properties._flags & amqp_flags_t(AMQP_BASIC_TYPE_FLAG) != 0
        return AMQPDelivery(
            deliveryTag: envelope.delivery_tag,
            connection: generation,
            body: byteArray(envelope.message.body),
            type: hasType ? string(properties.type) : nil,
            redelivered: envelope.redelivered != 0)
    }
}
