import ChildProcess
import Testing
import TimeLimits

@testable import AMQPClient

@Suite(
    "Publish and consume against a real RabbitMQ", .enabled(if: TestBroker.isConfigured, TestBroker.skipReason),
    .timeLimit(.minutes(10)))
struct PublishConsumeTests {
    @Test func publishedMessagesArriveWithTheirBodiesAndType() async throws {
        let topology = uniqueTopology("roundtrip")
        defer { deleteTopology(topology) }
        let publisher = AMQPPublisher(endpoint: TestBroker.endpoint, topology: topology, logger: testLogger)
        let consumer = AMQPConsumer(endpoint: TestBroker.endpoint, topology: topology, prefetch: 10, logger: testLogger)

        let bodies: [[UInt8]] = [bytes("hello"), [0, 1, 2, 0, 255, 254], [], bytes("ünïcödé ✓ 📈")]
        try await publisher.publish(bodies, type: "trade")
        try await publisher.publish([bytes("untyped")], type: nil)

        let deliveries = try await collect(5, from: consumer)
        #expect(deliveries.map(\.body) == bodies + [bytes("untyped")])
        #expect(deliveries.map(\.type) == ["trade", "trade", "trade", "trade", nil])
        #expect(deliveries.allSatisfy { !$0.redelivered })
        #expect(Set(deliveries.map(\.connection)) == [1])
        try await consumer.ack(upTo: deliveries.last!)

        // Nothing else is there.
        #expect(try await consumer.next(maxMessages: 10, wait: .milliseconds(200)).isEmpty)
        await consumer.close()
        await publisher.close()
        try await waitForMessageCount(0, in: topology.queue)
    }

    @Test func aBatchOfAThousandIsConfirmedAndDeliveredInOrder() async throws {
        let topology = uniqueTopology("batch")
        defer { deleteTopology(topology) }
        let publisher = AMQPPublisher(endpoint: TestBroker.endpoint, topology: topology, logger: testLogger)
        let consumer = AMQPConsumer(endpoint: TestBroker.endpoint, topology: topology, prefetch: 300, logger: testLogger)

        let bodies = (0..<1_000).map { bytes("event \($0)") }
        try await publisher.publish(bodies, type: "audit")
        // Confirmed means enqueued: all of them are in the queue before anything consumes.
        try await waitForMessageCount(1_000, in: topology.queue, limit: .seconds(15))

        var received: [AMQPDelivery] = []
        while received.count < 1_000 {
            let batch = try await consumer.next(maxMessages: 250, wait: .seconds(10))
            try #require(!batch.isEmpty, "no delivery within 10 s after \(received.count)")
            #expect(batch.count <= 250)
            try await consumer.ack(upTo: batch.last!)
            received += batch
        }
        #expect(received.map(\.body) == bodies)
        await consumer.close()
        await publisher.close()
        try await waitForMessageCount(0, in: topology.queue)
    }

    @Test func ackedMessagesAreGoneAndUnackedOnesAreRedeliveredAfterClose() async throws {
        let topology = uniqueTopology("redeliver")
        defer { deleteTopology(topology) }
        let publisher = AMQPPublisher(endpoint: TestBroker.endpoint, topology: topology, logger: testLogger)
        let bodies = (1...10).map { bytes("m\($0)") }
        try await publisher.publish(bodies, type: nil)

        let first = AMQPConsumer(endpoint: TestBroker.endpoint, topology: topology, prefetch: 20, logger: testLogger)
        let delivered = try await collect(10, from: first)
        #expect(delivered.map(\.body) == bodies)
        try await first.ack(upTo: delivered[4])  // m1 ... m5
        await first.close()
        await #expect(throws: AMQPError.closed) { try await first.next(maxMessages: 1, wait: .zero) }

        let second = AMQPConsumer(endpoint: TestBroker.endpoint, topology: topology, prefetch: 20, logger: testLogger)
        let redelivered = try await collect(5, from: second)
        #expect(redelivered.map(\.body) == Array(bodies[5...]))
        #expect(redelivered.allSatisfy { $0.redelivered })
        #expect(try await second.next(maxMessages: 10, wait: .milliseconds(300)).isEmpty)
        try await second.ack(upTo: redelivered.last!)
        await second.close()
        await publisher.close()
        try await waitForMessageCount(0, in: topology.queue)
    }

    @Test func acksBeyondAndBetweenRejectsAreHarmless() async throws {
        let topology = uniqueTopology("ackrules")
        defer { deleteTopology(topology) }
        let publisher = AMQPPublisher(endpoint: TestBroker.endpoint, topology: topology, logger: testLogger)
        let consumer = AMQPConsumer(endpoint: TestBroker.endpoint, topology: topology, prefetch: 10, logger: testLogger)
        try await publisher.publish((1...4).map { bytes("m\($0)") }, type: nil)
        let deliveries = try await collect(4, from: consumer)

        try await consumer.reject(deliveries[3])  // m4 to the dead letters
        try await consumer.ack(upTo: deliveries[1])  // m1, m2
        try await consumer.ack(upTo: deliveries[1])  // again: nothing left to ack there
        try await consumer.ack(upTo: deliveries[3])  // m3 (m4 is rejected already)
        try await consumer.reject(deliveries[0])  // already acked: ignored

        // The broker would have closed the channel for an unknown tag; the channel still works.
        try await publisher.publish([bytes("m5")], type: nil)
        let more = try await collect(1, from: consumer)
        #expect(more.map(\.body) == [bytes("m5")])
        #expect(more[0].connection == deliveries[0].connection)
        try await consumer.ack(upTo: more[0])
        await consumer.close()
        await publisher.close()
        try await waitForMessageCount(0, in: topology.queue)
        try await waitForMessageCount(1, in: topology.deadLetterQueue)
    }

