import AMQPClient
import Configuration
import DayTraderCore
import Logging
import PostgresNIO
import ServiceSupport

/// Everything an operator can set, read from environment variables (see docs/OPERATIONS.md).
///
/// Keys map to variables by swift-configuration's rule: `postgres.host` is `POSTGRES_HOST`.
public struct ServerConfiguration: Sendable {
    public var serverName: String
    public var httpHost: String
    public var httpPort: Int
    /// SERVER_THREADS (1): the NIO event loops, which also run the server's Swift tasks
    /// (``EventLoopThreads``). One is enough for a share of this design's load; scale out with
    /// instances.
    public var threads: Int
    /// POSTGRES_*: the trading database (POSTGRES_DATABASE, default "daytrader").
    public var postgres: PostgresClient.Configuration
    /// RABBITMQ_*: the broker the audit relay publishes to.
    public var rabbitMQ: AMQPEndpoint
    /// AUDIT_EXCHANGE / AUDIT_QUEUE: where audit events go.
    public var auditTopology: AuditTopology
    /// How long the relay waits before looking at an empty outbox again.
    public var relayIntervalMillis: Int
    public var redisHost: String
    public var redisPort: Int
    /// Prefixes every Redis key, so several systems (or test runs) can share one Redis.
    public var redisKeyPrefix: String
    public var quoteHost: String
    public var quotePort: Int
    public var quoteTimeoutMillis: Int
    /// How long a quote may be used, by anyone (SPEC: 60 s). Tests shorten it.
    public var quoteLifetimeMillis: Int64
    /// How often the sweeper looks for pending orders whose 60 s have run out.
    public var sweepIntervalMillis: Int
    /// How often the trigger engine checks the stocks with active triggers against their
    /// current quotes (a new quote is fetched only when the last one's lifetime is over).
    public var triggerIntervalMillis: Int
    /// The most commands sent to PostgreSQL in one call and one transaction (COMMAND_BATCH_SIZE).
    public var batchSize: Int
    /// The most such calls in flight at once (COMMAND_BATCH_CALLS); each holds a pooled connection.
    public var batchCalls: Int
    /// How long one command call may take before it is given up and its commands answered
    /// 503 `unavailable` (COMMAND_CALL_TIME_LIMIT_MS, 60 s; see `CommandBatcher`).
    public var callTimeLimitMillis: Int
    /// How long an idempotency key is remembered (IDEMPOTENCY_RETENTION_MS, 24 h).
    public var keyRetentionMillis: Int64
    public var limits: CommandLimits
    public var logLevel: Logger.Level
    /// Sign-in: API_AUTH and API_SERVICE_TOKEN (``CallerSettings``), AUTH_BCRYPT_COST (10),
    /// AUTH_COOKIE_SECURE (`false`; `true` behind a TLS front).
    public var auth: AuthSettings

    public init(reader config: ConfigReader) throws {
        serverName = config.string(forKey: "server.name", default: "ts1")
        httpHost = config.string(forKey: "http.host", default: "127.0.0.1")
        httpPort = config.int(forKey: "http.port", default: 8081)
        threads = config.int(forKey: "server.threads", default: 1)
        guard threads >= 1 else { throw ConfigurationError("SERVER_THREADS must be at least 1") }
        postgres = PostgresClient.Configuration(reader: config, database: config.string(forKey: "postgres.database", default: "daytrader"))
        rabbitMQ = AMQPEndpoint(reader: config)
        auditTopology = AuditTopology(reader: config)
        relayIntervalMillis = config.int(forKey: "audit.relay.interval.ms", default: 50)
        redisHost = config.string(forKey: "redis.host", default: "127.0.0.1")
        redisPort = config.int(forKey: "redis.port", default: 6379)
        redisKeyPrefix = config.string(forKey: "redis.key.prefix", default: "daytrader:")
        quoteHost = config.string(forKey: "quote.host", default: "127.0.0.1")
        quotePort = config.int(forKey: "quote.port", default: 4444)
        quoteTimeoutMillis = config.int(forKey: "quote.timeout.ms", default: 5_000)
        quoteLifetimeMillis = Int64(config.int(forKey: "quote.lifetime.ms", default: Int(TradingRules.lifetimeMillis)))
        sweepIntervalMillis = config.int(forKey: "sweep.interval.ms", default: 250)
        triggerIntervalMillis = config.int(forKey: "trigger.interval.ms", default: 1_000)
        batchSize = config.int(forKey: "command.batch.size", default: 64)
        batchCalls = config.int(forKey: "command.batch.calls", default: 1)
        callTimeLimitMillis = config.int(forKey: "command.call.time.limit.ms", default: 60_000)
        keyRetentionMillis = Int64(config.int(forKey: "idempotency.retention.ms", default: 86_400_000))
        logLevel = Logger.Level(reader: config)
        let bcryptCost = config.int(forKey: "auth.bcrypt.cost", default: 10)
        guard (4...31).contains(bcryptCost) else { throw ConfigurationError("AUTH_BCRYPT_COST is 4 to 31") }
        auth = AuthSettings(
            callers: try CallerSettings(reader: config),
            bcryptCost: UInt8(bcryptCost),
            secureCookie: config.bool(forKey: "auth.cookie.secure", default: false)
        )
        guard batchSize >= 1, batchCalls >= 1, batchCalls < postgres.options.maximumConnections else {
            throw ConfigurationError("COMMAND_BATCH_SIZE must be at least 1, and COMMAND_BATCH_CALLS 1 to POSTGRES_CONNECTIONS - 1 (the background services need one)")
        }
        let maximumAmount = config.string(forKey: "limits.maximum.amount", default: CommandLimits().maximumAmount.description)
        do {
            limits = CommandLimits(maximumAmount: try Money(parsing: maximumAmount))
        } catch {
            throw ConfigurationError("LIMITS_MAXIMUM_AMOUNT '\(maximumAmount)': \(error)")
        }
    }
}
