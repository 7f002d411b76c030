import ArgumentParser
import Configuration
import Logging
import PostgresNIO
import Reconciliation
import ServiceSupport

/// `reconcile`: the auditor's check that the trading ledger, the balances and the audit log
/// agree (``Reconciliation``). Reads both databases read-only, from the same environment
/// variables as the servers (POSTGRES_*, POSTGRES_DATABASE, AUDIT_DATABASE).
@main
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Checks that every balance equals its ledger, and that the ledger's cash movements and the audit log's accountTransactions match one for one.",
        discussion: "Exit status: 0 when everything agrees; 1 on any discrepancy (the first are printed); 2 when a database cannot be read."
    )

    @Option(help: "How many discrepancies to print.")
    var show = 20

    func run() async throws {
        let config = ConfigReader(provider: EnvironmentVariablesProvider())
        var logger = Logger(label: "reconcile")
        logger.logLevel = .warning
        // An auditor's tool: its sessions can change nothing.
        func readOnly(_ database: String) -> PostgresClient {
            var configuration = PostgresClient.Configuration(reader: config, database: database)
            configuration.options.additionalStartupParameters.append(("default_transaction_read_only", "on"))
            return PostgresClient(configuration: configuration, backgroundLogger: logger)
        }
        let trading = readOnly(config.string(forKey: "postgres.database", default: "daytrader"))
        let audit = readOnly(config.string(forKey: "audit.database", default: "audit"))
        let found: [Reconciliation.Discrepancy]
        let counts: (accounts: Int, ledger: Int, logged: Int)
        do {
            (found, counts) = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await trading.run() }
                group.addTask { await audit.run() }
                defer { group.cancelAll() }
                let ledgerSource = LedgerSource(trading: trading, logger: logger), logSource = LogSource(audit: audit, logger: logger)
                async let accounts = ledgerSource.accounts()
                async let ledger = ledgerSource.movements()
                async let logged = logSource.movements()
                let (a, l, g) = try await (accounts, ledger, logged)
                return (Reconciliation.discrepancies(accounts: a, ledger: l, logged: g), (a.count, l.count, g.count))
            }
        } catch {
            print("reconcile: a database could not be read: \(String(reflecting: error))")
            throw ExitCode(2)
        }
        let summary = "\(counts.accounts) accounts, \(counts.ledger) ledger cash movements, \(counts.logged) accountTransactions"
        guard found.isEmpty else {
            print("reconcile: \(found.count) discrepancies in \(summary); the first:")
            for discrepancy in found.prefix(show) { print("  \(discrepancy)") }
            throw ExitCode(1)
        }
        print("reconcile: OK: \(summary); every balance equals its ledger, and the ledger and the log match one for one")
    }
}
