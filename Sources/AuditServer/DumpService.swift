import AMQPClient
import DayTraderCore
import Foundation
import Logging
import PostgresNIO

/// Whether every record the transaction servers committed before a moment has left their outbox
/// (the broker confirmed it). The transaction servers own the outbox; the audit server asks them
/// (`HTTPOutboxBarrier`) rather than reading their database.
public protocol OutboxBarrier: Sendable {
    /// True once every record committed before the call has been relayed; false if that has not
    /// happened within `timeout`.
    func awaitRelayed(within timeout: Duration) async throws -> Bool
}

/// DUMPLOG: the audit log as XML, complete up to the moment the request arrived.
public struct DumpService: Sendable {
    let store: AuditStore
    let outbox: any OutboxBarrier
    let publisher: any MessagePublishing
    let barriers: DeliveryBarriers
    let files: DumpFiles
    let slots: DumpSlots
    let serverName: String
    let clock: any TradingClock
    /// How long DUMPLOG waits for events still in flight before it answers audit_unavailable.
    let barrierTimeout: Duration
    let logger: Logger

    /// What a DUMPLOG produced.
    public enum Outcome: Sendable {
        /// The log, complete, written (and open for reading: the receiver closes it).
        case written(WrittenDump, events: Int, transactionNum: Int64)
        case rejected(CommandReply)
    }

    /// - Parameter caller: who asks (``Access`` says for whom they may dump: the whole log is
    ///   the service's and a supervisor's only) and whether they may choose `transactionNum`
    ///   (``Access/mayNumberCommands(_:)``).
    public func dump(_ request: CommandRequest, transactionNum clientNumber: Int64?, idempotencyKey: String?, caller: Caller) async throws -> Outcome {
        let now = clock.now().unixMillis
        let given = Access.mayNumberCommands(caller) ? clientNumber : nil
        var transactionNum = if let given { given } else { try await store.nextDumpTransactionNum() }
        // With a key, every attempt logs its outcome under one record id, which the audit store
        // keeps once: a retry is logged once however the first attempt ended, and keeps its number.
        // The key is the caller's own (``Caller/keyOwner(actingFor:)``).
        var recordID = RecordID.next()
        if let idempotencyKey {
            let key = caller.keyOwner(actingFor: request.user).scope(idempotencyKey)
            switch try await store.claimDumpKey(key, fingerprint: request.fingerprint(transactionNum: given), transactionNum: transactionNum, recordID: recordID, at: now) {
            case .claimed(let id):
                recordID = id
            case .retry(let first, let id):
                transactionNum = first
                recordID = id
            case .usedForAnotherRequest:
                return try await refuse(request, .keyReused, transactionNum: transactionNum, at: now, id: RecordID.next())
            }
        }
        let command: Command
        do {
            command = try Command(validating: request)
        } catch {
            return try await refuse(request, error, transactionNum: transactionNum, at: now, id: recordID)
        }
        guard case .dumplog(let user, let filename) = command else {
            return try await refuse(request, Rejection(.malformedCommand, "only DUMPLOG is served here"), transactionNum: transactionNum, at: now, id: recordID)
        }
        if let refusal = Access.refusal(of: .dumplog, for: request.user, by: caller) {
            return try await refuse(request, refusal, transactionNum: transactionNum, at: now, id: recordID)
        }
        let directory = files.directory(for: caller, user: user)
        await slots.acquire()
        let written: Result<(WrittenDump, Int), any Error>
        do {
            try files.prepare(directory)
            try await awaitEventsInFlight()
            try await store.insert([record(of: request, transactionNum: transactionNum, at: now, rejection: nil, id: recordID)])
            written = .success(try await write(user: user, named: filename.rawValue, in: directory))
        } catch {
            written = .failure(error)
        }
        await slots.release()
        switch written {
        case .success(let (dump, events)):
            logger.info("log dumped", metadata: ["path": "\(dump.path)", "events": "\(events)", "user": "\(user?.rawValue ?? "(all)")"])
            return .written(dump, events: events, transactionNum: transactionNum)
        case .failure(let rejection as Rejection):
            // Each such answer is logged (a retry may succeed), as every quote_unavailable is.
            return try await refuse(request, rejection, transactionNum: transactionNum, at: now, id: RecordID.next())
        case .failure(let error):
            throw error
        }
    }

    /// The DUMPLOG's own record: its userCommand, and its errorEvent when refused.
    private func record(of request: CommandRequest, transactionNum: Int64, at now: Int64, rejection: Rejection?, id: String) -> TransactionRecord {
        TransactionRecord(
            head: .command(request, id: id, server: serverName, at: now, refusal: rejection.map { LogText.safe($0.message) }),
            result: RecordResult(transactionNum: transactionNum, code: rejection?.code.rawValue ?? RecordResult.ok)
        )
    }