    @Test func rejectedMessagesGoToTheDeadLetterQueue() async throws {
        let topology = uniqueTopology("poison")
        defer { deleteTopology(topology) }
        let publisher = AMQPPublisher(endpoint: TestBroker.endpoint, topology: topology, logger: testLogger)
        let consumer = AMQPConsumer(endpoint: TestBroker.endpoint, topology: topology, prefetch: 10, logger: testLogger)
        try await publisher.publish([bytes("poison"), bytes("fine")], type: "audit")

        let deliveries = try await collect(2, from: consumer)
        try await consumer.reject(deliveries[0])
        try await consumer.ack(upTo: deliveries[1])
        await consumer.close()
        await publisher.close()

        try await waitForMessageCount(1, in: topology.deadLetterQueue)
        try await waitForMessageCount(0, in: topology.queue)
        let dead = try inspect { try $0.get(from: topology.deadLetterQueue).get() }
        #expect(dead?.body == bytes("poison"))
        #expect(dead?.type == "audit")
    }

    /// After a reconnect the broker numbers deliveries from 1 again, so an ack of an old delivery
    /// would ack new, unprocessed ones by mistake.
    @Test func anAckFromAnEarlierConnectionIsIgnored() async throws {
        let topology = uniqueTopology("generation")
        defer { deleteTopology(topology) }
        let publisher = AMQPPublisher(endpoint: TestBroker.endpoint, topology: topology, logger: testLogger)
        let consumer = AMQPConsumer(endpoint: TestBroker.endpoint, topology: topology, prefetch: 10, logger: testLogger)
        try await publisher.publish([bytes("old 1"), bytes("old 2"), bytes("old 3")], type: nil)
        let old = try await collect(3, from: consumer)
        #expect(old.map(\.deliveryTag) == [1, 2, 3])

        // Deleting the queue makes the broker cancel the consumer (consumer_cancel_notify): the
        // consumer drops its connection and reconnects, redeclaring the queue.
        let deleted = try inspect { $0.delete(topology) }
        #expect(deleted == nil)
        let cancelled = try await within(.seconds(10), "the cancel notification") {
            await attemptNext(consumer, wait: .seconds(5))
        }
        guard case .failure(.channel) = cancelled else {
            Issue.record("expected a channel error after the queue was deleted, got \(cancelled)")
            return
        }
        #expect(try await consumer.next(maxMessages: 10, wait: .milliseconds(100)).isEmpty)  // reconnects

        // The publisher's exchange is gone too: the first publish fails (returned, or NOT_FOUND),
        // the next one reconnects, redeclares and succeeds.
        let newBodies = [bytes("new 1"), bytes("new 2"), bytes("new 3")]
        var published = false
        for _ in 0..<3 where !published {
            published = (try? await publisher.publish(newBodies, type: nil)) != nil
        }
        #expect(published)
        let new = try await collect(3, from: consumer)
        #expect(new.map(\.body) == newBodies)
        #expect(new.map(\.deliveryTag) == [1, 2, 3])
        #expect(new[0].connection == old[0].connection + 1)

        try await consumer.ack(upTo: old[2])  // ignored: it would ack "new 1" ... "new 3"
        try await consumer.reject(old[0])  // ignored likewise
        await consumer.close()

        let again = AMQPConsumer(endpoint: TestBroker.endpoint, topology: topology, prefetch: 10, logger: testLogger)
        let redelivered = try await collect(3, from: again)
        #expect(redelivered.map(\.body) == newBodies)
        #expect(redelivered.allSatisfy { $0.redelivered })
        try await again.ack(upTo: redelivered[2])
        await again.close()
        await publisher.close()
        try await waitForMessageCount(0, in: topology.deadLetterQueue)
    }

    @Test func aQueueDeclaredWithOtherSettingsIsAChannelError() async throws {
        let topology = uniqueTopology("mismatch")
        defer { deleteTopology(topology) }
        // The dead-letter queue, declared as the main queue, lacks x-dead-letter-exchange.
        var clash = topology
        clash.queue = topology.deadLetterQueue
        let consumer = AMQPConsumer(endpoint: TestBroker.endpoint, topology: clash, prefetch: 1, logger: testLogger)
        let result = await attemptNext(consumer, wait: .zero)
        guard case .failure(.channel(let reason)) = result else {
            Issue.record("expected a channel error, got \(result)")
            return
        }
        #expect(reason.contains("PRECONDITION_FAILED"))
    }

    @Test func emptyPublishAndZeroMessagesDoNotConnect() async throws {
        let nowhere = AMQPEndpoint(port: try freePort())
        let publisher = AMQPPublisher(endpoint: nowhere, topology: uniqueTopology("empty"), logger: testLogger)
        try await publisher.publish([], type: nil)
        let consumer = AMQPConsumer(endpoint: nowhere, topology: uniqueTopology("empty"), prefetch: 1, logger: testLogger)
        #expect(try await consumer.next(maxMessages: 0, wait: .seconds(1)).isEmpty)
        await publisher.close()
        await #expect(throws: AMQPError.closed) { try await publisher.publish([[1]], type: nil) }
    }
}
