import Synchronization

/// Ids for records: unique, in UUID form (the audit database stores them as `uuid`), and cheap.
///
/// Foundation's `UUID()` reads the kernel's random source on every call (one system call per
/// command); an id needs only to be unique, not unpredictable. So each process draws 64 random
/// bits once, and numbers its ids after them: the first half of the UUID is the process's, the
/// second half counts. Two processes share a prefix with probability about 2^-64 per pair.
public enum RecordID {
    private static let prefix: UInt64 = .random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)

    /// The next id, as 36 characters of lower-case hexadecimal with hyphens (8-4-4-4-12), with
    /// the version (4) and variant (10) bits of a random UUID.
    public static func next() -> String {
        let count = counter.add(1, ordering: .relaxed).newValue
        let high = (prefix & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let low = (count & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = nibble < 16 ? high : low
                let value = UInt8((word >> UInt64(60 - 4 * (nibble % 16))) & 0xF)
                buffer[position] = value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
                position += 1
            }
            return 36
        }
    }
}
