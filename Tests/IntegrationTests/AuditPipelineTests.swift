import DayTraderCore
import Foundation
import PostgresNIO
import Testing

/// The audit trail end to end: transaction server, outbox, relay, RabbitMQ, audit server,
/// DUMPLOG; with the broker stopped, and with the audit server killed, in the middle.
@Suite(.timeLimit(.minutes(30))) struct AuditPipelineTests {
    static let courseSchema = WorkloadReplayTests.workloads.deletingLastPathComponent().appendingPathComponent("logfile-current.xsd").path
    static let projectSchema = AuditServerProcess.repositoryRoot.appendingPathComponent("audit/logfile.xsd").path

    enum Disruption: String, CaseIterable, CustomTestStringConvertible {
        case none, brokerStopped, auditServerKilled
        var testDescription: String { rawValue }
    }

    @Test(
        .enabled(if: WorkloadReplayTests.available, "../shared/course is absent: the course workload files and schema are not beside the repo"),
        arguments: Disruption.allCases
    )
    func tenUserReplayLeavesAnExactLog(disruption: Disruption) async throws {
        let lines = try WorkloadReplayTests.lines(of: "10User_testWorkLoad")
        let dumpLine = try #require(lines.last)
        #expect(dumpLine.request.name == CommandName.dumplog.rawValue)
        let commands = Array(lines.dropLast())

        // A broker of its own when the test stops it; the shared one otherwise.
        let broker = disruption == .brokerStopped ? try PrivateRabbitMQ() : nil
        try await broker?.start()
        try await withCleanup {
            // A fixed clock: no order expires and no quote goes stale, however slow the replay, so
            // nothing moves between the last reply and the DUMPLOG (no trigger fires on its own).
            let fixture = try await TradingServerFixture.make(clock: ManualClock(), rabbitMQPort: broker?.port)
            let auditDatabase = try await TestServices.freshDatabase()
            let progress = ReplayProgress()
            let (replies, status, audit) = try await fixture.withServer { client in
                // The audit server asks this transaction server for DUMPLOG's barrier.
                let audit = try AuditServerProcess(tradingPort: client.port, auditDatabase: auditDatabase, queue: fixture.auditQueue, rabbitMQPort: fixture.rabbitMQPort)
                return try await audit.running {
                    async let replied = WorkloadReplayTests.replay(commands, through: client, answered: progress)
                    switch disruption {
                    case .none:
                        break
                    case .brokerStopped:
                        try await progress.wait(for: 2_000)
                        await broker?.stop()
                        try await progress.wait(for: 5_000)
                        let waiting = try await fixture.withPostgres { try await Self.outboxSize($0) }
                        #expect(waiting > 0, "with the broker down, events wait in the outbox")
                        try await broker?.start()
                    case .auditServerKilled:
                        try await progress.wait(for: 3_000)
                        await audit.kill9()
                        try await progress.wait(for: 5_000)
                        try await audit.start()
                    }
                    let replies = try await replied
                    let status = try await audit.dumplog(
                        filename: dumpLine.request.filename ?? "", transactionNum: dumpLine.lineNumber, idempotencyKey: "dump-\(fixture.database)",
                        output: "\(audit.directory)/response.xml"
                    )
                    return (replies, status, audit)
                }
            }
            let output = "\(audit.directory)/response.xml"
            #expect(replies.count == commands.count, "every line gets a response")
            #expect(replies.values.allSatisfy { $0.status.code < 500 }, "no line failed")
            try #require(status == 200, "DUMPLOG answered \(status): \((try? String(contentsOfFile: output, encoding: .utf8))?.prefix(500) ?? "")")
            let written = "\(audit.dumpDirectory)/service/testLOG"
            #expect(FileManager.default.contentsEqual(atPath: written, andPath: output), "the file and the response are the same log")

            let log = try await Self.checkWholeLog(output, of: lines)

            let cash = try await fixture.cashByUser()
            #expect(cash.count == 10)
            #expect(log.cashByUser == cash, "for every user, the log's adds minus removes are the final cash")

            let negativeAdd = log.events.filter { $0.transactionNum == 9962 }
            #expect(negativeAdd.contains { $0.kind == "errorEvent" }, "the negative ADD has an errorEvent")
            #expect(negativeAdd.filter { $0.kind == "userCommand" }.map { $0.fields["funds"] } == ["-73280.58"], "its userCommand holds the amount as sent")
            #expect(negativeAdd.first { $0.kind == "errorEvent" }?.fields["errorMessage"]?.contains("negative") == true, "and the errorEvent says why")
            #expect(!negativeAdd.contains { $0.kind == "accountTransaction" }, "and moves no money")
            #expect(try await fixture.withPostgres { try await Self.outboxSize($0) } == 0, "the outbox is empty")
        } cleanup: {
            await broker?.stop()
        }
    }

    /// Issue 11's reproduction: text the log cannot hold (a NUL, control characters) in one
    /// request among 200 concurrent ADDs. Every request is logged, its text replaced and said so,
    /// and no other event is lost; a record that could not be stored makes DUMPLOG refuse.
    @Test func textTheLogCannotHoldTakesNoEventWithIt() async throws {
        let fixture = try await TradingServerFixture.make()
        let auditDatabase = try await TestServices.freshDatabase()
        let users = (0..<200).map { _ in Unique.user("nul") }
        let output = try await fixture.withServer { (client: CommandClient) async throws -> String in
            let audit = try AuditServerProcess(tradingPort: client.port, auditDatabase: auditDatabase, queue: fixture.auditQueue, rabbitMQPort: fixture.rabbitMQPort)
            return try await audit.running {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, user) in users.enumerated() {
                        group.addTask {
                            try await client.withConnection { connection in
                                #expect(try await connection.send("add", ["user": user, "amount": "1.00"]).isOK)
                                if index == 100 {
                                    let bad = try await connection.send("add", ["user": "x\u{0}y\u{1B}z", "amount": "1.00"])
                                    #expect(bad.errorCode == "invalid_user_id", "\(bad)")
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let output = "\(audit.directory)/all.xml"
                #expect(try await audit.dumplog(filename: "all.xml", output: output) == 200)

                // An event that could not be stored: DUMPLOG refuses to call the log complete.
                _ = try await TestServices.withPostgres(database: auditDatabase) { postgres in
                    try await postgres.query("INSERT INTO refused_records (id, reason, record) VALUES ('test', 'a test', '{}')", logger: TestServices.logger)
                }
                let refusal = "\(audit.directory)/refused.json"
                #expect(try await audit.dumplog(filename: "refused.xml", output: refusal) == 503)
                #expect((try String(contentsOfFile: refusal, encoding: .utf8)).contains("audit_unavailable"))
                return output
            }
        }
        #expect(await schemaProblems(output, schema: Self.projectSchema) == nil)
        let log = try ParsedLog(path: output)
        let commands = log.events.filter { $0.kind == "userCommand" }
        #expect(Set(users).isSubset(of: Set(commands.compactMap { $0.fields["username"] })), "another user's ADD was lost")
        #expect(commands.count == 202, "200 ADDs, the refused one and the DUMPLOG")
        let error = log.events.first { $0.kind == "errorEvent" && $0.fields["command"] == "ADD" }
        #expect(error?.fields["errorMessage"]?.contains("replaced") == true, "\(String(describing: error))")
    }

    @Test func perUserDumpHoldsThatUserOnlyAndFileNamesCannotEscape() async throws {
        let fixture = try await TradingServerFixture.make(clock: ManualClock())
        let auditDatabase = try await TestServices.freshDatabase()
        let alice = Unique.user("alice"), bob = Unique.user("bob")
        fixture.emulator.setPrice(Money(cents: 10_00), for: StockSymbol.unchecked("ABC"))
        let audit = try await fixture.withServer { (client: CommandClient) async throws -> AuditServerProcess in
            let audit = try AuditServerProcess(
                tradingPort: client.port, auditDatabase: auditDatabase, queue: fixture.auditQueue, rabbitMQPort: fixture.rabbitMQPort
            )
            // `throws` said outright: effect inference does not see the `try`s inside #expect.
            return try await audit.running { () async throws in
                let refused = "\(audit.directory)/refused.json"
                let own = "\(audit.directory)/alice.xml"
                let all = "\(audit.directory)/all.xml"
                for user in [alice, bob] {
                    #expect(try await client.send("add", ["user": user, "amount": "1000.00"]).isOK)
                    #expect(try await client.send("buy", ["user": user, "symbol": "ABC", "amount": "100.00"]).isOK)
                    #expect(try await client.send("commit-buy", ["user": user]).isOK)
                    #expect(try await client.send("display-summary", ["user": user]).isOK)
                    #expect(try await client.send("sell", ["user": user, "symbol": "ABCD", "amount": "1.00"]).errorCode == "invalid_symbol")
                }
                #expect(try await audit.dumplog(filename: "../..", output: refused) == 400)
                #expect(try await audit.dumplog(user: alice, filename: "../../etc/x", token: nil, output: own) == 200)
                #expect(try await audit.dumplog(filename: "all.xml", token: nil, output: all) == 403, "the whole log is closed to a caller with no credentials, sign-in on or off")
                #expect(try await audit.dumplog(filename: "all.xml", token: "wrong", output: all) == 401, "a wrong token proves no one")
                // A keyed DUMPLOG sent twice is logged once, refused or not.
                for _ in 0..<2 {
                    #expect(try await audit.dumplog(user: alice, filename: "again.xml", idempotencyKey: "again-\(fixture.database)", token: nil, output: "\(audit.directory)/again.xml") == 200)
                    #expect(try await audit.dumplog(filename: "denied.xml", idempotencyKey: "denied-\(fixture.database)", token: nil, output: "\(audit.directory)/denied.json") == 403)
                }
                // With sign-in off, a caller with no credentials shares the service's keys (both act
                // for the user named): the service's request under the refused key is its retry,
                // served now and logged under the first attempt's record.
                #expect(try await audit.dumplog(filename: "denied.xml", idempotencyKey: "denied-\(fixture.database)", output: "\(audit.directory)/denied.xml") == 200)
                // A key is its user's: alice's is not bob's, so this is served and logged on its own.
                #expect(try await audit.dumplog(user: bob, filename: "again.xml", idempotencyKey: "again-\(fixture.database)", token: nil, output: "\(audit.directory)/bob-again.xml") == 200)
                // The service's dump of the same name is the service's own file.
                #expect(try await audit.dumplog(filename: "x", output: "\(audit.directory)/service-x.xml") == 200)
                #expect(try await audit.dumplog(filename: "all.xml", output: all) == 200)
                return audit
            }
        }
        let refused = "\(audit.directory)/refused.json"
        let own = "\(audit.directory)/alice.xml"
        let all = "\(audit.directory)/all.xml"
        #expect((try String(contentsOfFile: refused, encoding: .utf8)).contains("invalid_filename"))
        #expect(FileManager.default.fileExists(atPath: "\(audit.dumpDirectory)/users/\(alice)/x"), "the name is reduced to a plain file name in the caller's dump directory")
        #expect(FileManager.default.contentsEqual(atPath: "\(audit.dumpDirectory)/users/\(alice)/x", andPath: own), "alice's file is hers, not the service's of the same name")
        #expect(FileManager.default.contentsEqual(atPath: "\(audit.dumpDirectory)/service/x", andPath: "\(audit.directory)/service-x.xml"))
        #expect(!FileManager.default.fileExists(atPath: "\(audit.directory)/../etc/x"))
        let aliceLog = try ParsedLog(path: own)
        #expect(aliceLog.events.allSatisfy { $0.fields["username"] == alice }, "a user's dump holds that user's events only")
        #expect(aliceLog.events.filter { $0.kind == "userCommand" }.count == 6, "five commands and the DUMPLOG itself")
        #expect(aliceLog.events.contains { $0.kind == "errorEvent" && $0.fields["command"] == "SELL" })
        #expect(aliceLog.events.contains { $0.kind == "accountTransaction" && $0.fields["action"] == "remove" && $0.fields["funds"] != nil })

        #expect(await schemaProblems(all, schema: Self.projectSchema) == nil)
        let log = try ParsedLog(path: all)
        #expect(Set(log.events.compactMap { $0.fields["username"] }) == [alice, bob])
        #expect(log.events.filter { $0.kind == "errorEvent" && $0.fields["command"] == "DUMPLOG" }.count == 3, "the refused DUMPLOGs are logged, a retry once")
        let again = log.events.filter { $0.kind == "userCommand" && $0.fields["filename"] == "again.xml" }
        #expect(again.compactMap { $0.fields["username"] }.sorted() == [alice, bob].sorted(), "a retried DUMPLOG is logged once; another user's with the same key on its own")
        #expect(log.events.filter { $0.kind == "userCommand" && $0.fields["filename"] == "denied.xml" }.count == 1, "the DUMPLOG once, however often sent")
        #expect(log.events.filter { $0.kind == "quoteServer" }.count == 1, "one real hit; the second BUY used the cache")
        #expect(log.events.filter { $0.kind == "systemEvent" && $0.fields["command"] == "BUY" }.count == 1)
        let transactionNums = log.events.map(\.transactionNum)
        #expect(transactionNums == transactionNums.sorted(), "ordered by transactionNum")
    }

    /// What the log of a whole workload must be: valid against the course's schema (when it is
    /// beside the repo) and ours, with one userCommand per line, under the line's number.
    static func checkWholeLog(_ path: String, of lines: [WorkloadLine], sourceLocation: SourceLocation = #_sourceLocation) async throws -> ParsedLog {
        if FileManager.default.fileExists(atPath: courseSchema) {
            #expect(await schemaProblems(path, schema: courseSchema) == nil, sourceLocation: sourceLocation)
        }
        #expect(await schemaProblems(path, schema: projectSchema) == nil, sourceLocation: sourceLocation)
        let log = try ParsedLog(path: path)
        let userCommands = log.events.filter { $0.kind == "userCommand" }.map(\.transactionNum)
        #expect(userCommands.count == lines.count, "one userCommand per workload line", sourceLocation: sourceLocation)
        #expect(Set(userCommands) == Set(lines.map(\.lineNumber)), "each line's number is its userCommand's transactionNum", sourceLocation: sourceLocation)
        return log
    }

    static func outboxSize(_ postgres: PostgresClient) async throws -> Int64 {
        for try await count in try await postgres.query("SELECT count(*) FROM audit_outbox", logger: TestServices.logger).decode(Int64.self) {
            return count
        }
        return -1
    }
}
