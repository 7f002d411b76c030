import Logging
import PostgresNIO

/// Reads the trading database's side of ``Reconciliation``, read-only: accounts with their
/// ledger's sums, and the ledger rows that moved spendable cash; of one user, or of everyone.
/// The transaction servers (which own the database) read it for the audit server
/// (`GET /internal/ledger`); the operator's `reconcile` reads it directly.
public struct LedgerSource: Sendable {
    let trading: PostgresClient
    let logger: Logger

    public init(trading: PostgresClient, logger: Logger) {
        self.trading = trading
        self.logger = logger
    }

    /// Every account (`user`'s only, when given) with its ledger's sums.
    public func accounts(of user: String? = nil) async throws -> [Reconciliation.Account] {
        let rows = try await trading.query(
            """
            SELECT a.user_id, a.cash, a.reserved_cash, COALESCE(l.cash, 0)::bigint, COALESCE(l.reserved, 0)::bigint
            FROM accounts a
            LEFT JOIN (SELECT user_id, sum(cash_delta) cash, sum(reserved_cash_delta) reserved FROM ledger
                       WHERE \(user)::text IS NULL OR user_id = \(user) GROUP BY user_id) l USING (user_id)
            WHERE \(user)::text IS NULL OR a.user_id = \(user)
            """,
            logger: logger
        )
        var accounts: [Reconciliation.Account] = []
        for try await (user, cash, reserved, ledgerCash, ledgerReserved) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
            accounts.append(.init(user: user, cash: cash, reservedCash: reserved, ledgerCash: ledgerCash, ledgerReservedCash: ledgerReserved))
        }
        return accounts
    }

    /// Every ledger row (`user`'s only, when given) that moved spendable cash.
    public func movements(of user: String? = nil) async throws -> [Reconciliation.CashMovement] {
        let rows = try await trading.query(
            "SELECT user_id, transaction_num, cash_delta FROM ledger WHERE cash_delta <> 0 AND (\(user)::text IS NULL OR user_id = \(user))",
            logger: logger
        )
        var movements: [Reconciliation.CashMovement] = []
        for try await (user, number, cents) in rows.decode((String, Int64, Int64).self) {
            movements.append(.init(user: user, transactionNum: number, cents: cents))
        }
        return movements
    }
}

/// Reads the audit database's side of ``Reconciliation``, read-only: the accountTransactions
/// the log holds, of one user or of everyone. The audit server reads it for
/// `GET /api/reconciliation`; the operator's `reconcile` reads it directly.
public struct LogSource: Sendable {
    let audit: PostgresClient
    let logger: Logger

    public init(audit: PostgresClient, logger: Logger) {
        self.audit = audit
        self.logger = logger
    }

    /// Every accountTransaction the audit database holds (`user`'s only, when given).
    public func movements(of user: String? = nil) async throws -> [Reconciliation.CashMovement] {
        let rows = try await audit.query(
            "SELECT xml FROM event_groups WHERE strpos(xml, '<accountTransaction>') > 0 AND (\(user)::text IS NULL OR username = \(user))",
            logger: logger
        )
        var movements: [Reconciliation.CashMovement] = []
        for try await xml in rows.decode(String.self) {
            movements += Reconciliation.accountTransactions(inLogXML: xml[...])
        }
        return movements
    }
}
