import AMQPClient
import DayTraderCore
import Foundation
import Logging
import PostgresNIO
import _NIOFileSystem

/// DUMPLOG: the audit log as XML, complete up to the moment the request arrived.
public struct DumpService: Sendable {
    let store: AuditStore
    /// The trading database: its outbox shows which events are still on their way, and its
    /// sequence gives transactionNums to requests that bring none.
    let trading: PostgresClient
    let publisher: any MessagePublishing
    let barriers: DeliveryBarriers
    let dumpDirectory: String
    let serverName: String
    let clock: any TradingClock
    /// How long DUMPLOG waits for events still in flight before it answers audit_unavailable.
    let barrierTimeout: Duration
    let logger: Logger

    /// What a DUMPLOG produced.
    public enum Outcome: Sendable {
        /// The log, complete, at `path`.
        case written(path: String, events: Int, transactionNum: Int64)
        case rejected(CommandReply)
    }

    /// - Parameter bySupervisor: whether the caller proved to be the supervisor; only the
    ///   supervisor may dump the whole log (a user's own log is open to its caller).
    public func dump(_ request: CommandRequest, transactionNum given: Int64?, idempotencyKey: String?, bySupervisor: Bool) async throws -> Outcome {
        let transactionNum = if let given { given } else { try await nextTransactionNum() }
        let now = clock.now().unixMillis
        // With a key, a retried DUMPLOG gets the same event ids, so it is logged once.
        func eventID(_ suffix: String) -> String {
            idempotencyKey.map { "dumplog:\($0):\(suffix)" } ?? UUID().uuidString.lowercased()
        }
        func refuse(_ rejection: Rejection) async throws -> Outcome {
            let error = AuditEvent.errorEvent(for: request, rejection: rejection, id: eventID("error"), timestamp: now, server: serverName, transactionNum: transactionNum)
            try await store.insert(events: error.map { [$0] } ?? [])
            return .rejected(.rejected(rejection, transactionNum: transactionNum, request: request))
        }

        let command = Result { () throws(Rejection) in try Command(validating: request) }
        if let userCommand = AuditEvent.userCommand(for: request, id: eventID("command"), timestamp: now, server: serverName, transactionNum: transactionNum) {
            try await store.insert(events: [userCommand])
        }
        guard case .success(.dumplog(let user, let filename)) = command else {
            if case .failure(let rejection) = command { return try await refuse(rejection) }
            return try await refuse(Rejection(.malformedCommand, "only DUMPLOG is served here"))
        }
        guard user != nil || bySupervisor else {
            return try await refuse(Rejection(.supervisorOnly, "DUMPLOG of the whole log is for the supervisor: send 'Authorization: Bearer <supervisor token>'"))
        }
        do {
            try await awaitEventsInFlight()
        } catch let rejection as Rejection {
            return try await refuse(rejection)
        }
        let path = "\(dumpDirectory)/\(filename.rawValue)"
        let events = try await write(user: user, to: path)
        logger.info("log dumped", metadata: ["path": "\(path)", "events": "\(events)", "user": "\(user?.rawValue ?? "(all)")"])
        return .written(path: path, events: events, transactionNum: transactionNum)
    }

    /// The barrier: returns once every event committed before it began is in the audit
    /// database. First the outbox must have handed all of them to the broker; then a marker
    /// published behind them must come out of the queue, stored past by the consumer.
    func awaitEventsInFlight() async throws {
        let deadline = ContinuousClock.now.advanced(by: barrierTimeout)
        var newest: Int64? = nil
        for try await id in try await trading.query("SELECT max(id) FROM audit_outbox", logger: logger).decode(Int64?.self) {
            newest = id
        }
        if let newest {
            while true {
                var waiting = false
                for try await _ in try await trading.query("SELECT 1 FROM audit_outbox WHERE id <= \(newest) LIMIT 1", logger: logger).decode(Int.self) {
                    waiting = true
                }
                if !waiting { break }
                guard ContinuousClock.now < deadline else {
                    throw Rejection(.auditUnavailable, "audit events are still waiting to be published (is RabbitMQ down?); try again")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let marker = UUID().uuidString.lowercased()
        do {
            try await publisher.publish([Array(marker.utf8)], type: AuditConsumer.barrierType)
        } catch {
            throw Rejection(.auditUnavailable, "the audit queue cannot be reached (\(error)); try again")
        }
        guard await barriers.wait(for: marker, timeout: deadline - ContinuousClock.now) else {
            throw Rejection(.auditUnavailable, "the audit consumer has not caught up yet; try again")
        }
    }

    /// Streams the log to a temporary file beside `path`, then renames it into place, so a
    /// reader never sees half a log. Returns the number of events.
    func write(user: UserID?, to path: String) async throws -> Int {
        let temporary = "\(path).\(UUID().uuidString.lowercased()).partial"
        var count = 0
        do {
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(temporary), options: .newFile(replaceExisting: true)) { file in
                try await file.withBufferedWriter { writer in
                    var chunk = AuditLogXML.header
                    chunk.reserveCapacity(Self.chunkBytes + 4_096)
                    try await store.forEachEvent(of: user?.rawValue) { event in
                        AuditLogXML.append(event, to: &chunk)
                        count += 1
                        if chunk.count >= Self.chunkBytes {
                            try await writer.write(contentsOf: chunk)
                            chunk.removeAll(keepingCapacity: true)
                        }
                    }
                    chunk.append(contentsOf: AuditLogXML.footer)
                    try await writer.write(contentsOf: chunk)
                }
            }
            try await FileSystem.shared.replaceItem(at: FilePath(path), withItemAt: FilePath(temporary))
        } catch {
            _ = try? await FileSystem.shared.removeItem(at: FilePath(temporary))
            throw error
        }
        return count
    }

    static let chunkBytes = 256 * 1024

    private func nextTransactionNum() async throws -> Int64 {
        for try await next in try await trading.query("SELECT nextval('transaction_numbers')", logger: logger).decode(Int64.self) {
            return next
        }
        throw Rejection(.auditUnavailable, "the trading database gave no transaction number")
    }
}
