import AMQPClient
import DayTraderCore
import Foundation
import Logging
import PostgresNIO

/// Loads the audit pipeline with synthetic records and measures how fast the audit server
/// stores their events: publishes records worth `events` events (as the relay does: JSON arrays
/// of records, `batch` events' worth per message, confirmed by the broker) and waits until the
/// audit database holds them all.
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

    /// The record of command number `n`, two events each, by turns: an ADD (its userCommand and
    /// accountTransaction), a QUOTE that hit the quote server, a QUOTE from the cache, and a
    /// refused COMMIT_BUY (its userCommand and errorEvent), as a replayed workload produces them.
    func recordOfCommand(_ n: Int64, server: String) -> TransactionRecord {
        let user = "user\(n % Int64(users))"
        let at = 1_700_000_000_000 + n
        let id = "00000000-0000-4000-8000-" + String(String(n, radix: 16).suffix(12)).leftPadded(to: 12)
        var result = RecordResult(transactionNum: n, code: RecordResult.ok)
        let request: CommandRequest
        var quote: QuoteInfo?
        switch n % 4 {
        case 0:
            request = CommandRequest(name: "ADD", user: user, amount: "100.00")
            result.version = 1
            result.cash = 100_00
            result.reservedCash = 0
            result.ledger = [LedgerRow(kind: .add, symbol: nil, cash: 100_00, transactionNum: n)]
        case 1, 2:
            request = CommandRequest(name: "QUOTE", user: user, symbol: "ABC")
            quote = QuoteInfo(
                symbol: "ABC", price: Money(cents: 9_99), quoteServerTime: at, cryptokey: "bXlrZXkxMjM0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=",
                user: user, cached: n % 4 == 2, expiresAt: at + 60_000
            )
        default:
            request = CommandRequest(name: "COMMIT_BUY", user: user)
            result.code = Rejection.Code.noPendingBuy.rawValue
        }
        return TransactionRecord(head: .command(request, id: id, server: server, at: at, quote: quote), result: result)
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
                    var pending: [TransactionRecord] = []
                    var messages: [[UInt8]] = []
                    for n in range {
                        pending.append(recordOfCommand(n, server: "bench\(publisher)"))
                        if pending.count * 2 >= batch {
                            messages.append(Array(("[" + pending.map(\.json).joined(separator: ",") + "]").utf8))
                            pending.removeAll(keepingCapacity: true)
                        }
                        // Several messages per confirm round, as a relay with a backlog sends them.
                        if messages.count == 8 {
                            try await amqp.publish(messages, type: nil)
                            messages.removeAll()
                        }
                    }
                    if !pending.isEmpty { messages.append(Array(("[" + pending.map(\.json).joined(separator: ",") + "]").utf8)) }
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
        // The benchmark's database is its own: every stored event is one of its.
        for try await count in try await audit.query("SELECT coalesce(sum(events), 0)::bigint FROM event_groups", logger: logger).decode(Int64.self) {
            return count
        }
        return 0
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension String {
    func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
