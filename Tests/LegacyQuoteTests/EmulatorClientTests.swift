import DayTraderCore
import Logging
import Testing
@testable import LegacyQuote

/// The client against a real emulator on an ephemeral loopback port.
@Suite(.timeLimit(.minutes(10))) struct EmulatorClientTests {
    static let silent = Logger(label: "LegacyQuoteTests", factory: { _ in SwiftLogNoOpLogHandler() })
    let abc = try! StockSymbol(validating: "ABC")
    let xyz = try! StockSymbol(validating: "XYZ")
    let alice = try! UserID(validating: "alice")

    /// Runs `body` with a started emulator and its port, and always stops the emulator.
    func withEmulator(
        latency: LatencyProfile = .immediate,
        _ body: (QuoteEmulator, Int) async throws -> Void
    ) async throws {
        let emulator = QuoteEmulator(port: 0, seed: 468, latency: latency, logger: Self.silent)
        let port = try await emulator.start()
        do {
            try await body(emulator, port)
        } catch {
            try await emulator.stop()
            throw error
        }
        try await emulator.stop()
    }

    /// Generous time limits unless a test is about them: at the start of `make test` every suite
    /// starts at once on two cores, and an answer 2 s late is no fault of the emulator's.
    func client(port: Int, timeout: Duration = .seconds(30), attempts: Int = 3) -> LegacyQuoteClient {
        LegacyQuoteClient(host: "127.0.0.1", port: port, timeout: timeout, attempts: attempts, logger: Self.silent)
    }

    func remote(port: Int) -> QuoteEmulatorRemote {
        QuoteEmulatorRemote(host: "127.0.0.1", port: port, timeout: .seconds(30))
    }

    @Test func fetchReturnsTheEmulatorsDeterministicQuote() async throws {
        try await withEmulator { emulator, port in
            let quote = try await client(port: port).fetch(symbol: abc, user: alice)
            #expect(quote.symbol == abc)
            #expect(quote.user == "alice")
            let time = Timestamp(unixMillis: quote.quoteServerTime)
            #expect(quote.price == EmulatedPrices(seed: 468).price(for: abc, at: time))
            #expect(quote.cryptokey == EmulatedPrices(seed: 468).cryptokey(symbol: "ABC", user: "alice", at: time))
            #expect(abs(quote.quoteServerTime - currentTimestamp().unixMillis) < 60_000)
            #expect(emulator.hitCount(for: abc) == 1)
        }
    }

    @Test func setPriceIsHonouredUntilCleared() async throws {
        try await withEmulator { emulator, port in
            emulator.setPrice(Money(cents: 1_234), for: abc)
            let fixed = try await client(port: port).fetch(symbol: abc, user: alice)
            #expect(fixed.price == Money(cents: 1_234))
            emulator.setPrice(nil, for: abc)
            let generated = try await client(port: port).fetch(symbol: abc, user: alice)
            #expect(generated.price == EmulatedPrices(seed: 468).price(for: abc, at: Timestamp(unixMillis: generated.quoteServerTime)))
        }
    }

    @Test func hitCountsArePerSymbolAndReset() async throws {
        try await withEmulator { emulator, port in
            let client = client(port: port)
            _ = try await client.fetch(symbol: abc, user: alice)
            _ = try await client.fetch(symbol: abc, user: alice)
            _ = try await client.fetch(symbol: xyz, user: alice)
            #expect(emulator.hitCount(for: abc) == 2)
            #expect(emulator.hitCount(for: xyz) == 1)
            #expect(emulator.hitCount() == 3)
            emulator.resetHitCounts()
            #expect(emulator.hitCount() == 0)
        }
    }

    @Test func controlLinesDriveTheEmulatorOverTCP() async throws {
        try await withEmulator { emulator, port in
            let remote = self.remote(port: port)
            #expect(try await remote.send("!SET ABC 12.34") == "OK")
            let quote = try await client(port: port).fetch(symbol: abc, user: alice)
            #expect(quote.price == Money(cents: 1_234))
            #expect(try await remote.send("!HITS") == "1")
            #expect(try await remote.send("!HITS ABC") == "1")
            #expect(try await remote.send("!HITS XYZ") == "0")
            #expect(try await remote.send("!RESET") == "OK")
            #expect(try await remote.send("!HITS") == "0")
            #expect(try await remote.send("!CLEAR ABC") == "OK")
            #expect(try await remote.send("!FLY ABC").hasPrefix("ERR "))
            #expect(try await remote.send("!SET ABC 1.234").hasPrefix("ERR "))
            #expect(try await remote.send("!SET abc 1.23").hasPrefix("ERR "))
            #expect(emulator.hitCount() == 0, "control lines are not hits")
        }
    }

    @Test func typedRemoteCallsMatchTheInProcessState() async throws {
        try await withEmulator { emulator, port in
            let remote = self.remote(port: port)
            try await remote.setPrice(Money(cents: 500), for: xyz)
            #expect(try await client(port: port).fetch(symbol: xyz, user: alice).price == Money(cents: 500))
            #expect(try await remote.hitCount(for: xyz) == emulator.hitCount(for: xyz))
            try await remote.resetHitCounts()
            #expect(try await remote.hitCount() == 0)
        }
    }

    @Test(arguments: ["abc,alice", "ABC", "ABC,al ice", "ABCD,alice", "ABC,alice,extra", ""])
    func invalidRequestsGetNAAndAreNotHits(_ request: String) async throws {
        try await withEmulator { emulator, port in
            let reply = try await remote(port: port).send(request)
            #expect(QuoteWireFormat.isRejection(reply), "reply: \(reply)")
            #expect(reply.hasPrefix("0.00,"))
            #expect(emulator.hitCount() == 0)
        }
    }

    @Test func anOverlongRequestIsAnsweredAsInvalid() async throws {
        try await withEmulator { _, port in
            let garbage = String(repeating: "A", count: 5_000)
            let reply = try await remote(port: port).send(garbage)
            #expect(reply.hasPrefix("0.00,NA,NA,"))
        }
    }

    @Test func servesManyConcurrentSlowRequests() async throws {
        try await withEmulator(latency: .fixed(milliseconds: 100)) { emulator, port in
            let client = client(port: port)
            let symbol = abc
            let prices = try await withThrowingTaskGroup(of: Money.self) { group in
                for index in 0..<100 {
                    let user = try UserID(validating: "user\(index)")
                    group.addTask { try await client.fetch(symbol: symbol, user: user).price }
                }
                return try await group.reduce(into: [Money]()) { $0.append($1) }
            }
            #expect(prices.count == 100)
            #expect(emulator.hitCount(for: abc) == 100)
        }
    }

    @Test func timesOutAgainstAServerThatNeverAnswers() async throws {
        try await withEmulator { emulator, port in
            emulator.injectFault(.stall, count: 2)
            await #expect(throws: QuoteError.timedOut) {
                try await client(port: port, timeout: .milliseconds(200), attempts: 2).fetch(symbol: abc, user: alice)
            }
            #expect(emulator.hitCount() == 0)
            // The stalls are finite: a later request is answered. Under load an attempt can time
            // out before the emulator has read its line, leaving a stall for the next request,
            // so this one gets as many attempts as there were stalls, plus one.
            _ = try await client(port: port, attempts: 3).fetch(symbol: abc, user: alice)
        }
    }

    @Test func retriesAfterATimeout() async throws {
        try await withEmulator { emulator, port in
            emulator.injectFault(.stall)
            // Long enough that the answered second attempt cannot time out on a busy machine.
            let quote = try await client(port: port, timeout: .seconds(1), attempts: 2).fetch(symbol: abc, user: alice)
            #expect(quote.symbol == abc)
            #expect(emulator.hitCount() == 1)
        }
    }

    @Test func retriesAfterADroppedConnection() async throws {
        try await withEmulator { emulator, port in
            emulator.injectFault(.drop)
            let quote = try await client(port: port, attempts: 2).fetch(symbol: abc, user: alice)
            #expect(quote.user == "alice")
            #expect(emulator.hitCount() == 1)
        }
    }

    @Test func givesUpAfterItsLastAttempt() async throws {
        try await withEmulator { emulator, port in
            try await remote(port: port).injectFault(.drop, count: 3)
            await #expect {
                try await client(port: port, attempts: 3).fetch(symbol: abc, user: alice)
            } throws: { error in
                guard case .connectionFailed = error as? QuoteError else { return false }
                return true
            }
            #expect(emulator.hitCount() == 0)
        }
    }

    @Test func reportsARefusedConnection() async throws {
        let emulator = QuoteEmulator(port: 0, seed: 1, latency: .immediate, logger: Self.silent)
        let port = try await emulator.start()
        try await emulator.stop()
        await #expect {
            try await client(port: port, attempts: 1).fetch(symbol: abc, user: alice)
        } throws: { error in
            // Not "refused" by name: tests run in parallel, and the freed port may already
            // belong to another test's server, which resets the stranger's connection.
            guard case .connectionFailed = error as? QuoteError else { return false }
            return true
        }
    }

    @Test func cancellationEndsAWaitingFetch() async throws {
        try await withEmulator { emulator, port in
            emulator.injectFault(.stall)
            let client = client(port: port, timeout: .seconds(30), attempts: 1)
            let symbol = abc
            let user = alice
            let fetch = Task { try await client.fetch(symbol: symbol, user: user) }
            fetch.cancel()
            await #expect(throws: QuoteError.cancelled) { try await fetch.value }
        }
    }
}
