import AMQPClient
import AuditServer
import Foundation
import Testing

/// The files in audit/ say what the code does.
@Suite struct AuditArtifactsTests {
    static let auditFolder = AuditServerProcess.repositoryRoot.appendingPathComponent("audit")

    /// Statements without comments and with whitespace collapsed, so only the SQL is compared.
    static func normalized(_ sql: String) -> [String] {
        sql.split(separator: "\n")
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
            .joined(separator: " ")
            .split(separator: ";")
            .map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            .filter { !$0.isEmpty }
    }

    @Test func schemaFileMatchesTheMigrations() throws {
        let file = try String(contentsOf: Self.auditFolder.appendingPathComponent("schema.sql"), encoding: .utf8)
        let code = AuditSchema.migrations.flatMap(\.statements).map { $0 + ";" }.joined(separator: "\n")
        #expect(Self.normalized(file) == Self.normalized(code))
    }

    @Test func topologyFileMatchesTheCode() throws {
        let data = try Data(contentsOf: Self.auditFolder.appendingPathComponent("rabbitmq-definitions.json"))
        let definitions = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let topology = AuditTopology.standard
        let exchanges = (definitions["exchanges"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        let queues = (definitions["queues"] as? [[String: Any]] ?? [])
        #expect(Set(exchanges) == [topology.exchange, topology.deadLetterExchange])
        #expect(Set(queues.compactMap { $0["name"] as? String }) == [topology.queue, topology.deadLetterQueue])
        let events = try #require(queues.first { $0["name"] as? String == topology.queue })
        #expect((events["arguments"] as? [String: Any])?["x-dead-letter-exchange"] as? String == topology.deadLetterExchange)
        #expect(events["durable"] as? Bool == true)
        let bindings = (definitions["bindings"] as? [[String: Any]] ?? []).map { "\($0["source"] ?? "")->\($0["destination"] ?? ""):\($0["routing_key"] ?? "")" }
        #expect(bindings.contains("\(topology.exchange)->\(topology.queue):\(topology.routingKey)"))
    }
}
