import ChildProcess
import Testing
import TimeLimits

@testable import AMQPClient

@Suite("RabbitMQ down and back", .timeLimit(.minutes(10)))
struct OutageTests {
    @Test func publishingToAPortNothingListensOnThrows() async throws {
        let nowhere = AMQPEndpoint(port: try freePort())
        let publisher = AMQPPublisher(endpoint: nowhere, topology: uniqueTopology("nowhere"), logger: testLogger)
        let consumer = AMQPConsumer(endpoint: nowhere, topology: uniqueTopology("nowhere"), prefetch: 1, logger: testLogger)
        for _ in 0..<2 {
            let published = try await within(.seconds(10), "a publish to a closed port") {
                await attemptPublish(publisher, [bytes("lost")])
            }
            guard case .failure(.connection) = published else {
                Issue.record("expected a connection error, got \(published)")
                return
            }
            let received = try await within(.seconds(10), "a next() from a closed port") {
                await attemptNext(consumer, wait: .seconds(1))
            }
            guard case .failure(.connection) = received else {
                Issue.record("expected a connection error, got \(received)")
                return
            }
        }
    }

    /// Stops and restarts a broker of the test's own (not the shared one: other tests use that).
    @Test(.enabled(if: TestBroker.isConfigured, TestBroker.skipReason))
    func publisherAndConsumerRecoverWhenTheBrokerComesBack() async throws {
        let broker = try PrivateBroker()
        try await broker.start()
        let topology = uniqueTopology("outage")
        let publisher = AMQPPublisher(
            endpoint: broker.endpoint, topology: topology, confirmTimeout: .seconds(2), logger: testLogger)
        let consumer = AMQPConsumer(endpoint: broker.endpoint, topology: topology, prefetch: 10, logger: testLogger)
        do {
            try await publisher.publish([bytes("before")], type: nil)
            // Delivered but not acknowledged when the broker goes down.
            let before = try await collect(1, from: consumer)
            #expect(before.map(\.body) == [bytes("before")])

            try await broker.stop()

            let duringPublish = try await within(.seconds(15), "a publish while the broker is down") {
                await attemptPublish(publisher, [bytes("during")])
            }
            #expect(throws: AMQPError.self) { try duringPublish.get() }
            let duringNext = try await within(.seconds(15), "a next() while the broker is down") {
                await attemptNext(consumer, wait: .seconds(1))
            }
            #expect(throws: AMQPError.self) { try duringNext.get() }
            // The old delivery's connection is gone: acking it is ignored, not an error.
            try await consumer.ack(upTo: before[0])

            try await broker.start()

            // The same publisher reconnects by itself (the first publish may still see the old
            // connection's end, so allow a few attempts).
            var lastResult: Result<Void, AMQPError> = .failure(.timedOut)
            for _ in 0..<5 {
                lastResult = try await within(.seconds(15), "a publish after the restart") {
                    await attemptPublish(publisher, [bytes("after")])
                }
                if case .success = lastResult { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            try lastResult.get()

            // Durable queue, persistent messages: "before" survived the restart. So does the
            // consumer, on a new connection.
            let after = try await collect(2, from: consumer, limit: .seconds(20))
            #expect(Set(after.map { text($0.body) }) == ["before", "after"])
            #expect(after.allSatisfy { $0.connection == before[0].connection + 1 })
            try await consumer.ack(upTo: after.last!)
            #expect(try await consumer.next(maxMessages: 10, wait: .milliseconds(300)).isEmpty)
            await consumer.close()
            await publisher.close()
            try await waitForMessageCount(0, in: topology.queue, on: broker.endpoint)
        } catch {
            await consumer.close()
            await publisher.close()
            await broker.remove()
            throw error
        }
        await broker.remove()
    }
}

@Suite("RabbitMQ blocking publishers", .timeLimit(.minutes(10)))
struct BlockedPublisherTests {
    /// Under a resource alarm the broker stops reading from publishers; the publisher must not
    /// hang, must fail fast while the block lasts and publish again once it is lifted.
    @Test(.enabled(if: TestBroker.isConfigured, TestBroker.skipReason))
    func aBlockedBrokerFailsPublishesFastUntilItUnblocks() async throws {
        let broker = try PrivateBroker()
        try await broker.start()
        let topology = uniqueTopology("blocked")
        let publisher = AMQPPublisher(
            endpoint: broker.endpoint, topology: topology, confirmTimeout: .seconds(2), logger: testLogger)
        let consumer = AMQPConsumer(endpoint: broker.endpoint, topology: topology, prefetch: 10, logger: testLogger)
        do {
            try await publisher.publish([bytes("ok")], type: nil)

            // A memory high watermark of 0 raises the memory alarm at once.
            try await broker.rabbitmqctl("set_vm_memory_high_watermark 0")
            let whileBlocked = try await within(.seconds(10), "a publish to a blocking broker") {
                await attemptPublish(publisher, [bytes("held back")])
            }
            guard case .failure(.blocked) = whileBlocked else {
                Issue.record("expected .blocked, got \(whileBlocked)")
                throw StillWaiting(what: "a blocked publish")
            }
            let start = ContinuousClock.now
            let again = await attemptPublish(publisher, [bytes("refused")])
            guard case .failure(.blocked) = again else {
                Issue.record("expected .blocked at once, got \(again)")
                throw StillWaiting(what: "a fast blocked publish")
            }
            #expect(ContinuousClock.now - start < .seconds(1))

            // A new connection learns of the block only by publishing; a batch larger than the
            // socket buffers blocks the write itself, which the watchdog cuts off.
            let bulky = AMQPPublisher(
                endpoint: broker.endpoint, topology: uniqueTopology("bulky"), confirmTimeout: .seconds(2),
                logger: testLogger)
            let big = [UInt8](repeating: 42, count: 1 << 20)
            let bulkyStart = ContinuousClock.now
            let bulkyResult = try await within(.seconds(15), "a large publish to a blocking broker") {
                await attemptPublish(bulky, Array(repeating: big, count: 64))
            }
            #expect(throws: AMQPError.timedOut) { try bulkyResult.get() }
            #expect(ContinuousClock.now - bulkyStart < .seconds(5))
            await bulky.close()

            try await broker.rabbitmqctl("set_vm_memory_high_watermark 0.4")
            var lastResult: Result<Void, AMQPError> = .failure(.timedOut)
            for _ in 0..<50 {
                lastResult = await attemptPublish(publisher, [bytes("after")])
                if case .success = lastResult { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            try lastResult.get()

            // The held-back message was enqueued after all (at least once); the refused one never
            // left the client.
            let received = try await collect(3, from: consumer)
            #expect(received.map { text($0.body) } == ["ok", "held back", "after"])
            try await consumer.ack(upTo: received.last!)
            #expect(try await consumer.next(maxMessages: 10, wait: .milliseconds(300)).isEmpty)
            await consumer.close()
            await publisher.close()
        } catch {
            await consumer.close()
            await publisher.close()
            await broker.remove()
            throw error
        }
        await broker.remove()
    }
}
