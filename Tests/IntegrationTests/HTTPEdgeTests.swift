import DayTraderCore
import Foundation
import Testing

/// Requests at the HTTP level that no well-behaved client sends: each gets a clear status and
/// error, and none changes anything.
@Suite(.timeLimit(.minutes(10))) struct HTTPEdgeTests {
    @Test func badRequestsAreRefusedClearlyAndChangeNothing() async throws {
        let fixture = try await TradingServerFixture.make()
        try await fixture.withServer { client in
            let user = Unique.user()
            #expect(try await client.send("add", ["user": user, "amount": "10.00"]).isOK)
            let add = #"{"user":"\#(user)","amount":"1.00"}"#

            // Only JSON is read: a form post from any web page is refused (415).
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", nil] as [String?] {
                let reply = try await client.sendRaw("add", add, contentType: contentType)
                #expect(reply.status == .unsupportedMediaType, "\(String(describing: contentType))")
                #expect(reply.errorCode == "malformed_command")
            }
            #expect(try await client.sendRaw("add", add, contentType: "application/json; charset=utf-8").isOK)

            // Truncated and malformed JSON, and numbers no field can hold.
            for body in [#"{"user":"\#(user)","amount":"1."#, "{", "", "null", "[1,2]", #"{"user":"\#(user)","amount":"1.00","transactionNum":99999999999999999999}"#,
                         #"{"user":"\#(user)","amount":"1.00","transactionNum":1e3}"#, #"{"user":"\#(user)","amount":"1.00","transactionNum":-9223372036854775809}"#] {
                let reply = try await client.sendRaw("add", body)
                #expect(reply.status == .badRequest, "\(body): \(reply)")
                #expect(reply.errorCode == "malformed_command", "\(body): \(reply)")
            }
            #expect(try await client.send("add", ["user": user, "amount": "99999999999999999999.00"]).errorCode == "amount_too_large")

            // Over the limit (413).
            let huge = #"{"user":"\#(user)","amount":"1.00","pad":"\#(String(repeating: "x", count: 20_000))"}"#
            #expect(try await client.sendRaw("add", huge).status == .contentTooLarge)

            // Unicode and control characters in a user id: refused, logged with the text made safe.
            for name in ["ünïcødé", "a\u{7}b", "tab\tuser", "\u{202E}evil", "😀"] {
                let reply = try await client.send("add", ["user": name, "amount": "1.00"])
                #expect(reply.status == .badRequest && reply.errorCode == "invalid_user_id", "\(name): \(reply)")
            }

            // Unknown routes and methods.
            #expect(try await client.send("steal", ["user": user]).status == .notFound)
            #expect(try await client.get("/api/add").status == .notFound)
            #expect(try await client.get("/../../etc/passwd").status == .notFound)

            // Of all that, only the two good ADDs changed anything.
            #expect(try await client.send("display-summary", ["user": user])["cash"] == "11.00")
        }
        try await fixture.checkLedgerMatchesBalances()
    }
}
