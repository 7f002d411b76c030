import RedisClient
import Testing

@Suite("Commands against a real Redis", .timeLimit(.minutes(10)))
struct CommandTests {
    @Test func setThenGetReturnsTheValue() async throws {
        let redis = try TestRedis.connection()
        let key = TestRedis.key("greeting")

        #expect(try await redis.execute(["SET", key, "hello"]) == .status("OK"))
        #expect(try await redis.execute(["GET", key]) == .bulk("hello"))
    }

    @Test(arguments: [
        "two words",
        "line one\nline two\r\n",
        "ünïcödé ✓ 株式 📈",
        "",
        "nul\0inside",
        "looks like a command\r\nFLUSHALL\r\n",
        #"{"symbol":"ABC","price":"12.34"}"#,
    ])
    func valuesSurviveExactly(value: String) async throws {
        let redis = try TestRedis.connection()
        let key = TestRedis.key("value \n with spaces")

        _ = try await redis.execute(["SET", key, value])
        let reply = try await redis.execute(["GET", key])

        #expect(reply == .bulk(value))
        #expect(try await redis.execute(["STRLEN", key]) == .integer(Int64(value.utf8.count)))
    }

    @Test func integerRepliesAndCounters() async throws {
        let redis = try TestRedis.connection()
        let key = TestRedis.key("counter")

        #expect(try await redis.execute(["INCR", key]) == .integer(1))
        #expect(try await redis.execute(["INCRBY", key, "41"]) == .integer(42))
        #expect(try await redis.execute(["DECRBY", key, "-9223372036854775000"]).int == 9_223_372_036_854_775_042)
        // GET returns the counter as a bulk string; `int` parses it.
        #expect(try await redis.execute(["GET", key]).int == 9_223_372_036_854_775_042)
    }

    @Test func missingValuesAreNull() async throws {
        let redis = try TestRedis.connection()
        let missing = TestRedis.key("missing")

        let reply = try await redis.execute(["GET", missing])
        #expect(reply == .null)
        #expect(reply.isNull)
        #expect(reply.string == nil)
    }

    @Test func arrayReplies() async throws {
        let redis = try TestRedis.connection()
        let list = TestRedis.key("list")
        let present = TestRedis.key("present")

        #expect(try await redis.execute(["RPUSH", list, "a", "b c", "d"]) == .integer(3))
        #expect(try await redis.execute(["LRANGE", list, "0", "-1"]) == .array([.bulk("a"), .bulk("b c"), .bulk("d")]))
        #expect(try await redis.execute(["LRANGE", TestRedis.key("empty"), "0", "-1"]) == .array([]))

        _ = try await redis.execute(["SET", present, "1"])
        let values = try await redis.execute(["MGET", present, TestRedis.key("absent")])
        #expect(values.array == [.bulk("1"), .null])
    }

    @Test func errorReplyIsThrownByExecute() async throws {
        let redis = try TestRedis.connection()
        let key = TestRedis.key("not a number")
        _ = try await redis.execute(["SET", key, "abc"])

        let error = await #expect(throws: RedisError.self) { try await redis.execute(["INCR", key]) }
        guard case .server(let message) = error else {
            Issue.record("expected a server error, got \(String(describing: error))")
            return
        }
        #expect(message.hasPrefix("ERR"))
        // An error reply is an answer, not a failure: the connection goes on working.
        #expect(try await redis.execute(["GET", key]) == .bulk("abc"))
    }

    @Test func errorReplyIsAnElementOfAPipeline() async throws {
        let redis = try TestRedis.connection()
        let key = TestRedis.key("not a number")

        let replies = try await redis.pipeline([["SET", key, "abc"], ["INCR", key], ["GET", key]])

        #expect(replies.count == 3)
        #expect(replies[0] == .status("OK"))
        guard case .error(let message) = replies[1] else {
            Issue.record("expected an error reply, got \(replies[1])")
            return
        }
        #expect(message.hasPrefix("ERR"))
        #expect(replies[2] == .bulk("abc"))
    }

    @Test func luaScriptWithKeysAndArguments() async throws {
        let redis = try TestRedis.connection()
        let balance = TestRedis.key("balance")
        let log = TestRedis.key("log")
        // Debit only when the balance covers it: the kind of check-and-set a script does atomically.
        let script = """
            local balance = tonumber(redis.call('GET', KEYS[1]) or '0')
            local amount = tonumber(ARGV[1])
            if balance < amount then return {0, balance} end
            redis.call('DECRBY', KEYS[1], amount)
            redis.call('RPUSH', KEYS[2], ARGV[2])
            return {1, balance - amount}
            """
        _ = try await redis.execute(["SET", balance, "100"])

        let first = try await redis.execute(["EVAL", script, "2", balance, log, "70", "buy ABC"])
        let second = try await redis.execute(["EVAL", script, "2", balance, log, "70", "buy XYZ"])

        #expect(first == .array([.integer(1), .integer(30)]))
        #expect(second == .array([.integer(0), .integer(30)]))
        #expect(try await redis.execute(["LRANGE", log, "0", "-1"]) == .array([.bulk("buy ABC")]))
    }

    @Test func scriptErrorsAreServerErrors() async throws {
        let redis = try TestRedis.connection()

        await #expect(throws: RedisError.self) {
            try await redis.execute(["EVAL", "return redis.call('NOSUCHCOMMAND')", "0"])
        }
    }

    @Test func emptyCommandIsRejectedWithoutDesynchronisingTheConnection() async throws {
        let redis = try TestRedis.connection()

        await #expect(throws: RedisError.invalidCommand("a command needs at least its name")) {
            try await redis.execute([])
        }
        await #expect(throws: RedisError.self) { try await redis.pipeline([["PING"], []]) }
        #expect(try await redis.pipeline([]) == [])
        #expect(try await redis.execute(["ECHO", "still in step"]) == .bulk("still in step"))
    }

    @Test func pingAnswers() async throws {
        try await TestRedis.connection().ping()
        try await TestRedis.client().ping()
    }
}
