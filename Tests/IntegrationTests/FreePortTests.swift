import ChildProcess
import Testing

/// Ports asked for together, before anything listens on them, are all different.
@Suite struct FreePortTests {
    @Test func aProcessNeverGetsOnePortTwice() throws {
        // 200 draws from 5,000 ports would repeat one with a probability of about 98%.
        var ports: [Int] = []
        for index in 0..<200 {
            ports.append(try freePort(alsoFree: index.isMultiple(of: 10) ? 5 : 0))
        }
        let withOffsets = ports.enumerated().flatMap { index, port in index.isMultiple(of: 10) ? [port, port + 5] : [port] }
        #expect(Set(withOffsets).count == withOffsets.count)
    }
}
