import ChildProcess
import Foundation
import Logging
import RedisClient
import Synchronization
import Testing
import TimeLimits

/// The shared test Redis, started by `make test`, on 127.0.0.1 at `DAYTRADER_TEST_REDIS_PORT`.
enum TestRedis {
    struct NotConfigured: Error, CustomStringConvertible {
        let description =
            "DAYTRADER_TEST_REDIS_PORT is not set: start a redis-server on 127.0.0.1 and export its port "
            + "(`make test` does both)"
    }

    static func port() throws -> Int {
        guard let text = ProcessInfo.processInfo.environment["DAYTRADER_TEST_REDIS_PORT"], let port = Int(text)
        else { throw NotConfigured() }
        return port
    }

    static func connection() throws -> RedisConnection {
        RedisConnection(host: "127.0.0.1", port: try port(), logger: testLogger)
    }

    static func client() throws -> RedisClient {
        RedisClient(host: "127.0.0.1", port: try port(), logger: testLogger)
    }

    /// A key no other test (or earlier run) uses, so tests can share one server in parallel.
    static func key(_ name: String) -> String {
        "test:\(UUID().uuidString):\(name)"
    }
}

let testLogger = Logger(label: "RedisClientTests")


/// The outcome of one command, as a value (so it can cross `within`).
func attempt(
    _ redis: some RedisCommanding, _ arguments: [String]
) async -> Result<RedisReply, RedisError> {
    do {
        return .success(try await redis.execute(arguments))
    } catch {
        return .failure(error)
    }
}

/// Retries PING until it succeeds or `limit` passes.
func waitUntilReachable(_ redis: some RedisCommanding, limit: Duration = .seconds(15)) async throws {
    let deadline = ContinuousClock.now + limit
    while true {
        let result = try await within(.seconds(5), "PING") { await attempt(redis, ["PING"]) }
        if case .success = result { return }
        guard ContinuousClock.now < deadline else {
            throw StillWaiting(what: "Redis to become reachable (last result: \(result))")
        }
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// A private redis-server that a test may kill, stop and restart.
final class RedisServerProcess {
    let port: Int
    private let directory: URL
    private var pidFile: URL { directory.appending(path: "redis.pid") }

    init() throws {
        port = try freePort()
        directory = FileManager.default.temporaryDirectory.appending(path: "redis-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts the daemon and waits for its pid file (written once it listens).
    func start() async throws {
        try? FileManager.default.removeItem(at: pidFile)
        // It forks away at once; reap the parent. (ChildProcess: see why not Foundation's Process.)
        await ChildProcess.wait(for: try ChildProcess.spawn("/usr/bin/redis-server", [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "yes", "--pidfile", pidFile.path, "--dir", directory.path,
            "--logfile", directory.appending(path: "redis.log").path,
        ]))
        let deadline = ContinuousClock.now + .seconds(10)
        while pid == nil {
            guard ContinuousClock.now < deadline else { throw StillWaiting(what: "redis-server pid file") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends `signal` to the daemon.
    func send(_ signal: Int32) {
        if let pid { kill(pid, signal) }
    }

    /// Kills the daemon outright (as a crash would) and waits until it is gone.
    func crash() async throws {
        guard let pid else { return }
        kill(pid, SIGKILL)
        try? FileManager.default.removeItem(at: pidFile)
        let deadline = ContinuousClock.now + .seconds(10)
        while isAlive(pid) {
            guard ContinuousClock.now < deadline else { throw StillWaiting(what: "redis-server \(pid) to exit") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() {
        send(SIGCONT)  // a stopped server cannot act on SIGTERM
        send(SIGTERM)
    }

    private var pid: pid_t? {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}


/// Whether `pid` is still running. A killed daemon may stay a zombie when nothing reaps orphans
/// (as in some containers), but a zombie no longer holds its sockets.
private func isAlive(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let afterName = stat.range(of: ") ")
    else { return false }
    return stat[afterName.upperBound] != "Z"
}

