import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import Prometheus

extension Router {
    /// The routes every server has for operators: `GET /health/live` (the process serves HTTP),
    /// `GET /health/ready` (its database answers `SELECT 1`; without it nothing can be served),
    /// `GET /metrics` (Prometheus text format) and `GET /openapi.yaml` (the API's OpenAPI document,
    /// docs/openapi.yaml).
    public func addOperationalRoutes(database: PostgresClient, metrics: PrometheusCollectorRegistry, logger: Logger) {
        get("/health/live") { _, _ in HTTPResponse.Status.ok }
        get("/health/ready") { _, _ -> HTTPResponse.Status in
            do {
                try await database.query("SELECT 1", logger: logger)
                return .ok
            } catch {
                return .serviceUnavailable
            }
        }
        get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
        get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
    }
}
