/// The barrier markers the consumer has stored past, for DUMPLOG to wait on.
///
/// A DUMPLOG publishes a marker to the audit queue after every earlier event was confirmed by
/// the broker; the queue delivers in order, so once the consumer has committed the marker's
/// batch, it has committed everything before it.
actor DeliveryBarriers {
    private var passed: Set<String> = []

    func pass(_ ids: some Sequence<String>) {
        passed.formUnion(ids)
    }

    /// Waits until the marker has been passed, or the timeout ends; true when it was passed.
    func wait(for id: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if passed.remove(id) != nil { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return passed.remove(id) != nil
    }
}
