/// Runs queues of work concurrently, each queue's items strictly in order, at most
/// `concurrency` queues at a time.
///
/// One queue is one user's commands: a user's commands depend on each other (COMMIT_BUY needs
/// the BUY before it), different users' do not.
enum UserQueues {
    /// Calls `body` for every item; returns when every queue is done. A queue waits for a free
    /// slot in the order given; a cancelled task starts no more items.
    static func run<Item: Sendable>(
        _ queues: [[Item]],
        concurrency: Int,
        _ body: @escaping @Sendable (Item) async -> Void
    ) async {
        precondition(concurrency >= 1, "concurrency must be at least 1")
        await withTaskGroup(of: Void.self) { group in
            var waiting = queues.makeIterator()
            func startNext() -> Bool {
                guard let queue = waiting.next() else { return false }
                group.addTask {
                    for item in queue {
                        if Task.isCancelled { return }
                        await body(item)
                    }
                }
                return true
            }
            var started = 0
            while started < concurrency, startNext() { started += 1 }
            while await group.next() != nil {
                _ = startNext()
            }
        }
    }
}
