import DayTraderCore
import Logging
import RedisClient
import Synchronization
import TradingStore

/// The write-through cache of account summaries in Redis, shared by every instance.
///
/// A cached summary is never older than the last committed change:
/// - before a change, `beginWrite` counts the writer in and deletes the cached value; while any
///   writer is counted, readers go to Postgres and do not fill the cache;
/// - after the commit, `endWrite` counts the writer out and stores its snapshot if it is newer
///   than what is there (the account `version` orders snapshots);
/// - a reader that filled from Postgres stores its snapshot only if no writer is counted and
///   nothing newer is there.
/// A writer that dies leaves its count to expire (`writerTTL`); an invalidation that failed
/// while Redis was unreachable is retried when it answers again.
public final class AccountCache: Sendable {
    private let redis: any RedisCommanding
    private let keyPrefix: String
    private let logger: Logger
    private let pendingInvalidations = Mutex<Set<UserID>>([])
    static let writerTTLMillis = 10_000
    static let valueTTLMillis = 600_000

    /// - Parameter keyPrefix: namespaces the Redis keys, so systems can share one Redis.
    public init(redis: any RedisCommanding, keyPrefix: String, logger: Logger) {
        self.keyPrefix = keyPrefix
        self.redis = redis
        self.logger = logger
    }

    private func keys(_ user: UserID) -> [String] {
        ["\(keyPrefix)account:\(user.rawValue)", "\(keyPrefix)account-writers:\(user.rawValue)"]
    }

    /// The cached summary, or `nil` on a miss, while a change is in flight, or without Redis.
    public func summary(for user: UserID) async -> String? {
        do {
            return try await redis.execute(["EVAL", Self.readScript, "2"] + keys(user)).string
        } catch {
            return nil
        }
    }

    /// Stores a snapshot read from Postgres, unless a change is in flight or a newer one is there.
    public func fill(_ user: UserID, with snapshot: AccountSnapshot) async {
        _ = try? await redis.execute(["EVAL", Self.fillScript, "2"] + keys(user) + [String(snapshot.version), snapshot.json, String(Self.valueTTLMillis)])
    }

    /// Call before a transaction that may change the account.
    public func beginWrite(_ user: UserID) async {
        do {
            _ = try await redis.execute(["EVAL", Self.beginScript, "2"] + keys(user) + [String(Self.writerTTLMillis)])
        } catch {
            pendingInvalidations.withLock { _ = $0.insert(user) }
        }
    }

    /// Call after the transaction, with the committed snapshot if the account changed.
    public func endWrite(_ user: UserID, snapshot: AccountSnapshot?) async {
        do {
            _ = try await redis.execute(
                ["EVAL", Self.endScript, "2"] + keys(user)
                    + [String(snapshot?.version ?? 0), snapshot?.json ?? "", String(Self.valueTTLMillis)]
            )
        } catch {
            pendingInvalidations.withLock { _ = $0.insert(user) }
        }
    }

    /// Deletes what could not be invalidated while Redis was unreachable. Run periodically.
    public func retryInvalidations() async {
        let users = pendingInvalidations.withLock { $0 }
        guard !users.isEmpty else { return }
        do {
            _ = try await redis.execute(["DEL"] + users.map { keys($0)[0] })
            pendingInvalidations.withLock { $0.subtract(users) }
            logger.info("account cache invalidations caught up", metadata: ["accounts": "\(users.count)"])
        } catch {
            // Still unreachable; try again on the next round.
        }
    }

    static let readScript = """
        if (tonumber(redis.call('GET', KEYS[2])) or 0) > 0 then return false end
        return redis.call('HGET', KEYS[1], 'json')
        """

    static let fillScript = """
        if (tonumber(redis.call('GET', KEYS[2])) or 0) > 0 then return 0 end
        local current = tonumber(redis.call('HGET', KEYS[1], 'version'))
        if current ~= nil and current >= tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], 'version', ARGV[1], 'json', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """

    static let beginScript = """
        redis.call('INCR', KEYS[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[1])
        redis.call('DEL', KEYS[1])
        return 1
        """

    static let endScript = """
        local writers = redis.call('DECR', KEYS[2])
        if writers <= 0 then redis.call('DEL', KEYS[2]) end
        if ARGV[2] == '' then return writers end
        local current = tonumber(redis.call('HGET', KEYS[1], 'version'))
        if current == nil or current < tonumber(ARGV[1]) then
            redis.call('HSET', KEYS[1], 'version', ARGV[1], 'json', ARGV[2])
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
        end
        return writers
        """
}
