import AMQPClient
import DayTraderCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import Prometheus
import Reconciliation
import ServiceSupport
import _NIOFileSystem

/// Builds the audit server: the consumer that stores events, and DUMPLOG over HTTP
/// (`POST /api/dumplog`, the XML as the response).
public func buildAuditApplication(
    configuration: AuditConfiguration,
    clock: any TradingClock = SystemClock(),
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger
) -> some ApplicationProtocol {
    let auditDatabase = PostgresClient(configuration: configuration.auditDatabase, backgroundLogger: logger)
    let store = AuditStore(client: auditDatabase, logger: logger)
    let barriers = DeliveryBarriers()
    let consumer = AMQPConsumer(endpoint: configuration.rabbitMQ, topology: configuration.topology, prefetch: UInt16(configuration.prefetch), logger: logger)
    let publisher = AMQPPublisher(endpoint: configuration.rabbitMQ, topology: configuration.topology, logger: logger)
    let dumps = DumpService(
        store: store, outbox: HTTPOutboxBarrier(baseURL: configuration.tradingURL), publisher: publisher, barriers: barriers,
        files: DumpFiles(root: configuration.dumpDirectory, keep: configuration.dumpsKept, minimumFreeBytes: Int64(configuration.dumpMinimumFreeMB) * 1_048_576),
        slots: DumpSlots(limit: configuration.dumpsAtOnce), serverName: configuration.serverName, clock: clock,
        barrierTimeout: .milliseconds(configuration.barrierTimeoutMillis), logger: logger
    )

    let callers = Callers(sessions: HTTPSessionLookup(baseURL: configuration.tradingURL), settings: configuration.callers)
    let reconciliations = Reconciliations(dumps: dumps, log: LogSource(audit: auditDatabase, logger: logger), tradingURL: configuration.tradingURL)
    let router = Router()
    router.add(middleware: MetricsMiddleware())
    router.post(RouterPath(CommandHTTP.path(for: .dumplog))) { request, _ -> Response in
        let submitted: CommandHTTP.Submitted
        switch await CommandHTTP.decode(.dumplog, from: request) {
        case .command(let decoded): submitted = decoded
        case .refused(let response): return response
        }
        do {
            let caller: Caller
            switch try await callers.caller(of: request) {
            case .success(let found): caller = found
            // Not logged: a request that proves no identity is no one's command.
            case .failure(let rejection): return CommandHTTP.error(rejection)
            }
            switch try await dumps.dump(submitted.request, transactionNum: submitted.transactionNum, idempotencyKey: submitted.idempotencyKey, caller: caller) {
            case .rejected(let reply):
                return CommandHTTP.response(for: reply)
            case .written(let dump, let events, let transactionNum):
                // The file this dump wrote, from its open handle: another dump of the same name
                // may have replaced the path since.
                let body = ResponseBody(contentLength: Int(dump.bytes)) { writer in
                    do {
                        for try await chunk in dump.file.readChunks(chunkLength: .kibibytes(256)) {
                            try await writer.write(chunk)
                        }
                        try await dump.file.close()
                        try await writer.finish(nil)
                    } catch {
                        try? await dump.file.close()
                        throw error
                    }
                }
                return Response(
                    status: .ok,
                    headers: [.contentType: "application/xml", .init("DayTrader-Events")!: "\(events)", .init("DayTrader-TransactionNum")!: "\(transactionNum)"],
                    body: body
                )
            }
        } catch {
            logger.error("DUMPLOG failed", metadata: ["error": "\(String(reflecting: error))"])
            return CommandHTTP.error(.serviceUnavailable, code: "unavailable", message: "the log could not be written; try again")
        }
    }
    // Who may reconcile whom is who may dump whose log (``Access``); a refusal is not logged
    // (no command runs).
    router.get("/api/reconciliation") { request, _ -> Response in
        do {
            let caller: Caller
            switch try await callers.caller(of: request) {
            case .success(let found): caller = found
            case .failure(let rejection): return CommandHTTP.error(rejection)
            }
            let user = try request.uri.queryParameters["user"].map { try UserID(validating: String($0)) }
            if let refusal = Access.refusal(of: .dumplog, for: user?.rawValue, by: caller) {
                return CommandHTTP.error(refusal)
            }
            return CommandHTTP.json(.ok, Array(try JSONEncoder().encode(try await reconciliations.reconcile(user: user))))
        } catch let rejection as Rejection {
            return CommandHTTP.error(rejection)
        } catch {
            logger.error("reconciliation failed", metadata: ["error": "\(String(reflecting: error))"])
            return CommandHTTP.error(.serviceUnavailable, code: "unavailable", message: "the reconciliation could not be made; try again")
        }
    }
    router.addOperationalRoutes(database: auditDatabase, metrics: metrics, logger: logger)

    // The consumer needs the schema, which the migration makes before the server starts.
    let migrated = StartupGate()
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: configuration.serverName),
        services: [
            auditDatabase,
            migrated.holding(AuditConsumer(consumer: consumer, store: store, barriers: barriers, logger: logger)),
        ],
        logger: logger
    )
    app.beforeServerStarts {
        let directory = FilePath(configuration.dumpDirectory)
        if try await FileSystem.shared.info(forFileAt: directory) == nil {
            try await FileSystem.shared.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try await store.migrate()
        migrated.open()
    }
    return app
}
