import AuditServer
import Configuration
import Foundation
import Synchronization
import Testing
import TransactionServer
import Yams

/// docker-compose.yml cannot be run here (no Docker engine), so these tests keep it true to the
/// code: its services, the environment variables the servers actually read, the ports, and the
/// programs the image holds.
@Suite struct ComposeConsistencyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8)
    }

    /// The compose file's services, each as a dictionary (anchors and merge keys resolved).
    static func services() throws -> [String: [String: Any]] {
        let compose = try #require(try Yams.load(yaml: try text("docker-compose.yml")) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        return services.compactMapValues { $0 as? [String: Any] }
    }

    static func environment(of service: String) throws -> [String: String] {
        let entries = try #require(try services()[service]?["environment"] as? [String: Any], "\(service) has no environment")
        return entries.mapValues { "\($0)" }
    }

    /// The environment variables a configuration type reads, found by reading it once with a
    /// reporter that records every key (`server.name` is read from `SERVER_NAME`).
    static func variablesRead(by build: (ConfigReader) throws -> Void) rethrows -> Set<String> {
        let recorder = KeyRecorder()
        try build(ConfigReader(provider: InMemoryProvider(values: [:]), accessReporter: recorder))
        return recorder.variables.withLock { $0 }
    }

    static var transactionServerVariables: Set<String> {
        get throws { try variablesRead { _ = try ServerConfiguration(reader: $0) } }
    }

    static var auditServerVariables: Set<String> {
        get throws { try variablesRead { _ = try AuditConfiguration(reader: $0) } }
    }

    @Test func theComposeFileHasTheWholeTopology() throws {
        #expect(Set(try Self.services().keys) == ["postgres", "redis", "rabbitmq", "quote-server", "audit-server", "transaction-server", "haproxy"])
    }

    @Test func everyVariableGivenToAServerIsOneItReads() throws {
        // SERVER_NAME of the transaction servers is set by their entrypoint, from the host name.
        for (service, read) in [("transaction-server", try Self.transactionServerVariables), ("audit-server", try Self.auditServerVariables)] {
            let given = Set(try Self.environment(of: service).keys)
            #expect(given.subtracting(read).isEmpty, "\(service) is given variables it never reads: \(given.subtracting(read).sorted())")
            // In a container 127.0.0.1 is the container itself: every address must be given.
            let addresses = read.filter { $0.hasSuffix("_HOST") || $0.hasSuffix("_PORT") }
            #expect(addresses.subtracting(given).isEmpty, "\(service) reads addresses the compose file does not set: \(addresses.subtracting(given).sorted())")
        }
    }

    /// Sign-in fails closed: both servers require it, and the machines' token must be given
    /// (`${VAR:?}`: compose refuses to start without it), so neither the API nor the whole log
    /// is ever open.
    @Test func signInIsRequiredAndTheServiceTokenMustBeGiven() throws {
        for service in ["transaction-server", "audit-server"] {
            let environment = try Self.environment(of: service)
            #expect(environment["API_AUTH"] == "on", "\(service)")
            let token = try #require(environment["API_SERVICE_TOKEN"], "\(service)")
            #expect(token.hasPrefix("${API_SERVICE_TOKEN:?"), "\(service): \(token)")
        }
    }

    @Test func portsAgreeAcrossServicesTheProxyAndHealthChecks() throws {
        let services = try Self.services()
        let trading = try Self.environment(of: "transaction-server")
        let audit = try Self.environment(of: "audit-server")
        let proxy = try Self.text("haproxy/haproxy-compose.cfg")

        let tradingPort = try #require(trading["HTTP_PORT"])
        #expect(proxy.contains("transaction-server:\(tradingPort) "), "HAProxy's servers use the transaction servers' HTTP_PORT")
        #expect(Self.exposed(services["transaction-server"]) == [tradingPort])
        #expect(Self.healthCheck(services["transaction-server"]).contains(":\(tradingPort)/health/ready"))

        let auditPort = try #require(audit["HTTP_PORT"])
        #expect(proxy.contains("audit-server:\(auditPort) "), "HAProxy routes DUMPLOG to the audit server's HTTP_PORT")
        #expect(Self.exposed(services["audit-server"]) == [auditPort])
        #expect(Self.healthCheck(services["audit-server"]).contains(":\(auditPort)/health/ready"))

        let quoteCommand = try #require(services["quote-server"]?["command"] as? [String])
        let quotePort = try #require(quoteCommand.firstIndex(of: "--port").map { quoteCommand[$0 + 1] })
        #expect(trading["QUOTE_PORT"] == quotePort)
        #expect(Self.exposed(services["quote-server"]) == [quotePort])

        // The backing services' images listen on their standard ports.
        #expect(trading["POSTGRES_PORT"] == "5432" && audit["POSTGRES_PORT"] == "5432")
        #expect(trading["REDIS_PORT"] == "6379")
        #expect(trading["RABBITMQ_PORT"] == "5672" && audit["RABBITMQ_PORT"] == "5672")
        #expect(trading["POSTGRES_HOST"] == "postgres" && trading["REDIS_HOST"] == "redis" && trading["RABBITMQ_HOST"] == "rabbitmq" && trading["QUOTE_HOST"] == "quote-server")

        // The published front and operations ports are the ones HAProxy binds; the operations
        // port only on the host's loopback, and the audit server reaches the barrier through it.
        let published = try #require(services["haproxy"]?["ports"] as? [String])
        #expect(Set(published) == ["8080:8080", "127.0.0.1:8404:8404"])
        #expect(proxy.contains("bind :8080") && proxy.contains("bind :8404"))
        #expect(audit["TRADING_URL"] == "http://haproxy:8404")
    }

    @Test func theProxyConfigurationsShareTheirSettings() throws {
        // The stack script's template and the compose configuration differ only in addresses.
        let template = try Self.section("defaults", of: try Self.text("haproxy/haproxy.cfg.template"))
        let compose = try Self.section("defaults", of: try Self.text("haproxy/haproxy-compose.cfg"))
        #expect(template == compose)
        #expect(!template.isEmpty)
        // Both keep the operations routes off the public front.
        let deny = "http-request deny deny_status 404 if { path_beg /internal/ /metrics /health/ }"
        #expect(try Self.text("haproxy/haproxy.cfg.template").contains(deny))
        #expect(try Self.text("haproxy/haproxy-compose.cfg").contains(deny))
    }

    @Test func everyProgramTheComposeFileRunsIsBuiltIntoTheImage() throws {
        let manifest = try Self.text("Package.swift")
        let dockerfile = try Self.text("Dockerfile")
        let copied = try #require(dockerfile.split(separator: "\n").first { $0.contains("for program in") })
        let programs = copied.components(separatedBy: "for program in ").last?.components(separatedBy: ";").first?
            .split(separator: " ").map(String.init) ?? []
        #expect(!programs.isEmpty)
        for program in programs {
            #expect(manifest.contains(".executable(name: \"\(program)\""), "the Dockerfile copies \(program), which Package.swift does not build")
        }
        for (name, service) in try Self.services() where service["build"] != nil {
            let command = (service["entrypoint"] as? [String])?.last ?? (service["command"] as? [String])?.first ?? ""
            #expect(programs.contains { command.contains($0) }, "\(name) runs '\(command)', which the image does not hold")
        }
    }

    static func exposed(_ service: [String: Any]?) -> [String] {
        (service?["expose"] as? [Any])?.map { "\($0)" } ?? []
    }

    static func healthCheck(_ service: [String: Any]?) -> String {
        ((service?["healthcheck"] as? [String: Any])?["test"] as? [String])?.joined(separator: " ") ?? ""
    }

    /// The indented lines of one top-level section of an HAProxy configuration.
    static func section(_ name: String, of configuration: String) throws -> [String] {
        let lines = configuration.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: name), "no '\(name)' section")
        return Array(lines[(start + 1)...].prefix { $0.hasPrefix(" ") }).filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
    }
}

/// Records the environment variable of every key a configuration reads.
final class KeyRecorder: AccessReporter {
    let variables = Mutex<Set<String>>([])

    func report(_ event: AccessEvent) {
        let variable = event.metadata.key.components.joined(separator: "_").uppercased()
        variables.withLock { _ = $0.insert(variable) }
    }
}
