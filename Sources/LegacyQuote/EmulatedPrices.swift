import DayTraderCore

/// The emulator's prices and cryptokeys, a pure function of the seed, the symbol and the time.
///
/// Swift's `Hasher` is randomised per process, so names are hashed with FNV-1a instead: the same
/// seed gives the same prices in every run and on every machine.
public struct EmulatedPrices: Sendable, Hashable {
    /// How long one price holds before it drifts to the next.
    public static let bucketMilliseconds: Int64 = 10_000
    /// The range of the base prices, in cents: $5.00 to $1000.00.
    static let baseCentsRange: ClosedRange<Int64> = 500...100_000
    /// The largest drift from the base price, in basis points (5%).
    static let maximumDriftBasisPoints: Int64 = 500

    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The price of `symbol` at `time`: a base price per symbol, moved by up to ±5% in each
    /// 10-second bucket. Always positive, in whole cents.
    public func price(for symbol: StockSymbol, at time: Timestamp) -> Money {
        let symbolHash = SplitMix64.mix(fnv1a(symbol.rawValue) ^ seed)
        let baseCents = Self.baseCentsRange.lowerBound
            + Int64(symbolHash % UInt64(Self.baseCentsRange.count))
        let bucket = Self.floorDivide(time.unixMillis, by: Self.bucketMilliseconds)
        let driftSpan = UInt64(2 * Self.maximumDriftBasisPoints + 1)
        let driftBasisPoints = Int64(SplitMix64.mix(symbolHash ^ UInt64(bitPattern: bucket)) % driftSpan)
            - Self.maximumDriftBasisPoints
        return Money(cents: baseCents + baseCents * driftBasisPoints / 10_000)
    }

    /// A 56-character base64 key made of 42 pseudo-random bytes drawn from the request and its time,
    /// shaped like the legacy server's keys.
    public func cryptokey(symbol: String, user: String, at time: Timestamp) -> String {
        var hash = fnv1a(symbol, startingFrom: fnv1a(user) ^ seed)
        hash ^= UInt64(bitPattern: time.unixMillis)
        var generator = SplitMix64(seed: hash)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(42)
        while bytes.count < 42 {
            withUnsafeBytes(of: generator.next().littleEndian) { bytes.append(contentsOf: $0.prefix(42 - bytes.count)) }
        }
        return base64Encoded(bytes)
    }

    private static func floorDivide(_ value: Int64, by divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor < 0) ? quotient - 1 : quotient
    }
}

/// 64-bit FNV-1a over the UTF-8 bytes of `text`.
func fnv1a(_ text: String, startingFrom basis: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
    var hash = basis
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}

/// Standard base64 with `=` padding.
func base64Encoded(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var output: [UInt8] = []
    output.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index < bytes.count {
        let chunk = bytes[index..<min(index + 3, bytes.count)]
        var group: UInt32 = 0
        for (offset, byte) in chunk.enumerated() {
            group |= UInt32(byte) << (16 - 8 * offset)
        }
        for position in 0..<4 {
            if position <= chunk.count {
                output.append(alphabet[Int((group >> (18 - 6 * position)) & 0x3F)])
            } else {
                output.append(UInt8(ascii: "="))
            }
        }
        index += 3
    }
    return String(decoding: output, as: UTF8.self)
}
