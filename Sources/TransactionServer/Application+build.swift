import DayTraderCore
import Hummingbird
import LegacyQuote
import Logging
import Metrics
import NIOCore
import PostgresNIO
import Prometheus
import RedisClient
import TradingStore

/// The wall clock, in Unix milliseconds.
public struct SystemClock: TradingClock {
    public init() {}
    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(unixMillis: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// Builds the transaction server: routes, and the services it runs (the Postgres pool, the
/// pending-order sweeper). `clock` and `quoteFetcher` are injectable for tests.
public func buildApplication(
    configuration: ServerConfiguration,
    clock: any TradingClock = SystemClock(),
    quoteFetcher: (any QuoteFetching)? = nil,
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger
) -> some ApplicationProtocol {
    var postgresConfiguration = PostgresClient.Configuration(
        host: configuration.postgresHost,
        port: configuration.postgresPort,
        username: configuration.postgresUser,
        password: configuration.postgresPassword,
        database: configuration.postgresDatabase,
        tls: .disable
    )
    postgresConfiguration.options.maximumConnections = configuration.postgresConnections
    let postgres = PostgresClient(configuration: postgresConfiguration, backgroundLogger: logger)
    let store = TradingStore(client: postgres, clock: clock, logger: logger)
    let redis = RedisClient(host: configuration.redisHost, port: configuration.redisPort, logger: logger)
    let quoteAttempts = 3
    let fetcher = quoteFetcher ?? LegacyQuoteClient(
        host: configuration.quoteHost,
        port: configuration.quotePort,
        timeout: .milliseconds(configuration.quoteTimeoutMillis),
        attempts: quoteAttempts,
        logger: logger
    )
    let quotes = QuoteService(
        fetcher: fetcher, redis: redis, clock: clock, lifetimeMillis: configuration.quoteLifetimeMillis,
        fetchBudgetMillis: Int64(quoteAttempts * (configuration.quoteTimeoutMillis + 500)),
        keyPrefix: configuration.redisKeyPrefix, logger: logger
    )
    let accounts = AccountCache(redis: redis, keyPrefix: configuration.redisKeyPrefix, logger: logger)
    let service = CommandService(store: store, quotes: quotes, accounts: accounts, limits: configuration.limits)

    let router = Router()
    router.add(middleware: MetricsMiddleware())
    CommandRoutes(service: service, logger: logger).register(on: router)
    router.get("/health/live") { _, _ in HTTPResponse.Status.ok }
    router.get("/health/ready") { _, _ -> HTTPResponse.Status in
        // Ready only while Postgres answers: without it no command can run.
        do {
            try await postgres.query("SELECT 1", logger: logger)
            return .ok
        } catch {
            return .serviceUnavailable
        }
    }
    router.get("/metrics") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
    }

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: configuration.serverName),
        services: [
            postgres,
            PendingOrderSweeper(store: store, accounts: accounts, intervalMillis: configuration.sweepIntervalMillis, logger: logger),
        ],
        logger: logger
    )
    app.beforeServerStarts {
        try await store.migrate()
    }
    return app
}
