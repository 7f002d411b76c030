import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import _NIOFileSystem

/// What a run needs from HTTP. The tests put a fake in its place.
protocol CommandTransport: Sendable {
    /// Sends one command and reads its whole reply.
    func send(_ request: WorkloadRequest, timeout: Duration) async throws -> CommandResponse

    /// Sends a DUMPLOG. A 200 reply's body is the log, streamed into the file at `path`;
    /// any other reply is returned.
    func dump(_ request: WorkloadRequest, to path: String, timeout: Duration) async throws -> DumpResponse
}

/// A reply's status and body.
struct CommandResponse: Sendable {
    var status: Int
    var body: [UInt8]

    /// The error code of a reply that is an error: the JSON `error.code`, or `http_<status>`
    /// when the body is not a JSON error. `nil` for a success.
    var errorCode: String? {
        guard !(200..<300).contains(status) else { return nil }
        return jsonErrorCode(in: body) ?? "http_\(status)"
    }
}

/// A DUMPLOG's outcome: the log saved, or the reply that came instead.
enum DumpResponse: Sendable {
    case saved(bytes: Int)
    case refused(CommandResponse)
}

/// Sends commands over HTTP/1.1 connections of its own (``CommandConnections``), and the final
/// DUMPLOG, whose log is streamed to disk, over an `HTTPClient`.
struct HTTPCommandTransport: CommandTransport {
    let client: HTTPClient
    let connections: CommandConnections
    /// `http://host[:port]`, without a trailing slash.
    let baseURL: String
    /// The `Host` header: `host:port` of ``baseURL``.
    let authority: String
    /// Sent as `Authorization: Bearer` with every request: the service token, which lets the
    /// generator act for any user and number its lines.
    let serviceToken: String?

    /// - Parameter baseURL: `http://host[:port]`, without a trailing slash, as
    ///   ``RunOptions/validate()`` requires.
    init(client: HTTPClient, baseURL: String, serviceToken: String?) {
        let url = URL(string: baseURL)
        let host = url?.host ?? ""
        let port = url?.port ?? 80
        self.client = client
        self.connections = CommandConnections(host: host, port: port, maximumReplyBytes: Self.maximumReplyBytes)
        self.baseURL = baseURL
        self.authority = "\(host):\(port)"
        self.serviceToken = serviceToken
    }

    /// Far more than any command reply or account summary; a guard against a runaway body.
    static let maximumReplyBytes = 64 * 1024 * 1024

    func send(_ request: WorkloadRequest, timeout: Duration) async throws -> CommandResponse {
        let body = ByteBuffer(bytes: request.body.json())
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: request.path)
        head.headers.reserveCapacity(4)
        head.headers.add(name: "Host", value: authority)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        if let serviceToken {
            head.headers.add(name: "Authorization", value: "Bearer \(serviceToken)")
        }
        return try await connections.exchange(head, body: body, timeout: timeout)
    }

    func dump(_ request: WorkloadRequest, to path: String, timeout: Duration) async throws -> DumpResponse {
        let response = try await client.execute(httpRequest(for: request), timeout: TimeAmount(timeout))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: Self.maximumReplyBytes)
            return .refused(CommandResponse(status: Int(response.status.code), body: Array(buffer: body)))
        }
        // The log can be hundreds of megabytes: it goes to disk chunk by chunk, into a temporary
        // file renamed into place at the end, so a failed dump never leaves half a log.
        let temporary = "\(path).\(UUID().uuidString.lowercased()).partial"
        do {
            let bytes = try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(temporary), options: .newFile(replaceExisting: true)) { file in
                try await file.withBufferedWriter { writer in
                    var bytes = 0
                    for try await chunk in response.body {
                        bytes += chunk.readableBytes
                        try await writer.write(contentsOf: chunk)
                    }
                    return bytes
                }
            }
            try await FileSystem.shared.replaceItem(at: FilePath(path), withItemAt: FilePath(temporary))
            return .saved(bytes: bytes)
        } catch {
            _ = try? await FileSystem.shared.removeItem(at: FilePath(temporary))
            throw error
        }
    }

    private func httpRequest(for request: WorkloadRequest) -> HTTPClientRequest {
        var http = HTTPClientRequest(url: baseURL + request.path)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        if let serviceToken {
            http.headers.add(name: "Authorization", value: "Bearer \(serviceToken)")
        }
        http.body = .bytes(ByteBuffer(bytes: request.body.json()))
        return http
    }
}
