import AMQPClient
import Logging
import PostgresNIO
import ServiceLifecycle

/// Takes audit events from RabbitMQ into the audit database.
///
/// Manual acks with a prefetch window: a batch of messages is stored in one transaction and
/// acked only after it committed, so a crash at any point loses nothing (the broker redelivers
/// what was not acked) and the database drops the duplicates that redelivery brings.
struct AuditConsumer: Service {
    /// The message type of a DUMPLOG barrier marker; its body is the marker's id.
    static let barrierType = "barrier"
    static let batchMessages = 64

    let consumer: AMQPConsumer
    let store: AuditStore
    let barriers: DeliveryBarriers
    let logger: Logger

    func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let deliveries = try await consumer.next(maxMessages: Self.batchMessages, wait: .milliseconds(200))
                if !deliveries.isEmpty {
                    try await take(deliveries)
                }
                if failures > 0 {
                    logger.info("audit consumer is storing again", metadata: ["failedAttempts": "\(failures)"])
                    failures = 0
                }
            } catch {
                failures += 1
                if failures == 1 {
                    logger.warning("audit consumer failed; unacked events will be redelivered", metadata: ["error": "\(error)"])
                }
                // Dropping the connection hands every unacked message back to the broker.
                await consumer.disconnect()
                let pauseMillis = min(2_000, 50 << min(failures, 6))
                try? await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .milliseconds(pauseMillis))
                }
            }
        }
        await consumer.close()
    }

    private func take(_ deliveries: [AMQPDelivery]) async throws {
        let markers = deliveries.filter { $0.type == Self.barrierType }
        let messages = deliveries.filter { $0.type != Self.barrierType }
        var refused: [AMQPDelivery] = []
        do {
            try await store.insert(messages: messages.map { String(decoding: $0.body, as: UTF8.self) })
        } catch let error as PSQLError where error.isBadData {
            // One bad message must not stop the queue: store the rest one by one and send the
            // bad ones to the dead-letter queue for a person to look at.
            for delivery in messages {
                do {
                    try await store.insert(messages: [String(decoding: delivery.body, as: UTF8.self)])
                } catch let error as PSQLError where error.isBadData {
                    logger.error("audit message refused; sent to the dead-letter queue", metadata: ["error": "\(String(reflecting: error))"])
                    try await consumer.reject(delivery)
                    refused.append(delivery)
                }
            }
        }
        if let last = deliveries.last(where: { delivery in !refused.contains { $0.deliveryTag == delivery.deliveryTag } }) {
            try await consumer.ack(upTo: last)
        }
        await barriers.pass(markers.map { String(decoding: $0.body, as: UTF8.self) })
    }
}

extension PSQLError {
    /// The message's content is wrong (bad JSON, a CHECK it breaks), as opposed to the
    /// database being unreachable: SQLSTATE classes 22 (data exception) and 23 (integrity).
    var isBadData: Bool {
        guard let state = serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }
}
