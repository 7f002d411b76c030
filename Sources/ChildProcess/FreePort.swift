import Foundation
import Synchronization

/// A TCP port nothing listens on right now (nor on `port + alsoFree`), below Linux's ephemeral
/// range (32768 and up) so that no outgoing connection takes it in the meantime, and above the
/// scripts' fixed ports (25xxx and 26xxx for services, docs/OPERATIONS.md), so that a test never
/// takes a port a stack started meanwhile needs.
///
/// A process never gets the same port (or offset port) twice: ports asked for together, before
/// anything listens on them, would otherwise collide now and then (seen: a stack whose quote
/// emulator and RabbitMQ were given one port).
public func freePort(alsoFree offset: Int = 0) throws -> Int {
    for _ in 0..<100 {
        let port = Int.random(in: 27_000..<32_000)
        let ports = offset == 0 ? [port] : [port, port + offset]
        guard try ports.allSatisfy(canBind) else { continue }
        let claimed = handedOut.withLock { taken in
            guard taken.isDisjoint(with: ports) else { return false }
            taken.formUnion(ports)
            return true
        }
        if claimed { return port }
    }
    throw NoFreePort()
}

/// Every port `freePort` returned in this process, with its offset port.
private let handedOut = Mutex<Set<Int>>([])

private func canBind(_ port: Int) throws -> Bool {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketFD >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socketFD, pointer, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

public struct NoFreePort: Error, CustomStringConvertible {
    public var description: String { "found no free TCP port in 100 tries" }
}
