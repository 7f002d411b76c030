import NIOCore
import NIOPosix

/// The continuous clock, with its sleeps kept on NIO's event loop: a paced run sleeps before
/// nearly every command, and `Task.sleep` would wake one of Dispatch's timer threads for each and
/// hop back to the loop, two thread switches per command on the generator's side alone. Here
/// the wait is a timer of the loop that also runs the connections (and, with NIO's loops as the
/// global executor, the tasks), so a sleep ends without leaving that thread.
struct EventLoopClock: Clock {
    typealias Instant = ContinuousClock.Instant
    private let clock = ContinuousClock()
    private let group: any EventLoopGroup

    init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    var now: Instant { clock.now }
    var minimumResolution: Duration { clock.minimumResolution }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let delay = clock.now.duration(to: deadline)
        guard delay > .zero else { return }
        // The current loop when the caller runs on one (`any()` is sticky), so no hop.
        let scheduled = group.any().scheduleTask(in: TimeAmount(delay)) {}
        try await withTaskCancellationHandler {
            try await scheduled.futureResult.get()
        } onCancel: {
            scheduled.cancel()
        }
    }
}
