import AuditServer
import Configuration
import Hummingbird
import Logging
import Metrics
import Prometheus

/// The audit server: configured from environment variables (docs/OPERATIONS.md).
@main
struct AuditServerMain {
    static func main() async throws {
        let configuration = try AuditConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider()))
        var logger = Logger(label: configuration.serverName)
        logger.logLevel = configuration.logLevel
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let app = buildAuditApplication(configuration: configuration, metrics: registry, logger: logger)
        try await app.runService()
    }
}
