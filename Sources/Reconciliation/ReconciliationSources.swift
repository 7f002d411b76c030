import Logging
import PostgresNIO

/// Reads what ``Reconciliation`` compares, read-only: the trading database's accounts and
/// ledger, and the audit database's accountTransactions. Run it when no command is in flight
/// and after a DUMPLOG (whose barrier proves every committed event stored).
public struct ReconciliationSources: Sendable {
    let trading: PostgresClient
    let audit: PostgresClient
    let logger: Logger

    public init(trading: PostgresClient, audit: PostgresClient, logger: Logger) {
        self.trading = trading
        self.audit = audit
        self.logger = logger
    }

    /// Every account with its ledger's sums.
    public func accounts() async throws -> [Reconciliation.Account] {
        let rows = try await trading.query(
            """
            SELECT a.user_id, a.cash, a.reserved_cash, COALESCE(l.cash, 0)::bigint, COALESCE(l.reserved, 0)::bigint
            FROM accounts a
            LEFT JOIN (SELECT user_id, sum(cash_delta) cash, sum(reserved_cash_delta) reserved FROM ledger GROUP BY user_id) l USING (user_id)
            """,
            logger: logger
        )
        var accounts: [Reconciliation.Account] = []
        for try await (user, cash, reserved, ledgerCash, ledgerReserved) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
            accounts.append(.init(user: user, cash: cash, reservedCash: reserved, ledgerCash: ledgerCash, ledgerReservedCash: ledgerReserved))
        }
        return accounts
    }

    /// Every ledger row that moved spendable cash.
    public func ledgerMovements() async throws -> [Reconciliation.CashMovement] {
        let rows = try await trading.query("SELECT user_id, transaction_num, cash_delta FROM ledger WHERE cash_delta <> 0", logger: logger)
        var movements: [Reconciliation.CashMovement] = []
        for try await (user, number, cents) in rows.decode((String, Int64, Int64).self) {
            movements.append(.init(user: user, transactionNum: number, cents: cents))
        }
        return movements
    }

    /// Every accountTransaction the audit database holds.
    public func loggedMovements() async throws -> [Reconciliation.CashMovement] {
        let rows = try await audit.query("SELECT xml FROM event_groups WHERE strpos(xml, '<accountTransaction>') > 0", logger: logger)
        var movements: [Reconciliation.CashMovement] = []
        for try await xml in rows.decode(String.self) {
            movements += Reconciliation.accountTransactions(inLogXML: xml[...])
        }
        return movements
    }
}
