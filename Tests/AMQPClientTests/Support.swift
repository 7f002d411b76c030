import ChildProcess
import Foundation
import Logging
import Synchronization
import Testing
import TimeLimits

@testable import AMQPClient

/// The shared test broker, started by `make test` (`scripts/services.sh start`), on 127.0.0.1 at
/// `DAYTRADER_TEST_RABBITMQ_PORT`.
enum TestBroker {
    static let port: Int? = ProcessInfo.processInfo.environment["DAYTRADER_TEST_RABBITMQ_PORT"].flatMap { Int($0) }

    /// Whether the suites that need a broker run; they are skipped with this explanation if not.
    static let isConfigured = port != nil
    static let skipReason: Comment = """
        DAYTRADER_TEST_RABBITMQ_PORT is not set: start RabbitMQ with `scripts/services.sh start RUN_DIR` \
        and export its port (`make test` does both)
        """

    static var endpoint: AMQPEndpoint {
        AMQPEndpoint(port: port ?? 5672)
    }
}

let testLogger = Logger(label: "AMQPClientTests")

/// A topology of its own for one test, so tests can share one broker in parallel.
func uniqueTopology(_ name: String) -> AuditTopology {
    let prefix = "test.\(name).\(UUID().uuidString.prefix(8))"
    return AuditTopology(
        exchange: "\(prefix).audit", queue: "\(prefix).events", routingKey: "event",
        deadLetterExchange: "\(prefix).dead", deadLetterQueue: "\(prefix).dead")
}

/// A connection of its own for looking into the broker (counting, fetching, deleting).
/// Blocking C calls: fine for the few short calls of a test.
func inspect<T>(_ endpoint: AMQPEndpoint = TestBroker.endpoint, _ body: (AMQPConnection) throws -> T) throws -> T {
    let connection = try AMQPConnection.connect(to: endpoint, name: "AMQPClientTests inspection").get()
    defer { connection.close() }
    return try body(connection)
}

/// Deletes a test's topology (best effort).
func deleteTopology(_ topology: AuditTopology, on endpoint: AMQPEndpoint = TestBroker.endpoint) {
    _ = try? inspect(endpoint) { $0.delete(topology) }
}

/// Waits until `queue` holds `count` ready messages (dead-lettering is asynchronous).
func waitForMessageCount(
    _ count: UInt32, in queue: String, on endpoint: AMQPEndpoint = TestBroker.endpoint, limit: Duration = .seconds(10)
) async throws {
    let deadline = ContinuousClock.now + limit
    while true {
        let current = try inspect(endpoint) { try $0.messageCount(in: queue).get() }
        if current == count { return }
        guard ContinuousClock.now < deadline else {
            throw StillWaiting(what: "\(count) messages in \(queue) (there are \(current))")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Takes deliveries until there are `count` of them (or throws after `limit`).
func collect(
    _ count: Int, from consumer: AMQPConsumer, limit: Duration = .seconds(15)
) async throws -> [AMQPDelivery] {
    let deadline = ContinuousClock.now + limit
    var deliveries: [AMQPDelivery] = []
    while deliveries.count < count {
        guard ContinuousClock.now < deadline else {
            throw StillWaiting(what: "\(count) deliveries (got \(deliveries.count))")
        }
        deliveries += try await consumer.next(maxMessages: count - deliveries.count, wait: .milliseconds(500))
    }
    return deliveries
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }


/// The outcome of a publish, as a value (so it can cross `within`).
func attemptPublish(_ publisher: AMQPPublisher, _ bodies: [[UInt8]]) async -> Result<Void, AMQPError> {
    do {
        try await publisher.publish(bodies, type: nil)
        return .success(())
    } catch {
        return .failure(error)
    }
}

/// The outcome of a `next`, as a value.
func attemptNext(_ consumer: AMQPConsumer, wait: Duration) async -> Result<[AMQPDelivery], AMQPError> {
    do {
        return .success(try await consumer.next(maxMessages: 10, wait: wait))
    } catch {
        return .failure(error)
    }
}

// MARK: A private broker

/// A RabbitMQ node of a test's own, in a temporary run directory on free ports, started and
/// stopped with `scripts/services.sh start-rabbitmq|stop-rabbitmq` (so a test can stop and
/// restart it without disturbing the shared test broker).
final class PrivateBroker: Sendable {
    let port: Int
    let runDirectory: String

    init() throws {
        port = try freePort(alsoFree: 5)  // services.sh puts the distribution port at PORT + 5
        runDirectory = FileManager.default.temporaryDirectory.appending(path: "amqp-test-\(UUID().uuidString)").path
    }

    var endpoint: AMQPEndpoint { AMQPEndpoint(port: port) }

    func start() async throws { try await services("start-rabbitmq") }
    func stop() async throws { try await services("stop-rabbitmq") }
    /// Runs `rabbitmqctl` with these (shell-safe) arguments against the node.
    func rabbitmqctl(_ arguments: String) async throws { try await services("rabbitmqctl", arguments) }

    /// Stops the node (if running) and removes its directory.
    func remove() async {
        try? await stop()
        try? FileManager.default.removeItem(atPath: runDirectory)
        try? FileManager.default.removeItem(atPath: "\(runDirectory).log")
    }

    private func services(_ action: String, _ arguments: String = "") async throws {
        let script = repositoryRoot.appending(path: "scripts/services.sh").path
        let command =
            "RABBITMQ_PORT=\(port) '\(script)' \(action) '\(runDirectory)' \(arguments) >>'\(runDirectory).log' 2>&1"
        let status = await ChildProcess.runShell(command)
        guard status == 0 else {
            let log = (try? String(contentsOfFile: "\(runDirectory).log", encoding: .utf8)) ?? ""
            throw ServicesFailed(action: action, status: status, log: log)
        }
    }
}

struct ServicesFailed: Error, CustomStringConvertible {
    let action: String
    let status: Int32
    let log: String
    var description: String { "services.sh \(action) exited with \(status):\n\(log)" }
}

private let repositoryRoot = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

