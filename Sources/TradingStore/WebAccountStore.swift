import DayTraderCore
import Logging
import PostgresNIO

/// A person's account on the web pages: the name they sign in with (a trader's is the user id
/// they trade as), their role, and their password's bcrypt hash (never the password).
public struct WebAccount: Sendable, Equatable {
    public var name: String
    public var role: Role
    public var passwordHash: String

    public init(name: String, role: Role, passwordHash: String) {
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
    }
}

/// Where web accounts, sessions and failed sign-ins are kept: PostgreSQL (``WebAccountStore``)
/// so that any instance behind HAProxy serves any request of a session.
public protocol WebAccountStoring: Sendable {
    /// Adds the account; false when the name is taken.
    func create(_ account: WebAccount) async throws -> Bool
    func account(named name: String) async throws -> WebAccount?
    /// Keeps a session under the hash of its token (the token itself is only in the cookie).
    func startSession(tokenHash: String, name: String, expiresAt: Int64) async throws
    /// The account of a session live at `now`.
    func session(tokenHash: String, at now: Int64) async throws -> WebAccount?
    func endSession(tokenHash: String) async throws
    /// The failed sign-ins counted for each subject in the window ending at `now`.
    func failures(of subjects: [SignInRules.Subject], at now: Int64) async throws -> [SignInRules.Subject: Int]
    /// Counts a failed sign-in against each subject.
    func recordFailure(of subjects: [SignInRules.Subject], at now: Int64) async throws
    /// Forgets the failures of a subject (an account signed in to successfully).
    func clearFailures(of subject: SignInRules.Subject) async throws
}

/// The web accounts in the trading database, which the transaction servers own (the audit server
/// asks them who a session is, over HTTP).
public struct WebAccountStore: WebAccountStoring {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let migration = [
        """
        CREATE TABLE web_accounts (
            name text PRIMARY KEY,
            role text NOT NULL CHECK (role IN ('trader', 'auditor', 'supervisor')),
            password_hash text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        // The SHA-256 of each session's token, in hex: a copy of this table opens no session.
        """
        CREATE TABLE web_sessions (
            token_hash text PRIMARY KEY,
            name text NOT NULL REFERENCES web_accounts ON DELETE CASCADE,
            expires_at_ms bigint NOT NULL
        )
        """,
        "CREATE INDEX web_sessions_expiry ON web_sessions (expires_at_ms)",
        // One row per subject (a name or an address): the failures counted since window_start_ms.
        """
        CREATE TABLE sign_in_failures (
            subject text PRIMARY KEY,
            window_start_ms bigint NOT NULL,
            failures integer NOT NULL
        )
        """,
    ]

    public func create(_ account: WebAccount) async throws -> Bool {
        let rows = try await client.query(
            """
            INSERT INTO web_accounts (name, role, password_hash) VALUES (\(account.name), \(account.role.rawValue), \(account.passwordHash))
            ON CONFLICT (name) DO NOTHING RETURNING 1
            """,
            logger: logger
        )
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }

    public func account(named name: String) async throws -> WebAccount? {
        let rows = try await client.query("SELECT name, role, password_hash FROM web_accounts WHERE name = \(name)", logger: logger)
        return try await Self.first(rows)
    }

    public func startSession(tokenHash: String, name: String, expiresAt: Int64) async throws {
        // Sessions past their expiry go as new ones come: the table holds the live ones and a few.
        try await client.query(
            """
            WITH gone AS (DELETE FROM web_sessions WHERE expires_at_ms < \(expiresAt - SignInRules.sessionLifetimeMillis))
            INSERT INTO web_sessions (token_hash, name, expires_at_ms) VALUES (\(tokenHash), \(name), \(expiresAt))
            """,
            logger: logger
        )
    }

    public func session(tokenHash: String, at now: Int64) async throws -> WebAccount? {
        let rows = try await client.query(
            """
            SELECT a.name, a.role, a.password_hash FROM web_sessions s JOIN web_accounts a USING (name)
            WHERE s.token_hash = \(tokenHash) AND s.expires_at_ms > \(now)
            """,
            logger: logger
        )
        return try await Self.first(rows)
    }

    public func endSession(tokenHash: String) async throws {
        try await client.query("DELETE FROM web_sessions WHERE token_hash = \(tokenHash)", logger: logger)
    }

    public func failures(of subjects: [SignInRules.Subject], at now: Int64) async throws -> [SignInRules.Subject: Int] {
        let keys = subjects.map(\.key)
        let rows = try await client.query(
            """
            SELECT subject, failures FROM sign_in_failures
            WHERE subject = ANY(\(keys)) AND window_start_ms > \(now - SignInRules.failureWindowMillis)
            """,
            logger: logger
        )
        var counts = Dictionary(uniqueKeysWithValues: subjects.map { ($0, 0) })
        for try await (key, failures) in rows.decode((String, Int).self) {
            if let subject = subjects.first(where: { $0.key == key }) { counts[subject] = failures }
        }
        return counts
    }

    public func recordFailure(of subjects: [SignInRules.Subject], at now: Int64) async throws {
        // A window that has ended starts again at this failure.
        try await client.query(
            """
            INSERT INTO sign_in_failures (subject, window_start_ms, failures) SELECT unnest(\(subjects.map(\.key))), \(now), 1
            ON CONFLICT (subject) DO UPDATE SET
                window_start_ms = CASE WHEN sign_in_failures.window_start_ms > \(now - SignInRules.failureWindowMillis)
                    THEN sign_in_failures.window_start_ms ELSE excluded.window_start_ms END,
                failures = CASE WHEN sign_in_failures.window_start_ms > \(now - SignInRules.failureWindowMillis)
                    THEN sign_in_failures.failures + 1 ELSE 1 END
            """,
            logger: logger
        )
    }

    public func clearFailures(of subject: SignInRules.Subject) async throws {
        try await client.query("DELETE FROM sign_in_failures WHERE subject = \(subject.key)", logger: logger)
    }

    private static func first(_ rows: PostgresRowSequence) async throws -> WebAccount? {
        for try await (name, role, hash) in rows.decode((String, String, String).self) {
            guard let role = Role(rawValue: role) else { throw StoreError.inconsistent("web account \(name) has role \(role)") }
            return WebAccount(name: name, role: role, passwordHash: hash)
        }
        return nil
    }
}
