import DayTraderCore
import Testing
@testable import LegacyQuote

@Suite struct EmulatedPricesTests {
    let symbols = try! ["ABC", "QDU", "S", "XYZ", "A1", "ZZZ"].map { try StockSymbol(validating: $0) }
    let sampleTime = Timestamp(unixMillis: 1_700_000_000_000)

    @Test func sameSeedSymbolAndTimeGiveTheSamePrice() {
        for symbol in symbols {
            #expect(EmulatedPrices(seed: 468).price(for: symbol, at: sampleTime) == EmulatedPrices(seed: 468).price(for: symbol, at: sampleTime))
        }
    }

    @Test func pricesAndKeysArePinned() throws {
        // Recorded once: a change here means every seeded run in the project replays differently.
        let model = EmulatedPrices(seed: 468)
        #expect(model.price(for: try StockSymbol(validating: "ABC"), at: sampleTime) == Money(cents: 26_615))
        #expect(model.price(for: try StockSymbol(validating: "QDU"), at: sampleTime) == Money(cents: 23_068))
        #expect(model.cryptokey(symbol: "QDU", user: "alice", at: sampleTime) == "X0b31q2pSnd1lrLKtfezziZnsgXhpWdGOkJWAWYA+aAjqWDpqUYuqpAf")
        #expect(fnv1a("a") == 0xAF63_DC4C_8601_EC8C, "the published FNV-1a 64 value of \"a\"")
    }

    @Test func differentSeedsGiveDifferentPrices() {
        let first = symbols.map { EmulatedPrices(seed: 468).price(for: $0, at: sampleTime) }
        let second = symbols.map { EmulatedPrices(seed: 469).price(for: $0, at: sampleTime) }
        #expect(first != second)
    }

    @Test func differentSymbolsGetDifferentPrices() {
        let prices = Set(symbols.map { EmulatedPrices(seed: 468).price(for: $0, at: sampleTime) })
        #expect(prices.count == symbols.count)
    }

    @Test func priceHoldsWithinABucketAndDriftsAtMostFivePercentFromItsBase() throws {
        let model = EmulatedPrices(seed: 7)
        let symbol = try StockSymbol(validating: "QDU")
        let bucketStart = Timestamp(unixMillis: 1_700_000_000_000)
        #expect(model.price(for: symbol, at: bucketStart) == model.price(for: symbol, at: bucketStart.adding(milliseconds: 9_999)))
        let hourOfPrices = (0..<360).map { model.price(for: symbol, at: bucketStart.adding(milliseconds: Int64($0) * 10_000)).cents }
        let lowest = try #require(hourOfPrices.min())
        let highest = try #require(hourOfPrices.max())
        #expect(lowest < highest, "the price should move over an hour")
        // Every price is base·(1 ± 5%), so the widest spread is 10.5/9.5 of the lowest.
        #expect(Double(highest) <= Double(lowest) * 1.05 / 0.95 + 1)
    }

    @Test func pricesArePositiveAndRealistic() {
        for seed in UInt64(0)..<50 {
            for symbol in symbols {
                let price = EmulatedPrices(seed: seed).price(for: symbol, at: sampleTime)
                #expect(price >= Money(cents: 475) && price <= Money(cents: 105_000))
            }
        }
    }

    @Test func cryptokeyIsDeterministicBase64OfFiftySixCharacters() throws {
        let model = EmulatedPrices(seed: 468)
        let key = model.cryptokey(symbol: "QDU", user: "alice", at: sampleTime)
        #expect(key.count == 56)
        #expect(key == model.cryptokey(symbol: "QDU", user: "alice", at: sampleTime))
        #expect(key != model.cryptokey(symbol: "QDU", user: "bob", at: sampleTime))
        #expect(key != model.cryptokey(symbol: "QDU", user: "alice", at: sampleTime.adding(milliseconds: 1)))
        let quote = try QuoteWireFormat.parseReply("1.00,QDU,alice,0,\(key)", expecting: StockSymbol(validating: "QDU"))
        #expect(quote.cryptokey == key)
    }

    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy"),
    ])
    func base64MatchesRFC4648(_ plain: String, _ encoded: String) {
        #expect(base64Encoded(Array(plain.utf8)) == encoded)
    }

    @Test func splitMixIsReproducible() {
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        #expect((0..<10).map { _ in first.next() } == (0..<10).map { _ in second.next() })
    }
}
