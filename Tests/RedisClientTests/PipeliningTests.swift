import RedisClient
import Testing

@Suite("Pipelining", .timeLimit(.minutes(10)))
struct PipeliningTests {
    /// Each reply must reach the caller that sent the command, however the calls are batched.
    @Test func thousandConcurrentIncrementsAllCount() async throws {
        let redis = try TestRedis.connection()
        let key = TestRedis.key("hits")

        let replies = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<1_000 {
                group.addTask { try await redis.execute(["INCR", key]).int ?? -1 }
            }
            return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
        }

        #expect(try await redis.execute(["GET", key]).int == 1_000)
        // Every caller saw a different count, so no reply went to the wrong caller.
        #expect(replies == Set(1...1_000))
    }

    @Test func concurrentCallersGetTheirOwnReplies() async throws {
        let redis = try TestRedis.client()
        let prefix = TestRedis.key("echo")

        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<500 {
                group.addTask {
                    let value = "\(prefix)-\(index)"
                    let reply = try await redis.execute(["ECHO", value])
                    #expect(reply == .bulk(value))
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func thousandConcurrentIncrementsOverSeveralConnections() async throws {
        let redis = try TestRedis.client()
        let key = TestRedis.key("hits")

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<1_000 {
                group.addTask { _ = try await redis.execute(["INCR", key]) }
            }
            try await group.waitForAll()
        }

        #expect(try await redis.execute(["GET", key]).int == 1_000)
    }

    @Test func pipelineRepliesComeInOrder() async throws {
        let redis = try TestRedis.connection()
        let key = TestRedis.key("ordered")

        let replies = try await redis.pipeline(
            [["SET", key, "10"], ["INCR", key], ["INCRBY", key, "5"], ["GET", key], ["DEL", key], ["GET", key]])

        #expect(replies == [.status("OK"), .integer(11), .integer(16), .bulk("16"), .integer(1), .null])
    }

    /// MULTI ... EXEC in one pipeline stays one transaction while other callers hammer the
    /// same connection.
    @Test func transactionsStayBackToBackAmongConcurrentCallers() async throws {
        let redis = try TestRedis.connection()
        let counter = TestRedis.key("counter")
        let noise = TestRedis.key("noise")

        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    if index.isMultiple(of: 2) {
                        let replies = try await redis.pipeline([
                            ["MULTI"], ["INCR", counter], ["INCR", counter], ["EXEC"],
                        ])
                        #expect(replies.count == 4)
                        #expect(replies[0] == .status("OK"))
                        #expect(replies[1] == .status("QUEUED"))
                        #expect(replies[2] == .status("QUEUED"))
                        // Both increments ran together: the second leaves an even count.
                        let second = replies[3].array?.last?.int ?? -1
                        #expect(second.isMultiple(of: 2))
                    } else {
                        _ = try await redis.execute(["INCR", noise])
                    }
                }
            }
            try await group.waitForAll()
        }

        #expect(try await redis.execute(["GET", counter]).int == 200)
        #expect(try await redis.execute(["GET", noise]).int == 100)
    }
}
