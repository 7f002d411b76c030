/// Where a RabbitMQ broker listens and how to log in to it (SASL PLAIN).
public struct AMQPEndpoint: Sendable, Hashable {
    /// Host name or address of the broker.
    public var host: String
    /// AMQP port (5672 by default; the test broker of `scripts/services.sh` uses 25672).
    public var port: Int
    /// User name; RabbitMQ's `guest` may only log in over loopback.
    public var user: String
    /// Password of `user`.
    public var password: String
    /// Virtual host to open.
    public var virtualHost: String

    /// Creates an endpoint; the defaults are RabbitMQ's out-of-the-box settings.
    public init(
        host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest",
        virtualHost: String = "/"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
    }
}

/// The audit topology, declared idempotently (durable) on every (re)connect by publisher and
/// consumer, so that whichever starts first creates it and a deleted queue or binding comes back
/// with the next connection.
///
/// Messages go to `exchange` (direct) with `routingKey`, which routes them to `queue`. A message
/// the consumer rejects goes, through the queue's `x-dead-letter-exchange`, to
/// `deadLetterExchange` (fanout) and on to `deadLetterQueue`, where it waits for a human.
///
/// Declaring a name that already exists with other settings (say, a queue without the
/// dead-letter argument) fails with `AMQPError.channel` (`PRECONDITION_FAILED`).
public struct AuditTopology: Sendable, Hashable {
    /// Durable direct exchange the publisher sends to.
    public var exchange: String
    /// Durable queue the consumer reads; dead-letters to `deadLetterExchange`.
    public var queue: String
    /// Routing key of every message, and of the queue's binding to `exchange`.
    public var routingKey: String
    /// Durable fanout exchange that receives rejected messages.
    public var deadLetterExchange: String
    /// Durable queue bound to `deadLetterExchange`; nothing consumes it automatically.
    public var deadLetterQueue: String

    /// The production topology: `daytrader.audit` → `daytrader.audit.events`, dead letters to
    /// `daytrader.audit.dead`.
    public static let standard = AuditTopology()

    /// Creates a topology; the defaults are those of `standard`. Tests pass unique names so that
    /// they can run in parallel against one broker.
    public init(
        exchange: String = "daytrader.audit",
        queue: String = "daytrader.audit.events",
        routingKey: String = "event",
        deadLetterExchange: String = "daytrader.audit.dead",
        deadLetterQueue: String = "daytrader.audit.dead"
    ) {
        self.exchange = exchange
        self.queue = queue
        self.routingKey = routingKey
        self.deadLetterExchange = deadLetterExchange
        self.deadLetterQueue = deadLetterQueue
    }
}
