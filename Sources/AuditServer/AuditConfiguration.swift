import AMQPClient
import Configuration
import Logging
import PostgresNIO
import ServiceSupport

/// Everything an operator can set for the audit server, from environment variables (see
/// docs/OPERATIONS.md). The Postgres and RabbitMQ variables mean what they mean for the
/// transaction servers.
public struct AuditConfiguration: Sendable {
    public var serverName: String
    public var httpHost: String
    public var httpPort: Int
    /// POSTGRES_* with AUDIT_DATABASE (default "audit"): where events are stored.
    public var auditDatabase: PostgresClient.Configuration
    /// Where the transaction servers answer (TRADING_URL, default http://127.0.0.1:8080: HAProxy's
    /// front), without a trailing slash: DUMPLOG asks them whether their outbox has drained
    /// (`HTTPOutboxBarrier`), and whose a session is (`HTTPSessionLookup`).
    public var tradingURL: String
    public var rabbitMQ: AMQPEndpoint
    public var topology: AuditTopology
    /// How many unacked messages the broker may send ahead (AUDIT_PREFETCH).
    public var prefetch: Int
    /// Where DUMPLOG writes its files (AUDIT_DUMP_DIRECTORY), a directory per caller.
    public var dumpDirectory: String
    /// How many dumps each caller's directory keeps, the newest (AUDIT_DUMP_KEEP, 10).
    public var dumpsKept: Int
    /// The free disk a dump must leave (AUDIT_DUMP_MIN_FREE_MB, 1024): below it, DUMPLOG is
    /// refused (audit_unavailable) until space is made.
    public var dumpMinimumFreeMB: Int
    /// How many dumps run at once (AUDIT_DUMPS_AT_ONCE, 4); more wait their turn.
    public var dumpsAtOnce: Int
    /// How long DUMPLOG waits for events in flight (AUDIT_BARRIER_TIMEOUT_MS).
    public var barrierTimeoutMillis: Int
    /// Who may dump: API_AUTH and API_SERVICE_TOKEN, as the transaction servers read them
    /// (sessions are theirs: the audit server asks them at TRADING_URL whose a cookie is).
    public var callers: CallerSettings
    public var logLevel: Logger.Level

    public init(reader config: ConfigReader) throws {
        serverName = config.string(forKey: "server.name", default: "audit1")
        httpHost = config.string(forKey: "http.host", default: "127.0.0.1")
        httpPort = config.int(forKey: "http.port", default: 8090)
        auditDatabase = PostgresClient.Configuration(reader: config, database: config.string(forKey: "audit.database", default: "audit"))
        // Without a trailing slash, so that routes are appended to it as they are.
        let tradingURL = config.string(forKey: "trading.url", default: "http://127.0.0.1:8080")
        self.tradingURL = tradingURL.hasSuffix("/") ? String(tradingURL.dropLast()) : tradingURL
        rabbitMQ = AMQPEndpoint(reader: config)
        topology = AuditTopology(reader: config)
        prefetch = config.int(forKey: "audit.prefetch", default: 256)
        dumpDirectory = config.string(forKey: "audit.dump.directory", default: "out/dumps")
        dumpsKept = config.int(forKey: "audit.dump.keep", default: 10)
        dumpMinimumFreeMB = config.int(forKey: "audit.dump.min.free.mb", default: 1_024)
        dumpsAtOnce = config.int(forKey: "audit.dumps.at.once", default: 4)
        barrierTimeoutMillis = config.int(forKey: "audit.barrier.timeout.ms", default: 60_000)
        callers = try CallerSettings(reader: config)
        logLevel = Logger.Level(reader: config)
        guard dumpsKept >= 1, dumpMinimumFreeMB >= 0, dumpsAtOnce >= 1 else {
            throw ConfigurationError("AUDIT_DUMP_KEEP and AUDIT_DUMPS_AT_ONCE must be at least 1, AUDIT_DUMP_MIN_FREE_MB at least 0")
        }
        guard (1...65_535).contains(prefetch) else {
            throw ConfigurationError("AUDIT_PREFETCH must be 1-65535, not \(prefetch)")
        }
    }
}
