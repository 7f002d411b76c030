import ChildProcess
import DayTraderCore
import Foundation
import PostgresNIO
import Reconciliation
import Testing

/// The auditor's reconciliation: the pure comparison, and the `reconcile` program against the
/// real databases, agreeing and then catching a balance and a ledger row changed behind its back.
@Suite(.timeLimit(.minutes(10))) struct ReconciliationTests {
    typealias Movement = Reconciliation.CashMovement

    let accounts = [Reconciliation.Account(user: "alice", cash: 70_00, reservedCash: 30_00, ledgerCash: 70_00, ledgerReservedCash: 30_00)]
    let ledger = [Movement(user: "alice", transactionNum: 1, cents: 100_00), Movement(user: "alice", transactionNum: 2, cents: -30_00)]

    @Test func agreeingRecordsHaveNoDiscrepancy() {
        #expect(Reconciliation.discrepancies(accounts: accounts, ledger: ledger, logged: ledger.reversed()).isEmpty)
    }

    @Test func eachKindOfDisagreementIsFound() {
        var drifted = accounts
        drifted[0].cash += 1
        #expect(Reconciliation.discrepancies(accounts: drifted, ledger: ledger, logged: ledger) == [
            .balanceDiffersFromLedger(user: "alice", column: "cash", balance: 70_01, ledger: 70_00),
            .logDiffersFromCash(user: "alice", logged: 70_00, cash: 70_01),
        ])
        let lost = Reconciliation.discrepancies(accounts: accounts, ledger: ledger, logged: [ledger[0]])
        #expect(lost.contains(.movementNotLogged(ledger[1])))
        let doubled = Reconciliation.discrepancies(accounts: accounts, ledger: ledger, logged: ledger + [ledger[0]])
        #expect(doubled.contains(.loggedWithoutMovement(ledger[0])))
        let stranger = Movement(user: "mallory", transactionNum: 3, cents: 5_00)
        #expect(Reconciliation.discrepancies(accounts: accounts, ledger: ledger, logged: ledger + [stranger])
            .contains(.logDiffersFromCash(user: "mallory", logged: 5_00, cash: nil)))
    }

    @Test func accountTransactionsAreReadFromTheLogsXML() {
        let xml = """
            \t<userCommand>
            \t\t<transactionNum>7</transactionNum>
            \t\t<username>alice</username>
            \t\t<funds>100.00</funds>
            \t</userCommand>
            \t<accountTransaction>
            \t\t<timestamp>1</timestamp>
            \t\t<server>ts1</server>
            \t\t<transactionNum>7</transactionNum>
            \t\t<action>remove</action>
            \t\t<username>alice</username>
            \t\t<funds>30.05</funds>
            \t</accountTransaction>
            """
        #expect(Reconciliation.accountTransactions(inLogXML: xml[...]) == [Movement(user: "alice", transactionNum: 7, cents: -30_05)])
    }

    /// `reconcile` on a fixture's two databases; its exit status and what it printed.
    func reconcile(_ fixture: TradingServerFixture, auditDatabase: String) async -> (Int32, String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-\(UUID().uuidString)").path
        defer { unlink(output) }
        let status = await ChildProcess.runShell("""
            POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=\(TestServices.postgresPort) POSTGRES_USER=daytrader \
            POSTGRES_DATABASE='\(fixture.database)' AUDIT_DATABASE='\(auditDatabase)' \
            '\(AuditServerProcess.binaryDirectory)/reconcile' >'\(output)' 2>&1
            """)
        return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    @Test func theProgramAgreesAfterTradingAndCatchesChangesBehindItsBack() async throws {
        let fixture = try await TradingServerFixture.make()
        let auditDatabase = try await TestServices.freshDatabase()
        fixture.emulator.setPrice(Money(cents: 10_00), for: StockSymbol.unchecked("REC"))
        let alice = Unique.user("alice"), bob = Unique.user("bob")
        try await fixture.withServer { client in
            let audit = try AuditServerProcess(tradingPort: client.port, auditDatabase: auditDatabase, queue: fixture.auditQueue, rabbitMQPort: fixture.rabbitMQPort)
            // `throws` said outright: effect inference does not see the `try`s inside #expect.
            return try await audit.running { () async throws in
                for user in [alice, bob] {
                    #expect(try await client.send("add", ["user": user, "amount": "100.00"]).isOK)
                    #expect(try await client.send("buy", ["user": user, "symbol": "REC", "amount": "35.00"]).isOK)
                }
                #expect(try await client.send("commit-buy", ["user": alice]).isOK)
                #expect(try await client.send("cancel-buy", ["user": bob]).isOK)
                #expect(try await client.send("set-buy-amount", ["user": bob, "symbol": "REC", "amount": "20.00"]).isOK)
                // The DUMPLOG's barrier: every committed event is stored before reconciling.
                #expect(try await audit.dumplog(filename: "all.xml", output: "\(audit.directory)/all.xml") == 200)
            }
        }
        let (agreed, report) = await reconcile(fixture, auditDatabase: auditDatabase)
        #expect(agreed == 0, "\(report)")
        #expect(report.contains("reconcile: OK"), "\(report)")

        try await fixture.withPostgres { postgres in
            try await postgres.query("UPDATE accounts SET cash = cash + 1 WHERE user_id = \(alice)", logger: TestServices.logger)
            try await postgres.query(
                "INSERT INTO ledger (user_id, transaction_num, kind, cash_delta, reserved_cash_delta, shares_delta, reserved_shares_delta, at_ms) VALUES (\(bob), 42, 'add', 5, 0, 0, 0, 0)",
                logger: TestServices.logger
            )
        }
        let (disagreed, found) = await reconcile(fixture, auditDatabase: auditDatabase)
        #expect(disagreed == 1, "\(found)")
        #expect(found.contains("\(alice): cash is 70.01, its ledger sums to 70.00"), "\(found)")
        #expect(found.contains("not in the log: the ledger's \(bob) transactionNum 42: add 0.05"), "\(found)")
    }
}