    private func refuse(_ request: CommandRequest, _ rejection: Rejection, transactionNum: Int64, at now: Int64, id: String) async throws -> Outcome {
        let record = record(of: request, transactionNum: transactionNum, at: now, rejection: rejection, id: id)
        try await store.insert([record])
        return .rejected(record.reply)
    }

    /// The barrier: returns once every event committed before it began is in the audit
    /// database. First the transaction servers' outbox must have handed all of them to the
    /// broker; then a marker published behind them must come out of the queue, stored past by
    /// the consumer. Refuses (audit_unavailable) while records that could not be stored exist:
    /// the log would not be complete.
    func awaitEventsInFlight() async throws {
        let deadline = ContinuousClock.now.advanced(by: barrierTimeout)
        let relayed: Bool
        do {
            relayed = try await outbox.awaitRelayed(within: barrierTimeout)
        } catch {
            throw Rejection(.auditUnavailable, "the transaction servers could not be asked whether every event was sent (\(error)); try again")
        }
        guard relayed else {
            throw Rejection(.auditUnavailable, "audit events are still waiting to be published (is RabbitMQ down?); try again")
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
        let refused = try await store.refusedRecordCount()
        guard refused == 0 else {
            throw Rejection(.auditUnavailable, "\(refused) audit record(s) could not be stored as events (see the audit database's refused_records); the log would not be complete")
        }
    }

    /// Streams the log (`user`'s, or the whole) into `filename` in `directory` (``DumpFiles``).
    /// Returns the file and the number of events.
    func write(user: UserID?, named filename: String, in directory: String) async throws -> (WrittenDump, Int) {
        var count = 0
        let dump = try await files.write(filename, in: directory) { writer in
            var chunk = AuditLogXML.header
            chunk.reserveCapacity(Self.chunkBytes + 4_096)
            try await store.forEachGroup(of: user?.rawValue) { xml, events in
                chunk.append(contentsOf: xml.utf8)
                count += events
                if chunk.count >= Self.chunkBytes {
                    try await writer.write(contentsOf: chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            chunk.append(contentsOf: AuditLogXML.footer)
            try await writer.write(contentsOf: chunk)
        }
        return (dump, count)
    }

    static let chunkBytes = 256 * 1024
}

extension AuditStore {
    /// A transactionNum for a DUMPLOG that brought none, from the audit database's own range.
    func nextDumpTransactionNum() async throws -> Int64 {
        for try await next in try await client.query("SELECT nextval('dump_transaction_numbers')", logger: logger).decode(Int64.self) {
            return next
        }
        throw Rejection(.auditUnavailable, "the audit database gave no transaction number")
    }

    /// Whose a DUMPLOG's key is. The key's record id is the same for every attempt (made when
    /// the key is first claimed, kept with it), so each attempt logs its outcome and the store
    /// keeps it once.
    enum DumpKeyClaim {
        case claimed(recordID: String)
        /// The key's first request was this same one, with this transactionNum.
        case retry(transactionNum: Int64, recordID: String)
        case usedForAnotherRequest
    }

    /// Claims a DUMPLOG's idempotency key (scoped to its caller) for this request, with a new
    /// record id, or says who has it.
    func claimDumpKey(_ key: String, fingerprint: String, transactionNum: Int64, recordID: String, at now: Int64) async throws -> DumpKeyClaim {
        let rows = try await client.query(
            """
            WITH claimed AS (
                INSERT INTO dump_requests (idempotency_key, fingerprint, transaction_num, at_ms, record_id)
                VALUES (\(key), \(fingerprint), \(transactionNum), \(now), \(recordID)::uuid) ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1
            )
            SELECT (SELECT count(*) FROM claimed)::bigint, d.fingerprint, d.transaction_num, d.record_id::text
            FROM (SELECT 1) one LEFT JOIN dump_requests d ON d.idempotency_key = \(key)
            """,
            logger: logger
        )
        for try await (claimed, storedFingerprint, storedNumber, storedID) in rows.decode((Int64, String?, Int64?, String?).self) {
            guard claimed == 0, let storedFingerprint, let storedNumber, let storedID else { return .claimed(recordID: recordID) }
            return storedFingerprint == fingerprint ? .retry(transactionNum: storedNumber, recordID: storedID) : .usedForAnotherRequest
        }
        throw Rejection(.auditUnavailable, "the audit database did not answer the key's claim")
    }
}
