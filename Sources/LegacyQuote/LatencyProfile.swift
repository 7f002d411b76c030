import Foundation

/// How long the emulator waits before it answers a quote request.
///
/// Written on the command line as `none`, `fixed:<ms>` or `legacy`.
public struct LatencyProfile: Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable {
        case immediate
        case fixed(milliseconds: Int64)
        case legacy
    }

    private let kind: Kind

    /// Answers at once (`none`).
    public static let immediate = LatencyProfile(kind: .immediate)

    /// Answers after the same wait every time (`fixed:<ms>`).
    public static func fixed(milliseconds: Int64) -> LatencyProfile {
        precondition(milliseconds >= 0, "a delay is never negative")
        return LatencyProfile(kind: .fixed(milliseconds: milliseconds))
    }

    /// Imitates the measured legacy server (`legacy`): about two thirds of replies after about
    /// 9 ms, the rest after an exponential wait, capped at 4 s, for an overall mean near 560 ms.
    public static let legacy = LatencyProfile(kind: .legacy)

    /// The share of legacy replies that come back fast.
    static let legacyFastShare = 2.0 / 3.0
    /// The fast legacy replies take 8-10 ms, 9 ms on average.
    static let legacyFastMilliseconds: ClosedRange<Int64> = 8...10
    /// The longest any legacy reply takes.
    public static let legacyCapMilliseconds: Int64 = 4_000
    /// The mean μ of the slow replies' exponential wait, before the cap.
    ///
    /// The measured overall mean is 560 ms, so the slow third must average 3 × (560 − ⅔ × 9) ≈ 1662 ms
    /// after capping; a capped exponential averages μ(1 − e^(−4000/μ)), which is 1662 for μ ≈ 1890.
    static let legacySlowMeanMilliseconds = 1_890.0

    private init(kind: Kind) {
        self.kind = kind
    }

    /// Parses `none`, `fixed:<ms>` (a whole number of milliseconds) or `legacy`.
    public init(parsing text: String) throws(LatencyProfileParseError) {
        switch text {
        case "none":
            self = .immediate
        case "legacy":
            self = .legacy
        case _ where text.hasPrefix("fixed:"):
            let digits = text.dropFirst("fixed:".count)
            guard !digits.isEmpty, digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                  let milliseconds = Int64(digits)
            else { throw LatencyProfileParseError(text: text) }
            self = .fixed(milliseconds: milliseconds)
        default:
            throw LatencyProfileParseError(text: text)
        }
    }

    /// The text that parses back to this profile.
    public var description: String {
        switch kind {
        case .immediate: "none"
        case .fixed(let milliseconds): "fixed:\(milliseconds)"
        case .legacy: "legacy"
        }
    }

    /// Draws the wait before one reply, in milliseconds.
    public func sampleDelayMilliseconds(using generator: inout some RandomNumberGenerator) -> Int64 {
        switch kind {
        case .immediate:
            return 0
        case .fixed(let milliseconds):
            return milliseconds
        case .legacy:
            if Double.random(in: 0..<1, using: &generator) < Self.legacyFastShare {
                return Int64.random(in: Self.legacyFastMilliseconds, using: &generator)
            }
            // Inverse-transform sampling: -μ·ln(1-u) is exponential with mean μ for uniform u in [0, 1).
            let uniform = Double.random(in: 0..<1, using: &generator)
            let wait = -Self.legacySlowMeanMilliseconds * log(1 - uniform)
            return min(Int64(wait.rounded()), Self.legacyCapMilliseconds)
        }
    }
}

/// A latency profile that is not `none`, `fixed:<ms>` or `legacy`.
public struct LatencyProfileParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public var description: String {
        "latency profile '\(text)' must be 'none', 'fixed:<milliseconds>' or 'legacy'"
    }
}
