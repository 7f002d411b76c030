import Foundation

/// Starting other programs from a Swift process (tests and tools), cleanly.
///
/// Not Foundation's `Process`, whose `waitUntilExit` can hang here. Unlike `system()`, a child
/// starts with no blocked signals and default handlers (it would inherit the calling thread's
/// mask, and Swift's pool threads block most signals, so a server started from one would
/// ignore SIGTERM), and with only descriptors 0, 1 and 2 (SwiftNIO's sockets are not
/// close-on-exec, and a child holding another test's listening socket would keep accepting
/// connections on that port, never answered, after the test closed it).
public enum ChildProcess {
    public struct SpawnError: Error, CustomStringConvertible {
        public let program: String
        public let code: Int32
        public var description: String { "could not start \(program): error \(code)" }
    }

    /// Starts `program` (a path) and returns its pid; `environment` replaces this process's
    /// environment when given ("NAME=value" entries).
    public static func spawn(_ program: String, _ arguments: [String], environment: [String]? = nil) throws(SpawnError) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        // glibc 2.34+, and a GNU extension that Glibc's module map does not export: looked up at run time.
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&fileActions, 3)
        }

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup($0) } + [nil] }
        defer { envp?.forEach { free($0) } }
        var child = pid_t()
        let status = if let envp {
            posix_spawn(&child, program, &fileActions, &attributes, argv, envp)
        } else {
            posix_spawn(&child, program, &fileActions, &attributes, argv, environ)
        }
        guard status == 0 else { throw SpawnError(program: program, code: status) }
        return child
    }

    /// Waits for the child to end; its exit status, or -1 when a signal ended it.
    @discardableResult
    public static func wait(for child: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }

    /// Runs `/bin/sh -c command` to the end; its exit status (-1 if it could not start).
    /// Blocks the calling thread.
    public static func runShell(_ command: String) -> Int32 {
        guard let child = try? spawn("/bin/sh", ["-c", command]) else { return -1 }
        return wait(for: child)
    }

    /// `wait(for:)` on a thread of its own, so a child that takes its time (a server shutting
    /// down, a broker starting) never holds one of the few threads of Swift's cooperative pool:
    /// on two cores, two such waits stop every other task of the process.
    @discardableResult
    public static func wait(for child: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: wait(for: child)) }.start()
        }
    }

    /// `runShell`, waiting on a thread of its own (see the asynchronous `wait(for:)`).
    public static func runShell(_ command: String) async -> Int32 {
        guard let child = try? spawn("/bin/sh", ["-c", command]) else { return -1 }
        return await wait(for: child)
    }
}
