import CRabbitMQ

/// Broker inspection and clean-up that production code does not need but tests do (through
/// `@testable import`): count and fetch messages, delete a topology.
extension AMQPConnection {
    /// The number of ready messages in `queue` (a passive queue.declare, which fails with
    /// `.channel` NOT_FOUND when the queue does not exist).
    func messageCount(in queue: String) -> Result<UInt32, AMQPError> {
        let ok = withBytes(queue) { name in
            amqp_queue_declare(state, Self.channel, name, 1, 0, 0, 0, amqp_empty_table)
        }
        if let error = lastRequestError(doing: "queue.declare (passive) \(queue)") {
            return .failure(error)
        }
        guard let ok else { return .failure(.connection("queue.declare (passive) \(queue): no reply")) }
        return .success(ok.pointee.message_count)
    }

    /// Takes one message from `queue` (basic.get, acknowledged at once), or `nil` when the queue
    /// is empty.
    func get(from queue: String) -> Result<AMQPDelivery?, AMQPError> {
        let reply = withBytes(queue) { name in
            amqp_basic_get(state, Self.channel, name, 1)
        }
        if let error = error(in: reply, doing: "basic.get \(queue)") {
            return .failure(error)
        }
        guard reply.reply.id == AMQP_BASIC_GET_OK_METHOD else {
            return .success(nil)  // basic.get-empty
        }
        let getOk = reply.reply.decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
        var message = amqp_message_t()
        let read = amqp_read_message(state, Self.channel, &message, 0)
        if let error = error(in: read, doing: "reading the message of basic.get \(queue)") {
            return .failure(error)
        }
        defer { amqp_destroy_message(&message) }
        let hasType = message.properties._flags & amqp_flags_t(AMQP_BASIC_TYPE_FLAG) != 0
        return .success(
            AMQPDelivery(
                deliveryTag: getOk.delivery_tag, connection: 0, body: byteArray(message.body),
                type: hasType ? string(message.properties.type) : nil, redelivered: getOk.redelivered != 0))
    }

    /// Deletes the queues and exchanges of `topology` (those that exist).
    func delete(_ topology: AuditTopology) -> AMQPError? {
        for queue in [topology.queue, topology.deadLetterQueue] {
            withBytes(queue) { name in _ = amqp_queue_delete(state, Self.channel, name, 0, 0) }
            if let error = lastRequestError(doing: "queue.delete \(queue)") { return error }
        }
        for exchange in [topology.exchange, topology.deadLetterExchange] {
            withBytes(exchange) { name in _ = amqp_exchange_delete(state, Self.channel, name, 0) }
            if let error = lastRequestError(doing: "exchange.delete \(exchange)") { return error }
        }
        return nil
    }
}
