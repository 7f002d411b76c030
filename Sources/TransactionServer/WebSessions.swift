import Crypto
import DayTraderCore
import Foundation
import Hummingbird
import HummingbirdBcrypt
import NIOPosix
import ServiceSupport
import TradingStore

/// Who a request is from, and the sign-up, sign-in and sign-out that make a session.
///
/// A person signs in with a name and password (bcrypt, hashed off the event loops) and gets a
/// session: a random token in an HttpOnly, SameSite=Strict cookie, kept in PostgreSQL by its
/// SHA-256 so that every instance knows it. A machine (the workload generator) sends the service
/// token instead, `Authorization: Bearer <token>`, compared in constant time. With sign-in
/// required (`API_AUTH=on`), a request with neither is refused 401.
public struct WebSessions: Sendable, SessionLookup {
    let store: any WebAccountStoring
    let clock: any TradingClock
    let settings: AuthSettings

    public init(store: any WebAccountStoring, clock: any TradingClock, settings: AuthSettings) {
        self.store = store
        self.clock = clock
        self.settings = settings
    }

    /// Who sends requests: the service token, sessions kept here, or (sign-in not required) anyone.
    public var callers: Callers {
        Callers(sessions: self, settings: settings.callers)
    }

    public func person(withSession token: String) async throws -> (name: String, role: Role)? {
        try await store.session(tokenHash: Self.digest(token), at: clock.now().unixMillis).map { ($0.name, $0.role) }
    }

    /// A new trader's account, signed in at once.
    public func signUp(name: String, password: String) async throws -> Result<(WebAccount, token: String), Rejection> {
        switch try await addAccount(name: name, role: .trader, password: password) {
        case .success(let account): .success((account, try await startSession(for: account)))
        case .failure(let rejection): .failure(rejection)
        }
    }

    /// An auditor's or supervisor's account (or a trader's), made by an operator.
    public func addAccount(name: String, role: Role, password: String) async throws -> Result<WebAccount, Rejection> {
        do {
            let user = try SignInRules.checkName(name)
            try SignInRules.checkPassword(password)
            let account = WebAccount(name: user.rawValue, role: role, passwordHash: try await hash(password))
            guard try await store.create(account) else {
                return .failure(Rejection(.nameTaken, "there is an account named \(user.rawValue) already"))
            }
            return .success(account)
        } catch let rejection as Rejection {
            return .failure(rejection)
        }
    }

    /// A session for the name and password, unless too many sign-ins failed lately for the name
    /// or from the address (``SignInRules``); a failure here counts against both.
    public func signIn(name: String, password: String, from address: String) async throws -> Result<(WebAccount, token: String), Rejection> {
        let now = clock.now().unixMillis
        let subjects: [SignInRules.Subject] = [.name(name), .address(address)]
        guard SignInRules.mayTry(failures: try await store.failures(of: subjects, at: now)) else {
            return .failure(Rejection(.tooManyAttempts, "too many failed sign-ins for this name or from this address; try again in \(SignInRules.failureWindowMillis / 60_000) minutes"))
        }
        let account = try await store.account(named: name)
        // A name with no account costs a hash all the same, so the time taken does not tell.
        let hash = account?.passwordHash ?? Self.decoyHash
        guard try await verify(password, hash), let account else {
            try await store.recordFailure(of: subjects, at: now)
            return .failure(Rejection(.badCredentials, "wrong name or password"))
        }
        try await store.clearFailures(of: .name(name))
        return .success((account, try await startSession(for: account)))
    }

    public func signOut(_ request: Request) async throws {
        guard let cookie = request.cookies[Callers.cookieName] else { return }
        try await store.endSession(tokenHash: Self.digest(cookie.value))
    }

    /// The cookie that holds a session's token (an expired one when `token` is nil: sign-out).
    public func cookie(_ token: String?) -> Cookie {
        Cookie(
            name: Callers.cookieName, value: token ?? "", maxAge: token == nil ? 0 : Int(SignInRules.sessionLifetimeMillis / 1_000), path: "/",
            secure: settings.secureCookie, httpOnly: true, sameSite: .strict
        )
    }

    private func startSession(for account: WebAccount) async throws -> String {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        try await store.startSession(tokenHash: Self.digest(token), name: account.name, expiresAt: clock.now().unixMillis + SignInRules.sessionLifetimeMillis)
        return token
    }

    private func hash(_ password: String) async throws -> String {
        let cost = settings.bcryptCost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    private func verify(_ password: String, _ hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A bcrypt hash of nothing anyone can type, to verify against when the name has no account.
    private static let decoyHash = Bcrypt.hash(UUID().uuidString, cost: 10)

    /// The SHA-256 of a token, in hex: what the store keeps.
    static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// How callers prove who they are (docs/OPERATIONS.md, "Sign-in").
public struct AuthSettings: Sendable {
    /// API_AUTH and API_SERVICE_TOKEN, as the audit server reads them too.
    public var callers: CallerSettings
    /// bcrypt's cost for new passwords (2^cost rounds).
    public var bcryptCost: UInt8
    /// Whether the session cookie is sent over HTTPS only (on behind a TLS front).
    public var secureCookie: Bool

    public init(callers: CallerSettings, bcryptCost: UInt8, secureCookie: Bool) {
        self.callers = callers
        self.bcryptCost = bcryptCost
        self.secureCookie = secureCookie
    }
}
