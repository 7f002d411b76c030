import DayTraderCore
import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// Live account changes for the pages' event streams, on every instance: whichever instance
/// committed a change, ``AccountCache`` put it on a Redis stream in the same write, and each
/// instance with someone watching reads that stream every ``pollInterval`` and tells the
/// watchers of each changed account. While no one watches, an instance reads only the newest
/// entry's id.
///
/// Every ``heartbeatInterval`` each watcher is also sent a heartbeat, so proxies keep the stream
/// open and a closed one is noticed. Redis down: no changes arrive until it is back (the pages
/// still update after their own commands); nothing else depends on this.
public final class AccountChanges: Service, Sendable {
    /// What a watcher is told.
    public enum Event: Sendable, Equatable {
        /// The account changed; its new version.
        case changed(version: Int64)
        case heartbeat
    }

    private let redis: any RedisCommanding
    private let streamKey: String
    private let logger: Logger
    /// Each watched user's watchers; `nil` once the server is shutting down (no more are taken).
    private let watchers = Mutex<[String: [UUID: AsyncStream<Event>.Continuation]]?>([:])
    /// How many watches have begun: a position read while one began may be newer than its start.
    private let begun = Atomic<Int>(0)
    static let pollInterval = Duration.milliseconds(250)
    static let heartbeatInterval = Duration.seconds(15)
    /// Entries per read; a poll reads on until it has them all.
    static let readCount = 1_000

    init(redis: any RedisCommanding, cache: AccountCache, logger: Logger) {
        self.redis = redis
        self.streamKey = cache.changesKey
        self.logger = logger
    }

    /// The events of `user`'s account from now on, until `stop` is called with the id (or the
    /// server shuts down, which finishes the stream).
    func watch(_ user: UserID) -> (id: UUID, events: AsyncStream<Event>) {
        let id = UUID()
        let (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(8))
        begun.add(1, ordering: .sequentiallyConsistent)
        let taken = watchers.withLock { all in
            all?[user.rawValue, default: [:]][id] = continuation
            return all != nil
        }
        if !taken { continuation.finish() }
        return (id, events)
    }

    func stop(_ user: UserID, _ id: UUID) {
        let continuation = watchers.withLock { all -> AsyncStream<Event>.Continuation? in
            defer { if all?[user.rawValue]?.isEmpty == true { all?[user.rawValue] = nil } }
            return all?[user.rawValue]?.removeValue(forKey: id)
        }
        continuation?.finish()
    }

    public func run() async throws {
        // Where reading goes on from. While no one watches, only the newest entry's id is kept
        // (one small read per poll), so a watcher's first poll reads from before it began.
        var last: String?
        var sinceHeartbeat = Duration.zero
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: Self.pollInterval)
                sinceHeartbeat += Self.pollInterval
                let begunBefore = begun.load(ordering: .sequentiallyConsistent)
                let watched = watchers.withLock { $0?.isEmpty == false }
                do {
                    if watched, let position = last {
                        last = try await read(after: position)
                    } else {
                        // If someone watches already (no position yet: just started, or Redis was
                        // down) or began meanwhile, their first changes may be older than the
                        // newest entry now: start a little earlier (an entry's id is its time in ms).
                        let newest = try await newest()
                        let exact = !watched && begun.load(ordering: .sequentiallyConsistent) == begunBefore
                        last = exact ? newest : Self.earlier(than: newest)
                    }
                } catch {
                    // Redis down: the position is lost; reading starts afresh once it is back.
                    last = nil
                    logger.debug("account changes unread", metadata: ["error": "\(error)"])
                }
                if sinceHeartbeat >= Self.heartbeatInterval {
                    sinceHeartbeat = .zero
                    tell { _ in .heartbeat }
                }
            }
        } onGracefulShutdown: {
            self.finishAll()
        }
        finishAll()
    }

    /// A position `rewindMillis` before the entry `id` (`<ms>-<sequence>`).
    static func earlier(than id: String) -> String {
        guard let millis = id.split(separator: "-").first.flatMap({ Int64($0) }) else { return "0-0" }
        return "\(max(0, millis - rewindMillis))-0"
    }

    static let rewindMillis: Int64 = 5_000

    /// The newest entry's id ("0-0" when there is none).
    private func newest() async throws(RedisError) -> String {
        let newest = try await redis.execute(["XREVRANGE", streamKey, "+", "-", "COUNT", "1"])
        return newest.array?.first?.array?.first?.string ?? "0-0"
    }

    /// Reads every entry after `last`, ``readCount`` at a time, and tells their watchers (one
    /// event per changed user); returns the last id read.
    private func read(after last: String) async throws(RedisError) -> String {
        var newest = last
        var versions: [String: Int64] = [:]
        var full = true
        while full {
            let reply = try await redis.execute(["XREAD", "COUNT", String(Self.readCount), "STREAMS", streamKey, newest])
            let entries = reply.array?.first?.array?.last?.array ?? []
            full = entries.count == Self.readCount
            for entry in entries {
                guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array?.compactMap(\.string) else { continue }
                newest = id
                let pairs = Dictionary(stride(from: 0, to: fields.count - 1, by: 2).map { (fields[$0], fields[$0 + 1]) }) { $1 }
                if let user = pairs["u"], let version = pairs["v"].flatMap(Int64.init) {
                    versions[user] = max(version, versions[user] ?? version)
                }
            }
        }
        if !versions.isEmpty {
            tell { user in versions[user].map { .changed(version: $0) } }
        }
        return newest
    }

    /// Sends each watcher of a user the event `event(user)` returns, if any.
    private func tell(_ event: (String) -> Event?) {
        watchers.withLock { all in
            for (user, continuations) in all ?? [:] {
                guard let event = event(user) else { continue }
                for continuation in continuations.values { continuation.yield(event) }
            }
        }
    }

    private func finishAll() {
        let all = watchers.withLock { all in defer { all = nil }; return all ?? [:] }
        for continuation in all.values.flatMap(\.values) { continuation.finish() }
    }
}
