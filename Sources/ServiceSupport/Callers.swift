import Crypto
import DayTraderCore
import Foundation
import Hummingbird

/// Where a server finds out whose a session is: the transaction servers in their database, the
/// audit server by asking them (`GET /api/auth/session`).
public protocol SessionLookup: Sendable {
    /// The person whose live session `token` (the cookie's value) is; `nil` when it has ended or
    /// never was.
    func person(withSession token: String) async throws -> (name: String, role: Role)?
}

/// Who sent a request, for both servers: a machine with the service token, a person signed in
/// (the session cookie), or, with sign-in not required, an anonymous caller. The rules of what
/// each may do are ``Access``'s.
public struct Callers: Sendable {
    /// The session cookie's name.
    public static let cookieName = "daytrader_session"

    let sessions: any SessionLookup
    let settings: CallerSettings

    public init(sessions: any SessionLookup, settings: CallerSettings) {
        self.sessions = sessions
        self.settings = settings
    }

    /// Who sent `request`, or the refusal. A bad session or token is
    /// refused even when sign-in is not required, so that no client acts as someone it is not.
    public func caller(of request: Request) async throws -> Result<Caller, Rejection> {
        if let authorization = request.headers[.authorization] {
            guard let serviceToken = settings.serviceToken, Self.sameSecret(authorization, "Bearer \(serviceToken)") else {
                return .failure(Rejection(.unauthenticated, "the Authorization header does not hold the service token"))
            }
            return .success(.service)
        }
        if let cookie = request.cookies[Self.cookieName] {
            guard let person = try await sessions.person(withSession: cookie.value) else {
                return .failure(Rejection(.unauthenticated, "the session has ended or never was: sign in again"))
            }
            if let crossSite = Self.crossSite(request) { return .failure(crossSite) }
            return .success(.person(name: person.name, role: person.role))
        }
        guard !settings.required else {
            return .failure(Rejection(.unauthenticated, "sign in, or send the service token as 'Authorization: Bearer <token>'"))
        }
        return .success(.anonymous)
    }

    /// Whether two secrets are equal, in a time that depends on neither (their digests are compared).
    public static func sameSecret(_ a: String, _ b: String) -> Bool {
        zip(SHA256.hash(data: Data(a.utf8)), SHA256.hash(data: Data(b.utf8))).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// A request authenticated by cookie must come from this site's own pages: the browser says so
    /// in `Sec-Fetch-Site`, and in `Origin`, which must name the host the request was sent to.
    /// (SameSite=Strict and the JSON content type already keep other sites' forms out; this
    /// holds for browsers that send either header even if one of those failed.)
    public static func crossSite(_ request: Request) -> Rejection? {
        if let site = request.headers[.init("Sec-Fetch-Site")!], !["same-origin", "none"].contains(site) {
            return Rejection(.crossSiteRequest, "a request from another site (\(site)) cannot use this site's session")
        }
        if let origin = request.headers[.origin] {
            let host = request.head.authority ?? "no host"
            guard origin == "http://\(host)" || origin == "https://\(host)" else {
                return Rejection(.crossSiteRequest, "a request from \(origin) cannot use the session of \(host)")
            }
        }
        return nil
    }
}
