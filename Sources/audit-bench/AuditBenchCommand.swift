import AMQPClient
import ArgumentParser
import AuditBenchmark
import Configuration
import Logging
import PostgresNIO
import ServiceSupport

/// Publishes synthetic transaction records to RabbitMQ and reports how fast the audit server
/// stored their events. The broker and database come from the same variables as the servers' (RABBITMQ_*,
/// POSTGRES_*, AUDIT_DATABASE, AUDIT_EXCHANGE, AUDIT_QUEUE). Used by scripts/bench-audit.sh.
@main
struct AuditBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit-bench", abstract: "Measure the audit server's ingest rate.")

    @Option(help: "Events to publish (two per synthetic command record).") var events = 1_000_000
    @Option(help: "Events per message (records of two events each), as the relay batches them.") var batch = 1_000
    @Option(help: "Concurrent publishing connections.") var publishers = 2
    @Option(help: "Distinct user names in the events.") var users = 100

    func run() async throws {
        let reader = ConfigReader(provider: EnvironmentVariablesProvider())
        let logger = {
            var logger = Logger(label: "audit-bench")
            logger.logLevel = .warning
            return logger
        }()
        let audit = PostgresClient(
            configuration: .init(reader: reader, database: reader.string(forKey: "audit.database", default: "audit")),
            backgroundLogger: logger
        )
        let load = AuditLoad(events: events, batch: batch, publishers: publishers, users: users)
        let result = try await withThrowingTaskGroup(of: AuditLoad.Result?.self) { group in
            group.addTask { await audit.run(); return nil }
            let endpoint = AMQPEndpoint(reader: reader), topology = AuditTopology(reader: reader)
            group.addTask {
                try await load.run(endpoint: endpoint, topology: topology, audit: audit, logger: logger)
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let next { return next }
            }
            throw CancellationError()
        }
        print(result)
    }
}
