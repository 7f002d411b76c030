import ChildProcess
import Foundation
import RedisClient
import Testing
import TimeLimits

/// These tests run their own redis-server, since they kill and stop it.
@Suite("Redis down and back", .timeLimit(.minutes(10)))
struct OutageTests {
    @Test func commandsFailFastWhileRedisIsDownAndRecoverWhenItReturns() async throws {
        let server = try RedisServerProcess()
        try await server.start()
        let redis = RedisConnection(host: "127.0.0.1", port: server.port, logger: testLogger)
        try await waitUntilReachable(redis)
        let key = TestRedis.key("survivor")
        #expect(try await redis.execute(["SET", key, "before"]) == .status("OK"))

        try await server.crash()

        // A write too big for one send() to a dead peer: the second send() fails with EPIPE,
        // which must be an error for the caller, not a SIGPIPE that kills the process.
        let bigValue = String(repeating: "x", count: 16 << 20)
        let bigWrite = try await within(.seconds(10), "a large write to a dead server") {
            await attempt(redis, ["SET", key, bigValue])
        }
        #expect(throws: RedisError.self) { try bigWrite.get() }

        // The next commands cannot connect.
        for _ in 0..<3 {
            let result = try await within(.seconds(10), "a command while Redis is down") {
                await attempt(redis, ["GET", key])
            }
            switch result {
            case .failure(.connectionLost), .failure(.connectionFailed), .failure(.timedOut): break
            default: Issue.record("expected a connection error while Redis is down, got \(result)")
            }
        }
        // Within the back-off window a command fails without trying to connect.
        let duringBackOff = try await within(.seconds(10), "a command during back-off") {
            await attempt(redis, ["GET", key])
        }
        guard case .failure(.connectionFailed) = duringBackOff else {
            Issue.record("expected connectionFailed during back-off, got \(duringBackOff)")
            return
        }

        try await server.start()

        // Same connection object: it reconnects by itself (the new server is empty: no persistence).
        try await waitUntilReachable(redis)
        #expect(try await redis.execute(["GET", key]) == .null)
        #expect(try await redis.execute(["SET", key, "after"]) == .status("OK"))
        #expect(try await redis.execute(["GET", key]) == .bulk("after"))
    }

    @Test func clientRecoversOnEveryConnection() async throws {
        let server = try RedisServerProcess()
        try await server.start()
        let redis = RedisClient(host: "127.0.0.1", port: server.port, connections: 2, logger: testLogger)
        for connection in redis.connections { try await waitUntilReachable(connection) }

        try await server.crash()
        for _ in 0..<4 {
            let result = try await within(.seconds(10), "a command while Redis is down") {
                await attempt(redis, ["PING"])
            }
            #expect(throws: RedisError.self) { try result.get() }
        }
        try await server.start()

        for connection in redis.connections { try await waitUntilReachable(connection) }
        try await redis.ping()
    }

    /// A server that accepts but never answers (here: stopped with SIGSTOP) must not block callers
    /// beyond the command timeout.
    @Test func unresponsiveServerTimesOutAndRecovers() async throws {
        let server = try RedisServerProcess()
        try await server.start()
        let redis = RedisConnection(
            host: "127.0.0.1", port: server.port, commandTimeout: .milliseconds(300), logger: testLogger)
        try await waitUntilReachable(redis)

        server.send(SIGSTOP)
        let result = try await within(.seconds(10), "a command to a stopped server") {
            await attempt(redis, ["PING"])
        }
        server.send(SIGCONT)

        #expect(throws: RedisError.timedOut) { try result.get() }
        try await waitUntilReachable(redis)
    }

    @Test func unreachableServerFailsWithConnectionFailed() async throws {
        let redis = RedisConnection(host: "127.0.0.1", port: try freePort(), logger: testLogger)

        for _ in 0..<3 {
            let result = try await within(.seconds(10), "a command to a closed port") {
                await attempt(redis, ["PING"])
            }
            guard case .failure(.connectionFailed) = result else {
                Issue.record("expected connectionFailed, got \(result)")
                return
            }
        }
    }
}
