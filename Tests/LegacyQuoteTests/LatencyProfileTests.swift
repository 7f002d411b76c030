import DayTraderCore
import Testing
@testable import LegacyQuote

@Suite struct LatencyProfileTests {
    @Test(arguments: [
        ("none", LatencyProfile.immediate),
        ("fixed:0", LatencyProfile.fixed(milliseconds: 0)),
        ("fixed:250", LatencyProfile.fixed(milliseconds: 250)),
        ("legacy", LatencyProfile.legacy),
    ])
    func parses(_ text: String, _ expected: LatencyProfile) throws {
        let profile = try LatencyProfile(parsing: text)
        #expect(profile == expected)
        #expect(profile.description == text)
    }

    @Test(arguments: ["", "None", "fixed", "fixed:", "fixed:-5", "fixed:1.5", "fixed:+5", "fixed: 5", "legacy ", "slow"])
    func rejects(_ text: String) {
        #expect(throws: LatencyProfileParseError(text: text)) {
            try LatencyProfile(parsing: text)
        }
    }

    @Test func fixedAndNoneAreConstant() {
        var generator = SplitMix64(seed: 1)
        #expect(LatencyProfile.immediate.sampleDelayMilliseconds(using: &generator) == 0)
        #expect(LatencyProfile.fixed(milliseconds: 75).sampleDelayMilliseconds(using: &generator) == 75)
    }

    @Test func legacyMatchesTheMeasuredDistribution() throws {
        var generator = SplitMix64(seed: 468)
        let samples = (0..<200_000).map { _ in LatencyProfile.legacy.sampleDelayMilliseconds(using: &generator) }
        let mean = Double(samples.reduce(0, +)) / Double(samples.count)
        let fastShare = Double(samples.count { $0 <= 10 }) / Double(samples.count)
        let cappedShare = Double(samples.count { $0 == LatencyProfile.legacyCapMilliseconds }) / Double(samples.count)
        #expect((540...580).contains(mean), "mean \(mean) ms should be near the measured 563 ms")
        #expect((0.65...0.69).contains(fastShare), "\(fastShare) of replies should be fast")
        #expect(try #require(samples.min()) >= 0)
        #expect(try #require(samples.max()) == LatencyProfile.legacyCapMilliseconds)
        // A capped exponential with mean 1890 ms exceeds 4 s e^(-4000/1890) ≈ 12% of the time, a third of all replies.
        #expect((0.03...0.05).contains(cappedShare), "\(cappedShare) of replies should hit the 4 s cap")
        let slowMedian = samples.filter { $0 > 10 }.sorted()[samples.count { $0 > 10 } / 2]
        #expect((1_100...1_500).contains(slowMedian), "slow replies' median \(slowMedian) ms should be near 1890·ln 2")
    }

    @Test func legacyIsReproducibleFromItsSeed() {
        var first = SplitMix64(seed: 9)
        var second = SplitMix64(seed: 9)
        let a = (0..<100).map { _ in LatencyProfile.legacy.sampleDelayMilliseconds(using: &first) }
        let b = (0..<100).map { _ in LatencyProfile.legacy.sampleDelayMilliseconds(using: &second) }
        #expect(a == b)
    }
}
