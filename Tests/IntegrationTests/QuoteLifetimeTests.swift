import ChildProcess
import DayTraderCore
import Foundation
import Synchronization
import Testing

/// A price is used only while its quote is live at the moment the log says it was used: a
/// command's (or a firing's) time is before the quote's expiry, however slowly the work goes.
@Suite(.timeLimit(.minutes(10))) struct QuoteLifetimeTests {
    /// A clock that moves on by `step` every time it is read: each step of the work happens
    /// later than the one before, as on a loaded machine.
    final class SteppingClock: TradingClock {
        private let current = Mutex<Int64>(1_700_000_000_000)
        let step: Int64
        init(step: Int64) { self.step = step }
        func now() -> Timestamp { Timestamp(unixMillis: current.withLock { $0 += step; return $0 }) }
    }

    @Test func everyPriceIsLiveAtTheTimeItIsLoggedAt() async throws {
        let symbol = StockSymbol.unchecked("LIV")
        // A lifetime of a few clock readings, and no broker: every record stays in the outbox.
        let fixture = try await TradingServerFixture.make(
            clock: SteppingClock(step: 150), rabbitMQPort: try freePort(),
            settings: ["quote.lifetime.ms": 1_000, "trigger.interval.ms": 50, "sweep.interval.ms": 3_600_000]
        )
        fixture.emulator.setPrice(Money(cents: 10_00), for: symbol)
        try await fixture.withServer { client in
            let user = Unique.user("live")
            #expect(try await client.send("add", ["user": user, "amount": "100000.00"]).isOK)
            for round in 0..<40 {
                #expect(try await client.send("quote", ["user": user, "symbol": "LIV"]).isOK)
                #expect(try await client.send("buy", ["user": user, "symbol": "LIV", "amount": "20.00"]).isOK)
                #expect(try await client.send(round % 2 == 0 ? "commit-buy" : "cancel-buy", ["user": user]).isOK)
                if round % 10 == 0 {
                    // A trigger that holds at once, and one that the engine fires on a later quote.
                    try await client.send("set-buy-amount", ["user": user, "symbol": "LIV", "amount": "50.00"])
                    try await client.send("set-buy-trigger", ["user": user, "symbol": "LIV", "amount": "10.00"])
                }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let records = try await fixture.withPostgres { postgres in
            var records: [TransactionRecord] = []
            for try await text in try await postgres.query("SELECT record FROM audit_outbox", logger: TestServices.logger).decode(String.self) {
                records.append(try TransactionRecord(parsing: text))
            }
            return records
        }
        var priced = 0
        var firings = 0
        for record in records {
            guard let quote = record.head.quote else { continue }
            priced += 1
            if record.head.kind == .firing { firings += 1 }
            #expect(record.head.at < quote.expiresAt, "\(record.head.kind) at \(record.head.at) used a quote that expired at \(quote.expiresAt)")
        }
        #expect(priced >= 80, "the priced commands were all checked")
        #expect(firings > 0, "and some firings")
    }
}
