import Foundation

/// A serial executor that runs every job on one dedicated, named OS thread.
///
/// Use it as an actor's executor when the actor must make blocking C calls (socket I/O in
/// hiredis or rabbitmq-c): the blocking then parks this thread instead of one of the few
/// threads of Swift's cooperative pool, and a C library that is not thread-safe per
/// connection is only ever touched from one thread.
///
/// ```swift
/// actor Connection {
///     private let executor = DedicatedThreadExecutor(name: "redis")
///     nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
/// }
/// ```
///
/// Jobs run in the order they were enqueued. The thread lives as long as the executor: when
/// the executor is deinitialized, the thread runs whatever is still queued and then exits.
/// There is deliberately no public `shutdown()`: a job enqueued after an explicit shutdown
/// could never run, leaving its task suspended forever, whereas an executor that is gone can
/// no longer be handed jobs.
///
/// The thread blocks `SIGPIPE`, so a write to a socket the peer has closed fails with `EPIPE`
/// (which the C libraries report as an I/O error) instead of killing the process.
public final class DedicatedThreadExecutor: SerialExecutor {
    /// The thread's name, as shown by debuggers and `top -H` (Linux keeps the first 15 bytes).
    public let name: String
    private let queue: JobQueue

    /// Starts the thread.
    /// - Parameter name: the thread's name.
    public init(name: String) {
        self.name = name
        let queue = JobQueue()
        self.queue = queue
        // The thread holds the queue, not the executor, so that the executor can be released
        // (and the thread ended) when its owner goes away.
        Thread { queue.run(threadName: name) }.start()
    }

    deinit {
        queue.finishWhenDrained()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        queue.push(UnownedJob(job), executor: asUnownedSerialExecutor())
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Whether the caller runs on this executor's thread; lets the runtime verify isolation
    /// (`assumeIsolated`, `#isolation` checks) without crashing on a custom executor.
    public func isIsolatingCurrentContext() -> Bool? {
        queue.isCurrentThread
    }

    public func checkIsolated() {
        precondition(queue.isCurrentThread, "not running on the DedicatedThreadExecutor thread '\(name)'")
    }
}

/// The job queue shared between enqueuers and the dedicated thread.
///
/// `@unchecked Sendable`: every mutable property is guarded by `condition`.
private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(job: UnownedJob, executor: UnownedSerialExecutor)] = []
    private var isFinishing = false
    private var thread: pthread_t?

    func push(_ job: UnownedJob, executor: UnownedSerialExecutor) {
        condition.lock()
        jobs.append((job, executor))
        condition.signal()
        condition.unlock()
    }

    func finishWhenDrained() {
        condition.lock()
        isFinishing = true
        condition.signal()
        condition.unlock()
    }

    var isCurrentThread: Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// The dedicated thread's body: runs jobs until `finishWhenDrained()` and an empty queue.
    func run(threadName: String) {
        nameCurrentThread(threadName)
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)

        condition.lock()
        thread = pthread_self()
        condition.unlock()

        // Take the whole queue per lock round trip; a burst of jobs then costs one lock.
        var batch: [(job: UnownedJob, executor: UnownedSerialExecutor)] = []
        while true {
            condition.lock()
            while jobs.isEmpty && !isFinishing {
                condition.wait()
            }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            swap(&batch, &jobs)
            condition.unlock()

            for entry in batch {
                entry.job.runSynchronously(on: entry.executor)
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}

/// Gives the calling OS thread a name. (Foundation's `Thread.name` does not reach the OS thread
/// on Linux.) Linux keeps at most 15 bytes and rejects longer names, so the name is cut to fit.
private func nameCurrentThread(_ name: String) {
    #if os(Linux)
    // Glibc's module map does not export pthread_setname_np (it is a GNU extension), so look it
    // up at run time.
    typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "pthread_setname_np") else { return }
    let setName = unsafeBitCast(symbol, to: SetName.self)
    var bytes = Array(name.utf8.prefix(15)).map { CChar(bitPattern: $0) }
    bytes.append(0)
    _ = setName(pthread_self(), bytes)
    #elseif canImport(Darwin)
    pthread_setname_np(name)
    #endif
}
