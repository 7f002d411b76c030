/// Why an AMQP operation did not complete.
///
/// Every case except `.blocked` and `.closed` means the connection was dropped: the next call
/// reconnects (and redeclares the topology). For a publisher, any error means "not confirmed":
/// publish the same messages again (consumers de-duplicate). For a consumer, deliveries not yet
/// acknowledged come back (with `redelivered == true`).
public enum AMQPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No connection could be made (refused, unreachable, bad credentials, ...), or the
    /// connection broke or was closed by the broker.
    case connection(String)
    /// The broker closed the channel, e.g. because a queue or exchange exists with other
    /// settings than the topology declares (`PRECONDITION_FAILED`).
    case channel(String)
    /// The broker refused responsibility for a published message (basic.nack): publish it again.
    case nacked
    /// A published message could not be routed to any queue (basic.return of a mandatory
    /// message), e.g. because the queue or its binding was deleted. The connection is dropped,
    /// so the next publish redeclares the topology before publishing again.
    case returned
    /// The broker did not confirm every message within the confirm timeout.
    case timedOut
    /// The broker blocks publishing on this connection (a memory or disk alarm; the broker's
    /// reason). Either nothing was sent, or everything was sent but not confirmed in time (it
    /// may still be enqueued once the alarm clears). The connection is kept: publishes fail fast
    /// with this error until the broker lifts the block.
    case blocked(String)
    /// `close()` was called; this publisher or consumer is finished.
    case closed

    public var description: String {
        switch self {
        case .connection(let reason): "AMQP connection failed: \(reason)"
        case .channel(let reason): "AMQP channel closed by the broker: \(reason)"
        case .nacked: "the broker nacked a published message"
        case .returned: "the broker returned an unroutable message"
        case .timedOut: "the broker did not confirm in time"
        case .blocked(let reason): "the broker blocks publishing: \(reason)"
        case .closed: "the AMQP client was closed"
        }
    }
}
