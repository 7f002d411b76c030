import AMQPClient
import DayTraderCore
import Hummingbird
import LegacyQuote
import Logging
import Metrics
import NIOCore
import PostgresNIO
import Prometheus
import Reconciliation
import RedisClient
import ServiceSupport
import TradingStore

/// Builds the transaction server: routes, and the services it runs (the Postgres pool, the
/// pending-order sweeper, the trigger engine, the audit relay) and the audit barrier route. `clock` and `quoteFetcher` are injectable for tests.
public func buildApplication(
    configuration: ServerConfiguration,
    clock: any TradingClock = SystemClock(),
    quoteFetcher: (any QuoteFetching)? = nil,
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger
) -> some ApplicationProtocol {
    let postgres = PostgresClient(configuration: configuration.postgres, backgroundLogger: logger)
    let store = TradingStore(client: postgres, logger: logger)
    let publisher = AMQPPublisher(endpoint: configuration.rabbitMQ, topology: configuration.auditTopology, logger: logger)
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
    let batcher = CommandBatcher(
        store: store, maxBatch: configuration.batchSize, maxCalls: configuration.batchCalls,
        callTimeLimit: .milliseconds(configuration.callTimeLimitMillis)
    ) { outcomes in
        // Write through what the batch changed, before any of its commands is answered.
        await accounts.apply(outcomes.compactMap { outcome in
            guard !outcome.replayed, let user = outcome.record.head.user.flatMap({ try? UserID(validating: $0) }) else { return nil }
            return (outcome.record, user)
        })
    }
    let triggers = TriggerFirer(store: store, accounts: accounts, clock: clock, serverName: configuration.serverName, logger: logger)
    let service = CommandService(
        store: store, batcher: batcher, quotes: quotes, accounts: accounts, limits: configuration.limits,
        clock: clock, serverName: configuration.serverName, triggers: triggers
    )

    let router = Router()
    router.add(middleware: MetricsMiddleware())
    let sessions = WebSessions(store: WebAccountStore(client: postgres, logger: logger), clock: clock, settings: configuration.auth)
    CommandRoutes(service: service, callers: sessions.callers, logger: logger).register(on: router)
    AuthRoutes(sessions: sessions).register(on: router)
    let changes = AccountChanges(redis: redis, cache: accounts, logger: logger)
    EventRoutes(changes: changes, callers: sessions.callers).register(on: router)
    WebPages().register(on: router)
    AuditBarrierRoute(store: store, logger: logger).register(on: router)
    LedgerRoute(source: LedgerSource(trading: postgres, logger: logger), logger: logger).register(on: router)
    // Ready only while Postgres answers: without it no command can run.
    router.addOperationalRoutes(database: postgres, metrics: metrics, logger: logger)

    // The background services need the schema, which the migration makes before the server starts.
    let migrated = StartupGate()
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: configuration.serverName),
        // Started in this order and stopped in reverse: the relay stops after every service that
        // writes audit events, so its last drain hands all of them over, and Postgres stops last.
        services: [
            postgres,
            changes,
            migrated.holding(AuditRelay(store: store, publisher: publisher, idleMillis: configuration.relayIntervalMillis, logger: logger)),
            migrated.holding(PendingOrderSweeper(
                store: store, accounts: accounts, clock: clock, serverName: configuration.serverName,
                intervalMillis: configuration.sweepIntervalMillis, keyRetentionMillis: configuration.keyRetentionMillis, logger: logger
            )),
            migrated.holding(TriggerEngine(
                store: store, quotes: quotes, firer: triggers, clock: clock, serverName: configuration.serverName,
                intervalMillis: configuration.triggerIntervalMillis, logger: logger
            )),
        ],
        logger: logger
    )
    app.beforeServerStarts {
        try await store.migrate()
        migrated.open()
    }
    return app
}
