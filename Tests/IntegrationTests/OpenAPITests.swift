import DayTraderCore
import Foundation
import ServiceSupport
import Testing

/// docs/openapi.yaml says what the servers serve: every command's route and every operations
/// route, no more; and the servers serve the document itself.
@Suite(.timeLimit(.minutes(10))) struct OpenAPITests {
    static let document = AuditServerProcess.repositoryRoot.appendingPathComponent("docs/openapi.yaml")

    /// The document's paths: the keys two spaces in under `paths:`.
    static func documentedPaths() throws -> Set<String> {
        let lines = try String(contentsOf: document, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var paths = Set<String>(), inside = false
        for line in lines {
            if line == "paths:" { inside = true; continue }
            if inside, let first = line.first, first != " " { break }
            if inside, line.hasPrefix("  /"), line.hasSuffix(":") { paths.insert(String(line.dropFirst(2).dropLast())) }
        }
        return paths
    }

    static let operationsPaths: Set<String> = ["/health/live", "/health/ready", "/metrics", "/internal/audit-barrier", "/internal/ledger", "/openapi.yaml"]
    /// The audit server's, behind the same front.
    static let auditPaths: Set<String> = ["/api/dumplog", "/api/reconciliation"]
    static let signInPaths: Set<String> = ["/api/auth/signup", "/api/auth/signin", "/api/auth/signout", "/api/auth/session", "/api/events"]

    @Test func everyRouteIsDocumentedAndNothingElse() throws {
        let commands = Set(CommandName.allCases.map { CommandHTTP.path(for: $0) })
        #expect(try Self.documentedPaths() == commands.subtracting(["/api/dumplog"]).union(Self.auditPaths).union(Self.operationsPaths).union(Self.signInPaths))
    }

    @Test func theServersServeTheDocumentAndEveryDocumentedRoute() async throws {
        let fixture = try await TradingServerFixture.make()
        let file = try String(contentsOf: Self.document, encoding: .utf8)
        try await fixture.withServer { client in
            let served = try await client.get("/openapi.yaml")
            #expect(served.isOK)
            #expect(served.body == file, "the served document is not docs/openapi.yaml")
            for path in try Self.documentedPaths() where path.hasPrefix("/api/") && !Self.auditPaths.contains(path) {
                // Routed: an empty object is read and refused as a command (or as credentials), not a 404.
                switch path {
                case "/api/auth/session":
                    #expect(try await client.get(path).status == .unauthorized)
                case "/api/auth/signout":
                    #expect(try await client.transport(path, .post, nil).0 == .noContent)
                case "/api/events":
                    #expect(try await client.get(path).status == .badRequest, "no user named")
                default:
                    let (status, _, _) = try await client.transport(path, .post, .init(string: "{}"))
                    #expect(status == .badRequest, "\(path)")
                }
            }
            for path in ["/health/live", "/health/ready", "/metrics"] {
                #expect(try await client.get(path).isOK, "\(path)")
            }
            let (barrier, _, _) = try await client.transport("/internal/audit-barrier", .post, nil)
            #expect(barrier == .ok)
            let ledger = try await client.get("/internal/ledger?user=nobody")
            #expect(ledger.isOK && ledger.body.contains("\"accounts\":[]"), "\(ledger.body)")
        }
    }
}
