import AMQPClient
import Configuration
import Logging
import PostgresNIO

/// Settings both servers read the same way, so one variable means one thing everywhere.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Logger.Level {
    /// LOG_LEVEL: `trace` ... `critical`; anything else is `info`.
    public init(reader config: ConfigReader) {
        self = config.string(forKey: "log.level").flatMap(Logger.Level.init(rawValue:)) ?? .info
    }
}

extension PostgresClient.Configuration {
    /// POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_CONNECTIONS (at
    /// most) and the database given (each server names its own); one connection kept open while
    /// idle; and the bounds every session starts with:
    /// POSTGRES_STATEMENT_TIMEOUT_MS (10 s), POSTGRES_LOCK_TIMEOUT_MS (3 s) and
    /// POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS (30 s). No statement, wait for a lock, or open
    /// transaction left idle by a stuck client holds a connection or a row longer; work that may
    /// take longer says so for its own transaction (``SessionBounds/liftedForThisTransaction``).
    public init(reader config: ConfigReader, database: String) {
        self.init(
            host: config.string(forKey: "postgres.host", default: "127.0.0.1"),
            port: config.int(forKey: "postgres.port", default: 5432),
            username: config.string(forKey: "postgres.user", default: "daytrader"),
            password: config.string(forKey: "postgres.password"),
            database: database,
            tls: .disable
        )
        options.maximumConnections = config.int(forKey: "postgres.connections", default: 20)
        // No timers on idle connections (DECISIONS.md 56): the pool schedules a keep-alive timer,
        // and an idle timer above the minimum, each time a connection goes idle and cancels them
        // when it is leased again, which at a moderate rate is every command (three tasks and a
        // Dispatch timer each). A connection the server closed leaves the pool when its socket
        // does; the minimum stays open for the next command instead of timing out.
        options.keepAliveBehavior = nil
        // One, not more (DECISIONS.md 59): PostgresNIO 1.33.2's pool stops the process when, back
        // from a database that was away, it holds fewer connections than its minimum and a
        // request finds none idle (a failed precondition). It never holds fewer than one.
        options.minimumConnections = 1
        options.additionalStartupParameters = [
            ("statement_timeout", "\(config.int(forKey: "postgres.statement.timeout.ms", default: 10_000))"),
            ("lock_timeout", "\(config.int(forKey: "postgres.lock.timeout.ms", default: 3_000))"),
            ("idle_in_transaction_session_timeout", "\(config.int(forKey: "postgres.idle.in.transaction.timeout.ms", default: 30_000))"),
        ]
    }
}

extension AMQPEndpoint {
    /// RABBITMQ_HOST, RABBITMQ_PORT, RABBITMQ_USER, RABBITMQ_PASSWORD, RABBITMQ_VHOST.
    public init(reader config: ConfigReader) {
        self.init(
            host: config.string(forKey: "rabbitmq.host", default: "127.0.0.1"),
            port: config.int(forKey: "rabbitmq.port", default: 5672),
            user: config.string(forKey: "rabbitmq.user", default: "guest"),
            password: config.string(forKey: "rabbitmq.password", default: "guest"),
            virtualHost: config.string(forKey: "rabbitmq.vhost", default: "/")
        )
    }
}

extension AuditTopology {
    /// AUDIT_EXCHANGE and AUDIT_QUEUE rename the topology (tests isolate themselves this way);
    /// the dead-letter names follow the queue's.
    public init(reader config: ConfigReader) {
        let standard = AuditTopology.standard
        let queue = config.string(forKey: "audit.queue", default: standard.queue)
        self.init(
            exchange: config.string(forKey: "audit.exchange", default: standard.exchange),
            queue: queue,
            routingKey: standard.routingKey,
            deadLetterExchange: queue == standard.queue ? standard.deadLetterExchange : "\(queue).dead",
            deadLetterQueue: queue == standard.queue ? standard.deadLetterQueue : "\(queue).dead"
        )
    }
}

/// Sign-in settings both servers read: API_AUTH (`on`, the default: every request needs a
/// session or the service token; `off`: anyone may act for anyone, a course set-up of trusted
/// clients) and API_SERVICE_TOKEN (the machines' token; empty or unset: no machine may).
public struct CallerSettings: Sendable {
    public var required: Bool
    public var serviceToken: String?

    public init(required: Bool, serviceToken: String?) {
        self.required = required
        self.serviceToken = serviceToken
    }

    public init(reader config: ConfigReader) throws {
        let apiAuth = config.string(forKey: "api.auth", default: "on")
        guard ["on", "off"].contains(apiAuth) else { throw ConfigurationError("API_AUTH is 'on' or 'off', not '\(apiAuth)'") }
        self.init(required: apiAuth == "on", serviceToken: config.string(forKey: "api.service.token", isSecret: true).flatMap { $0.isEmpty ? nil : $0 })
    }
}
