import AMQPClient
import DayTraderCore
import Foundation
import Logging
import PostgresNIO

/// Loads the audit pipeline with synthetic events and measures how fast the audit server
/// stores them: publishes `events` events (as the relay does: JSON arrays of `batch` events,
/// confirmed by the broker) and waits until the audit database holds them all.
public struct AuditLoad: Sendable {
    public var events: Int
    public var batch: Int
    public var publishers: Int
    public var users: Int

    public init(events: Int, batch: Int, publishers: Int, users: Int) {
        self.events = events
        self.batch = batch
        self.publishers = publishers
        self.users = users
    }

    public struct Result: Sendable, CustomStringConvertible {
        public var events: Int
        public var publishSeconds: Double
        public var storedSeconds: Double
        public var description: String {
            let published = Double(events) / publishSeconds
            let stored = Double(events) / storedSeconds
            return String(format: "published %d events in %.2f s (%.0f events/s); all stored after %.2f s: %.0f events/s end to end", events, publishSeconds, published, storedSeconds, stored)
        }
    }

    /// The events of command number `n`: a userCommand and, by turns, an account movement,
    /// a quote hit, a cache hit or a rejection, as a replayed workload produces them.
    func eventsOfCommand(_ n: Int64, server: String) -> [AuditEvent] {
        let user = "user\(n % Int64(users))"
        let id = { (suffix: String) in "bench-\(n)-\(suffix)" }
        let at = 1_700_000_000_000 + n
        var made: [AuditEvent] = [.userCommand(id: id("c"), timestamp: at, server: server, transactionNum: n, command: .buy, username: user, stockSymbol: "ABC", funds: Money(cents: 100_00))]
        switch n % 4 {
        case 0: made.append(.accountTransaction(id: id("a"), timestamp: at, server: server, transactionNum: n, action: .remove, username: user, funds: Money(cents: 99_90)))
        case 1: made.append(.quoteServer(id: id("q"), timestamp: at, server: server, transactionNum: n, price: Money(cents: 9_99), stockSymbol: "ABC", username: user, quoteServerTime: at, cryptokey: "bXlrZXkxMjM0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo="))
        case 2: made.append(.systemEvent(id: id("s"), timestamp: at, server: server, transactionNum: n, command: .buy, username: user, stockSymbol: "ABC", funds: Money(cents: 9_99)))
        default: made.append(.errorEvent(id: id("e"), timestamp: at, server: server, transactionNum: n, command: .buy, username: user, stockSymbol: "ABC", funds: Money(cents: 100_00), errorMessage: "insufficient_funds: the benchmark says so"))
        }
        return made
    }

    public func run(endpoint: AMQPEndpoint, topology: AuditTopology, audit: PostgresClient, logger: Logger) async throws -> Result {
        let start = ContinuousClock.now
        let commands = Int64((events + 1) / 2)
        let perPublisher = (commands + Int64(publishers) - 1) / Int64(publishers)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for publisher in 0..<publishers {
                let range = (Int64(publisher) * perPublisher + 1)...min(commands, Int64(publisher + 1) * perPublisher)
                guard !range.isEmpty else { continue }
                group.addTask {
                    let amqp = AMQPPublisher(endpoint: endpoint, topology: topology, logger: logger)
                    let encoder = JSONEncoder()
                    var pending: [AuditEvent] = []
                    var messages: [[UInt8]] = []
                    for n in range {
                        pending += eventsOfCommand(n, server: "bench\(publisher)")
                        if pending.count >= batch {
                            messages.append(Array(try encoder.encode(pending)))
                            pending.removeAll(keepingCapacity: true)
                        }
                        // Several messages per confirm round, as a relay with a backlog sends them.
                        if messages.count == 8 {
                            try await amqp.publish(messages, type: nil)
                            messages.removeAll()
                        }
                    }
                    if !pending.isEmpty { messages.append(Array(try encoder.encode(pending))) }
                    if !messages.isEmpty { try await amqp.publish(messages, type: nil) }
                    await amqp.close()
                }
            }
            try await group.waitForAll()
        }
        let published = ContinuousClock.now - start
        let expected = Int64(commands * 2)
        while try await storedCount(audit, logger: logger) < expected {
            try await Task.sleep(for: .milliseconds(100))
        }
        let stored = ContinuousClock.now - start
        return Result(events: Int(expected), publishSeconds: published.seconds, storedSeconds: stored.seconds)
    }

    private func storedCount(_ audit: PostgresClient, logger: Logger) async throws -> Int64 {
        for try await count in try await audit.query("SELECT count(*) FROM events WHERE id LIKE 'bench-%'", logger: logger).decode(Int64.self) {
            return count
        }
        return 0
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
