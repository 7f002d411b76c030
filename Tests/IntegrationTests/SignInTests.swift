import ChildProcess
import Configuration
import DayTraderCore
import Foundation
import HTTPTypes
import ServiceSupport
import Testing
import TransactionServer

/// Sign-in against a real server and PostgreSQL, with `API_AUTH=on`: who may run which
/// command for whom, sessions across instances, the service token, limits on guessing.
@Suite(.timeLimit(.minutes(10))) struct SignInTests {
    /// The machines' token, the same the test audit servers accept.
    static let token = AuditServerProcess.serviceToken
    /// bcrypt's least cost: the tests check what is stored and compared, not how slowly.
    static let settings: [String: ConfigValue] = [
        "api.auth": "on", "api.service.token": .init(.string(token), isSecret: true), "auth.bcrypt.cost": 4,
    ]
    static let password = "correct horse battery"

    static func cookie(of reply: CommandClient.Reply) -> HTTPFields {
        guard let setCookie = reply.headers[.setCookie], let pair = setCookie.split(separator: ";").first else { return [:] }
        return [.cookie: String(pair)]
    }

    static var service: HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test func aTraderActsForThemselvesOnlyAndTheRestIsLoggedAndChangesNothing() async throws {
        // No broker: every audit event stays in the outbox to be read.
        let fixture = try await TradingServerFixture.make(rabbitMQPort: try freePort(), settings: Self.settings)
        let alice = Unique.user("alice"), bob = Unique.user("bob")
        try await fixture.withServer { client in
            // Neither a session nor the token: refused before anything is read, and not logged.
            #expect(try await client.send("add", ["user": alice, "amount": "10.00"]).status == .unauthorized)
            #expect(try await client.send("add", ["user": alice, "amount": "10.00"], headers: [.authorization: "Bearer wrong"]).status == .unauthorized)

            let signedUp = try await client.send("auth/signup", ["name": alice, "password": Self.password])
            #expect(signedUp.status == .created, "\(signedUp.body)")
            let setCookie = signedUp.headers[.setCookie] ?? ""
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"), "\(setCookie)")
            let session = Self.cookie(of: signedUp)
            #expect(try await client.get("/api/auth/session", headers: session)["name"] == alice)

            // The service acts for anyone, with its own numbers.
            let bobAdd = try await client.send("add", ["user": bob, "amount": "50.00", "transactionNum": 7], headers: Self.service)
            #expect(bobAdd.isOK && bobAdd["transactionNum"] == "7", "\(bobAdd.body)")

            // Alice for alice: yes, numbered by the server whatever she sends.
            let own = try await client.send("add", ["user": alice, "amount": "10.00", "transactionNum": 5], headers: session)
            #expect(own.isOK, "\(own.body)")
            #expect((Int64(own["transactionNum"] ?? "") ?? 0) >= 1_000_000_000, "a person's transactionNum is assigned: \(own.body)")
            // Alice for bob: 403, logged as an errorEvent, and bob's cash is untouched.
            let other = try await client.send("add", ["user": bob, "amount": "1000.00", "idempotencyKey": "k1"], headers: session)
            #expect(other.status == .forbidden && other.errorCode == "forbidden", "\(other.body)")
            #expect(try await client.send("display-summary", ["user": bob], headers: session).status == .forbidden)
            #expect(try await fixture.int64("SELECT cash FROM accounts WHERE user_id = \(bob)") == 5_000)
            let errors = try await fixture.outboxEvents().filter { $0.kind == .errorEvent && $0.username == bob }
            #expect(errors.count == 2, "each refused command is logged: \(errors)")

            // The same key is alice's, not bob's: bob (through the service) is not refused for it.
            #expect(try await client.send("add", ["user": bob, "amount": "1.00", "idempotencyKey": "k1"], headers: Self.service).isOK)

            // Signed out: the cookie opens nothing any more, on any instance.
            let out = try await client.transport("/api/auth/signout", .post, nil, headers: session)
            #expect(out.0 == .noContent)
            #expect(try await client.send("add", ["user": alice, "amount": "1.00"], headers: session).status == .unauthorized)
        }
    }

    @Test func anAuditorReadsAnyoneAndTheSessionHoldsOnEveryInstance() async throws {
        let fixture = try await TradingServerFixture.make(settings: Self.settings)
        let alice = Unique.user("alice"), carol = Unique.user("carol")
        try await fixture.withServer(name: "a") { first in
            try await fixture.withServer(name: "b") { second in
                #expect(try await first.send("add", ["user": alice, "amount": "10.00"], headers: Self.service).isOK)
                // Staff are made by an operator, never signed up.
                let made = try await addWebAccount(configuration: fixture.configuration(name: "ops"), name: carol, role: .auditor, password: Self.password, logger: TestServices.logger)
                #expect((try? made.get())?.role == .auditor)
                let again = try await addWebAccount(configuration: fixture.configuration(name: "ops"), name: carol, role: .supervisor, password: Self.password, logger: TestServices.logger)
                #expect(again.failure?.code == .nameTaken)
                let signedIn = try await first.send("auth/signin", ["name": carol, "password": Self.password])
                #expect(signedIn.isOK && signedIn["role"] == "auditor", "\(signedIn.body)")
                let session = Self.cookie(of: signedIn)
                // Signed in on one instance, served by the other.
                let summary = try await second.send("display-summary", ["user": alice], headers: session)
                #expect(summary.isOK && summary["cash"] == "10.00", "\(summary.body)")
                let add = try await second.send("add", ["user": alice, "amount": "1.00"], headers: session)
                #expect(add.status == .forbidden && add.body.contains("auditor"), "\(add.body)")
                // From another site, the session is refused even for a read.
                var crossSite = session
                crossSite[.origin] = "http://evil.example"
                #expect(try await second.send("display-summary", ["user": alice], headers: crossSite).errorCode == "cross_site_request")
            }
        }
    }

    /// The audit server asks the transaction servers whose a session is: a trader dumps their
    /// own log only, an auditor anyone's, a supervisor the whole log; without credentials,
    /// nothing.
    @Test func theAuditServerKnowsEachSessionAndItsRole() async throws {
        let fixture = try await TradingServerFixture.make(settings: Self.settings)
        let auditDatabase = try await TestServices.freshDatabase()
        let alice = Unique.user("alice"), bob = Unique.user("bob"), carol = Unique.user("carol"), dave = Unique.user("dave")
        for (name, role) in [(carol, Role.auditor), (dave, .supervisor)] {
            _ = try await addWebAccount(configuration: fixture.configuration(name: "ops"), name: name, role: role, password: Self.password, logger: TestServices.logger).get()
        }
        try await fixture.withServer { client in
            let audit = try AuditServerProcess(
                tradingPort: client.port, auditDatabase: auditDatabase, queue: fixture.auditQueue, rabbitMQPort: fixture.rabbitMQPort, signInRequired: true
            )
            return try await audit.running {
                func session(_ name: String, signUp: Bool = false) async throws -> String {
                    let reply = try await client.send(signUp ? "auth/signup" : "auth/signin", ["name": name, "password": Self.password])
                    return try #require(Self.cookie(of: reply)[.cookie], "\(reply.body)")
                }
                let trader = try await session(alice, signUp: true), auditor = try await session(carol), supervisor = try await session(dave)
                #expect(try await client.send("add", ["user": alice, "amount": "10.00"], headers: [.cookie: trader]).isOK)
                #expect(try await client.send("add", ["user": bob, "amount": "20.00"], headers: Self.service).isOK)
                func dump(_ user: String?, _ cookie: String?, token: String? = nil) async throws -> Int {
                    try await audit.dumplog(user: user, filename: "x.xml", token: token, cookie: cookie, output: "\(audit.directory)/out-\(UUID().uuidString)")
                }
                #expect(try await dump(alice, nil) == 401, "no credentials, sign-in required")
                #expect(try await dump(alice, "\(Callers.cookieName)=forged") == 401)
                #expect(try await dump(alice, trader) == 200)
                #expect(try await dump(bob, trader) == 403)
                #expect(try await dump(nil, trader) == 403)
                #expect(try await dump(bob, auditor) == 200)
                #expect(try await dump(nil, auditor) == 403, "the whole log is the supervisor's")
                #expect(try await dump(nil, supervisor) == 200)
                #expect(try await dump(nil, nil, token: Self.token) == 200)
                // Reconciliation: who may reconcile whom is who may dump whose log; the two agree.
                func reconcile(_ user: String?, _ cookie: String?, token: String? = nil) async throws -> (Int, String) {
                    let output = "\(audit.directory)/reconcile-\(UUID().uuidString)"
                    let status = await audit.reconcile(user: user, token: token, cookie: cookie, output: output)
                    return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
                }
                let reconciled = try await reconcile(alice, trader)
                #expect(reconciled.0 == 200 && reconciled.1.contains("\"discrepancies\":[]") && reconciled.1.contains("\"accounts\":1"), "\(reconciled.1)")
                #expect(try await reconcile(bob, trader).0 == 403)
                #expect(try await reconcile(nil, auditor).0 == 403, "everyone is the supervisor's")
                #expect(try await reconcile(bob, auditor).0 == 200)
                #expect(try await reconcile(alice, nil).0 == 401)
                let everyone = try await reconcile(nil, supervisor)
                #expect(everyone.0 == 200 && everyone.1.contains("\"discrepancies\":[]"), "\(everyone.1)")
                // A discrepancy is found: a ledger row the log never had.
                #expect(try await fixture.int64("""
                    WITH i AS (INSERT INTO ledger (user_id, transaction_num, kind, cash_delta, reserved_cash_delta, shares_delta, reserved_shares_delta, at_ms)
                               VALUES (\(bob), 424242, 'add', 100, 0, 0, 0, 0) RETURNING 1)
                    SELECT count(*)::bigint FROM i
                    """) == 1)
                let broken = try await reconcile(bob, nil, token: Self.token)
                #expect(broken.0 == 200 && broken.1.contains("not in the log"), "\(broken.1)")

                // The supervisor's dump is the whole log, in the supervisor's own directory.
                let whole = try ParsedLog(path: "\(audit.dumpDirectory)/staff/\(dave)/x.xml")
                #expect(Set(whole.events.compactMap { $0.fields["username"] }).isSuperset(of: [alice, bob]))
                let own = try ParsedLog(path: "\(audit.dumpDirectory)/users/\(alice)/x.xml")
                #expect(own.events.allSatisfy { $0.fields["username"] == alice })
            }
        }
    }

    @Test func guessingIsStoppedPerNameAndSignUpRefusesTakenNamesAndWeakPasswords() async throws {
        let fixture = try await TradingServerFixture.make(settings: Self.settings)
        let dave = Unique.user("dave")
        try await fixture.withServer { client in
            // The page and its parts, which need no session, each with this site as its only source.
            for (path, type) in [("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")] {
                let page = try await client.get(path)
                #expect(page.isOK && page.headers[.contentType]?.hasPrefix(type) == true, "\(path)")
                #expect(page.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'self'") == true, "\(path)")
            }
            #expect(try await client.send("auth/signup", ["name": dave, "password": "short"]).errorCode == "weak_password")
            #expect(try await client.send("auth/signup", ["name": "bad name!", "password": Self.password]).errorCode == "invalid_user_id")
            #expect(try await client.send("auth/signup", ["name": dave, "password": Self.password]).status == .created)
            #expect(try await client.send("auth/signup", ["name": dave, "password": Self.password]).errorCode == "name_taken")
            for _ in 0..<SignInRules.failuresPerName {
                #expect(try await client.send("auth/signin", ["name": dave, "password": "wrong password"]).errorCode == "bad_credentials")
            }
            // The right password too, now: the name is locked for the window.
            let locked = try await client.send("auth/signin", ["name": dave, "password": Self.password])
            #expect(locked.status == .tooManyRequests && locked.errorCode == "too_many_attempts", "\(locked.body)")
            // A name with no account fails the same way as a wrong password.
            #expect(try await client.send("auth/signin", ["name": Unique.user("nobody"), "password": Self.password]).errorCode == "bad_credentials")
        }
        #expect(try await fixture.int64("SELECT count(*) FROM web_accounts WHERE name = \(dave) AND password_hash LIKE '$2%'") == 1, "only a bcrypt hash is stored")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
