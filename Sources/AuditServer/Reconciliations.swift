import AsyncHTTPClient
import DayTraderCore
import Foundation
import NIOCore
import Reconciliation

/// `GET /api/reconciliation`: the auditor's check that the money and the log agree
/// (``Reconciliation``), of one user or of everyone, on demand. The trading side comes from the
/// transaction servers (`GET <trading URL>/internal/ledger`), the log's from this server's own
/// database: each service reads only its own tables.
///
/// The ledger is read first, then DUMPLOG's barrier proves every event committed before it
/// stored, then the log is read: every ledger movement read has its event in the log. A command
/// of the user in flight meanwhile can show as a logged movement the ledger read missed; asked
/// again once the user is idle, it is gone (a real discrepancy stays).
struct Reconciliations: Sendable {
    let dumps: DumpService
    let log: LogSource
    /// Where the transaction servers answer (TRADING_URL, no trailing slash).
    let tradingURL: String

    func reconcile(user: UserID?) async throws -> Reconciliation.Report {
        let ledger = try await ledger(of: user)
        try await dumps.awaitEventsInFlight()
        return Reconciliation.Report(user: user?.rawValue, ledger: ledger, logged: try await log.movements(of: user?.rawValue))
    }

    private func ledger(of user: UserID?) async throws -> Reconciliation.Ledger {
        let request = HTTPClientRequest(url: "\(tradingURL)/internal/ledger" + (user.map { "?user=\($0.rawValue)" } ?? ""))
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            body = try await response.body.collect(upTo: 1 << 30)
        } catch {
            throw Rejection(.auditUnavailable, "the transaction servers could not be asked for the ledger (\(error)); try again")
        }
        guard response.status == .ok else {
            throw Rejection(.auditUnavailable, "the transaction servers answered \(response.status.code) for the ledger; try again")
        }
        return try JSONDecoder().decode(Reconciliation.Ledger.self, from: Data(buffer: body))
    }
}
