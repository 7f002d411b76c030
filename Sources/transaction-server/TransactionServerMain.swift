import Configuration
import Hummingbird
import Logging
import Metrics
import Prometheus
import TransactionServer

/// The transaction server: configured from environment variables (docs/OPERATIONS.md).
@main
struct TransactionServerMain {
    static func main() async throws {
        let configuration = try ServerConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider()))
        var logger = Logger(label: configuration.serverName)
        logger.logLevel = configuration.logLevel
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let app = buildApplication(configuration: configuration, metrics: registry, logger: logger)
        try await app.runService()
    }
}
