import ChildProcess
import DayTraderCore
import Foundation
import Testing

/// The pages' live updates (`GET /api/events`): a change committed on one instance reaches a
/// stream held open on another, through Redis; only those who may read an account may watch it.
@Suite(.timeLimit(.minutes(10))) struct LiveUpdatesTests {
    /// An event stream read by curl into a file, on a thread of its own (not Swift's pool, which
    /// the in-process servers need).
    struct Stream {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString)").path
        let pid: pid_t

        init(port: Int, user: String, headers: [String] = []) throws {
            let extra = headers.map { " -H '\($0)'" }.joined()
            pid = try ChildProcess.spawn("/bin/sh", ["-c", "exec curl -s -N -i --max-time 120\(extra) 'http://127.0.0.1:\(port)/api/events?user=\(user)' >'\(file)' 2>/dev/null"])
        }

        var text: String { (try? String(contentsOfFile: file, encoding: .utf8)) ?? "" }

        func close() {
            kill(pid, SIGTERM)
            ChildProcess.wait(for: pid)
            try? FileManager.default.removeItem(atPath: file)
        }
    }

    @Test func aChangeOnOneInstanceReachesAStreamOnAnother() async throws {
        let fixture = try await TradingServerFixture.make(settings: SignInTests.settings)
        let alice = Unique.user("alice"), bob = Unique.user("bob")
        try await fixture.withServer(name: "a") { first in
            try await fixture.withServer(name: "b") { second in
                let signedUp = try await first.send("auth/signup", ["name": alice, "password": SignInTests.password])
                let cookie = try #require(SignInTests.cookie(of: signedUp)[.cookie])
                let stream = try Stream(port: second.port, user: alice, headers: ["Cookie: \(cookie)"])
                defer { stream.close() }
                #expect(try await eventually(within: .seconds(30)) { stream.text.contains("event: ready") }, "\(stream.text)")
                #expect(stream.text.hasPrefix("HTTP/1.1 200") && stream.text.contains("text/event-stream"), "\(stream.text)")

                // Bob's change is not alice's; alice's own, on the other instance, is.
                #expect(try await first.send("add", ["user": bob, "amount": "5.00"], headers: SignInTests.service).isOK)
                let add = try await first.send("add", ["user": alice, "amount": "12.34"], headers: [.cookie: cookie])
                #expect(add.isOK, "\(add.body)")
                #expect(try await eventually(within: .seconds(30)) { stream.text.contains("event: account") }, "\(stream.text)")
                let events = stream.text.components(separatedBy: "\n").filter { $0.hasPrefix("data: {\"user\"") }
                #expect(!events.isEmpty && events.allSatisfy { $0.contains("\"user\":\"\(alice)\"") }, "\(events)")

                // Alice may not watch bob; no one watches without signing in.
                let other = try Stream(port: second.port, user: bob, headers: ["Cookie: \(cookie)"])
                defer { other.close() }
                let anonymous = try Stream(port: second.port, user: alice)
                defer { anonymous.close() }
                #expect(try await eventually(within: .seconds(30)) { other.text.contains("forbidden") && anonymous.text.contains("unauthenticated") },
                        "\(other.text) / \(anonymous.text)")
            }
        }
    }
}
