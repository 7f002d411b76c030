import AMQPClient
import DayTraderCore
import Logging
import ServiceLifecycle

/// Takes transaction records from RabbitMQ into the audit database, as events.
///
/// Manual acks with a prefetch window: a batch of messages (each a JSON array of records) is
/// stored in one transaction and acked only after it committed, so a crash at any point loses
/// nothing (the broker redelivers what was not acked) and the database drops the records that
/// redelivery brings twice.
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
        var records: [TransactionRecord] = []
        var refused: [AMQPDelivery] = []
        for delivery in deliveries where delivery.type != Self.barrierType {
            do {
                records += try TransactionRecord.records(parsing: delivery.body)
            } catch {
                // One unreadable message must not stop the queue, nor take other messages with it:
                // it goes to the dead-letter queue for a person to look at.
                logger.error("audit message unreadable; sent to the dead-letter queue", metadata: ["error": "\(error)"])
                try await consumer.reject(delivery)
                refused.append(delivery)
            }
        }
        try await store.insert(records)
        if let last = deliveries.last(where: { delivery in !refused.contains { $0.deliveryTag == delivery.deliveryTag } }) {
            try await consumer.ack(upTo: last)
        }
        await barriers.pass(markers.map { String(decoding: $0.body, as: UTF8.self) })
    }
}
