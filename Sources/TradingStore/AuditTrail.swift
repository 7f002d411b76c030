import DayTraderCore
import Foundation
import PostgresNIO
import Synchronization

/// The audit events of one Postgres transaction, written to the outbox in that transaction, so
/// an event exists exactly when the effect it describes was committed (transactional outbox).
///
/// The relay publishes the outbox to RabbitMQ later; nothing here waits for the broker.
/// (Sendable, behind a lock, only so the transaction's async steps may share it.)
final class AuditTrail: Sendable {
    let server: String
    let now: Timestamp
    private let events = Mutex<[AuditEvent]>([])

    init(server: String, now: Timestamp) {
        self.server = server
        self.now = now
    }

    /// A fresh, globally unique event id.
    private static func newID() -> String { UUID().uuidString.lowercased() }

    func userCommand(_ request: CommandRequest, transactionNum: Int64) {
        if let event = AuditEvent.userCommand(for: request, id: Self.newID(), timestamp: now.unixMillis, server: server, transactionNum: transactionNum) {
            append(event)
        }
    }

    func errorEvent(_ request: CommandRequest, _ rejection: Rejection, transactionNum: Int64) {
        if let event = AuditEvent.errorEvent(for: request, rejection: rejection, id: Self.newID(), timestamp: now.unixMillis, server: server, transactionNum: transactionNum) {
            append(event)
        }
    }

    /// A real hit is a quoteServer event with the quote server's fields verbatim; a price from
    /// the shared cache is a systemEvent naming the command that used it, with the price as funds.
    func quote(_ quote: QuoteInfo, command: CommandName, user: UserID, transactionNum: Int64) {
        if quote.cached {
            append(.systemEvent(
                id: Self.newID(), timestamp: now.unixMillis, server: server, transactionNum: transactionNum,
                command: command, username: user.rawValue, stockSymbol: quote.symbol, filename: nil, funds: quote.price
            ))
        } else {
            append(.quoteServer(
                id: Self.newID(), timestamp: now.unixMillis, server: server, transactionNum: transactionNum,
                price: quote.price, stockSymbol: quote.symbol, username: quote.user ?? user.rawValue,
                quoteServerTime: quote.quoteServerTime, cryptokey: quote.cryptokey
            ))
        }
    }

    /// A change of the user's spendable cash: "add" or "remove", to the cent.
    func cashMovement(cents: Int64, user: UserID, transactionNum: Int64) {
        guard cents != 0 else { return }
        append(.accountTransaction(
            id: Self.newID(), timestamp: now.unixMillis, server: server, transactionNum: transactionNum,
            action: cents > 0 ? .add : .remove, username: user.rawValue, funds: Money(cents: abs(cents))
        ))
    }

    /// Something the system did by itself (an order expiring, a trigger firing), under the
    /// transactionNum of the command that set it up.
    func systemAction(_ command: CommandName, user: UserID, symbol: StockSymbol, funds: Money, transactionNum: Int64) {
        append(.systemEvent(
            id: Self.newID(), timestamp: now.unixMillis, server: server, transactionNum: transactionNum,
            command: command, username: user.rawValue, stockSymbol: symbol.rawValue, filename: nil, funds: funds
        ))
    }

    /// Where a savepoint was taken: a rejected command's partial events are dropped with its effects.
    var mark: Int { events.withLock { $0.count } }

    func rollback(to mark: Int) {
        events.withLock { $0.removeSubrange(mark...) }
    }

    private func append(_ event: AuditEvent) {
        events.withLock { $0.append(event) }
    }

    /// Writes the events to the outbox in one statement, inside the caller's transaction.
    func write(on connection: PostgresConnection, logger: Logger) async throws {
        let events = events.withLock { $0 }
        guard !events.isEmpty else { return }
        let encoder = JSONEncoder()
        let rows = try events.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try await connection.query("INSERT INTO audit_outbox (event) SELECT unnest(\(rows)::text[])", logger: logger)
    }
}
