/// What the rest of the system needs to hand messages to a broker; implemented by
/// `AMQPPublisher` and easy to fake in tests.
public protocol MessagePublishing: Sendable {
    /// Publishes persistent (delivery_mode 2), mandatory messages to the topology's exchange and
    /// returns only after the broker confirmed every one (publisher confirms). Any failure
    /// throws; the caller re-publishes (consumers de-duplicate).
    ///
    /// - Parameters:
    ///   - bodies: the message bodies, published in this order.
    ///   - type: the AMQP `type` property of every message, or `nil` for none.
    func publish(_ bodies: [[UInt8]], type: String?) async throws(AMQPError)
}
