import Foundation
import Hummingbird
import Logging
import Reconciliation
import ServiceSupport

/// `GET /internal/ledger?user=<id>` (operations port only, like the audit barrier): the trading
/// database's side of a reconciliation (``Reconciliation/Ledger``: accounts with their
/// ledger's sums, and the ledger rows that moved cash), of one user or, with no `user`, of
/// everyone, for the audit server's `GET /api/reconciliation`, so that it never reads this
/// server's tables.
struct LedgerRoute {
    let source: LedgerSource
    let logger: Logger
    static let path = "/internal/ledger"

    func register(on router: Router<BasicRequestContext>) {
        router.get(RouterPath(Self.path)) { request, _ -> Response in
            let user = request.uri.queryParameters["user"].map(String.init)
            do {
                async let accounts = source.accounts(of: user)
                async let movements = source.movements(of: user)
                let ledger = Reconciliation.Ledger(accounts: try await accounts, movements: try await movements)
                return CommandHTTP.json(.ok, Array(try JSONEncoder().encode(ledger)))
            } catch {
                logger.error("ledger read failed", metadata: ["error": "\(String(reflecting: error))"])
                return CommandHTTP.error(.serviceUnavailable, code: "unavailable", message: "the trading database could not be read; try again")
            }
        }
    }
}
