import NIOCore
import NIOPosix

/// Which threads a process runs on: NIO's event loops, for its I/O and its Swift tasks alike.
///
/// By default a Swift task runs on Dispatch's cooperative pool and a socket on an event loop, so
/// every await on I/O crosses between threads twice, and at a moderate rate each crossing wakes a
/// sleeping thread (a context switch: measured as a fifth of the transaction server's CPU at 1,000
/// commands/s, docs/PERFORMANCE.md). With the loops as Swift's global executor, a request read,
/// its handling and its database call run on the loop that owns the sockets.
///
/// Caveat: blocking work must not run in a plain task, as it would hold up the loop's sockets.
/// The servers' blocking work runs elsewhere already: hiredis and rabbitmq-c on dedicated
/// threads, bcrypt on `NIOThreadPool`.
public enum EventLoopThreads {
    /// Makes NIO's singleton group `threads` event loops and Swift's global executor. Call it
    /// once (NIO stops the program on a second call), first thing in `main`: once anything has
    /// used NIO's singleton group, the thread count no longer takes effect.
    public static func runEverything(threads: Int) {
        NIOSingletons.groupLoopCountSuggestion = max(1, threads)
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
