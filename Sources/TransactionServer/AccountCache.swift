import DayTraderCore
import Logging
import RedisClient

/// The write-through cache of accounts in Redis, shared by every instance: each account's state
/// (``AccountState``) at one version, kept up to date from what each committed transaction
/// returns, so that DISPLAY_SUMMARY rarely has to build it from PostgreSQL.
///
/// Never older than the last commit, because it is never trusted on its own: DISPLAY_SUMMARY
/// sends the cached version along with the call that logs it, and the database sends the whole
/// account instead when its own version differs. Writes keep the cache current cheaply:
/// - a transaction that changed the account returns its new version and what changed (balances,
///   holdings, orders and triggers added or removed, ledger rows); ``apply(_:)`` adds that to
///   the cached state, a whole batch of commands in one script, each only if the cached version
///   is the one just before;
///   otherwise a change went missing (a write that failed, an instance that died between its
///   commit and its write) and the script drops the entry;
/// - a DISPLAY_SUMMARY that got the whole account stores it (``fill(_:with:)``) unless something
///   newer is there.
/// Redis being down costs nothing but speed: reads miss, writes are dropped, and PostgreSQL answers.
///
/// Each write also adds every changed account to a stream (``changesKey``), which feeds the
/// pages' live updates on every instance (``AccountChanges``).
///
/// In Redis, an account is a hash (`<prefix>account:<user>`: `v`, `cash`, `rcash`, `h:<symbol>`,
/// `o:<order id>`, `g:<side>:<symbol>`) and a list of its newest ledger rows, newest first
/// (`<prefix>history:<user>`), both expiring after ``idleMillis`` without a write.
public final class AccountCache: Sendable {
    private let redis: any RedisCommanding
    private let keyPrefix: String
    private let logger: Logger
    /// How long an account stays cached with no change and no read that filled it.
    static let idleMillis = 600_000

    /// - Parameter keyPrefix: namespaces the Redis keys, so systems can share one Redis.
    public init(redis: any RedisCommanding, keyPrefix: String, logger: Logger) {
        self.keyPrefix = keyPrefix
        self.redis = redis
        self.logger = logger
    }

    /// The stream of changed accounts (``AccountChanges`` reads it): one entry per committed change,
    /// `u` the user and `v` the new version, the newest ``changesKept`` or so kept.
    var changesKey: String { "\(keyPrefix)changes" }
    static let changesKept = 10_000

    private func keys(_ user: String) -> [String] {
        ["\(keyPrefix)account:\(user)", "\(keyPrefix)history:\(user)"]
    }

    /// The cached state, or `nil` on a miss or without Redis. One round trip.
    public func state(of user: UserID) async -> AccountState? {
        guard let reply = try? await Self.read.run(on: redis, keys: keys(user.rawValue), arguments: []),
              let parts = reply.array, parts.count == 2,
              let fields = parts[0].array, let history = parts[1].array else { return nil }
        return Self.decode(fields: fields.compactMap(\.string), history: history.compactMap(\.string))
    }

    /// Adds committed transactions' changes to the cached accounts, in order: one round trip for
    /// all of them (a batch of commands), none when none changed an account.
    public func apply(_ records: [(record: TransactionRecord, user: UserID)]) async {
        var keys = [changesKey]
        var arguments = [String(Self.idleMillis), String(AccountState.historyLimit), "\(keyPrefix)account:"]
        for (record, user) in records {
            guard let change = Self.change(of: record) else { continue }
            keys += self.keys(user.rawValue)
            arguments += [String(change.version), String(change.fields.count / 2)] + change.fields
            arguments += [String(change.history.count)] + change.history
        }
        guard keys.count > 1 else { return }
        do {
            _ = try await Self.write.run(on: redis, keys: keys, arguments: arguments)
        } catch {
            logger.debug("account cache write skipped", metadata: ["accounts": "\((keys.count - 1) / 2)", "error": "\(error)"])
        }
    }

    /// One committed transaction's changes (a firing, an expiry).
    public func apply(_ record: TransactionRecord, user: UserID) async {
        await apply([(record, user)])
    }

    /// Stores a whole account read from PostgreSQL, unless the cache holds this version or a newer one.
    public func fill(_ user: UserID, with state: AccountState) async {
        let fields = Self.fields(of: state)
        _ = try? await Self.fill.run(
            on: redis, keys: keys(user.rawValue),
            arguments: [String(state.version), String(Self.idleMillis), String(fields.count / 2)] + fields + Self.entries(of: state.history)
        )
    }

    // MARK: What a record changes

    /// A transaction's changes as the write script takes them: the new version, field and value
    /// pairs (an empty value deletes the field), and ledger rows to push, oldest first.
    struct Change: Hashable {
        var version: Int64
        var fields: [String]
        var history: [String]
    }

    /// `nil` when the record did not change the account.
    static func change(of record: TransactionRecord) -> Change? {
        let result = record.result
        guard let version = result.version, let cash = result.cash, let reservedCash = result.reservedCash else { return nil }
        var fields = ["cash", String(cash), "rcash", String(reservedCash)]
        for holding in result.holdings ?? [] {
            fields += ["h:\(holding.symbol)", encode(holding)]
        }
        for order in result.expired ?? [] {
            fields += ["o:\(order.id)", ""]
        }
        if let order = result.order {
            // BUY and SELL place the order; COMMIT_* and CANCEL_* take it.
            let placed = record.commandName == .buy || record.commandName == .sell
            fields += ["o:\(order.id)", placed ? encode(order) : ""]
        }
        if let trigger = result.trigger {
            fields += [triggerField(trigger.key), encode(trigger)]
        }
        if let removed = result.removedTrigger {
            fields += [triggerField(removed), ""]
        }
        let history = (result.ledger ?? []).map { row -> String in
            var row = row
            row.at = record.head.at
            return row.summaryEntryJSON
        }
        return Change(version: version, fields: fields, history: history)
    }

    // MARK: Encoding (compact, comma-separated: symbols, sides and kinds hold no commas)

    static func fields(of state: AccountState) -> [String] {
        var fields = ["cash", String(state.cash), "rcash", String(state.reservedCash)]
        for holding in state.holdings { fields += ["h:\(holding.symbol)", encode(holding)] }
        for order in state.orders { fields += ["o:\(order.id)", encode(order)] }
        for trigger in state.triggers { fields += [triggerField(trigger.key), encode(trigger)] }
        return fields
    }

    static func decode(fields: [String], history: [String]) -> AccountState? {
        var values: [String: String] = [:]
        var index = 0
        while index + 1 < fields.count {
            values[fields[index]] = fields[index + 1]
            index += 2
        }
        guard let version = values["v"].flatMap(Int64.init), let cash = values["cash"].flatMap(Int64.init),
              let reservedCash = values["rcash"].flatMap(Int64.init) else { return nil }
        var state = AccountState(version: version, cash: cash, reservedCash: reservedCash, holdings: [], orders: [], triggers: [], history: .rendered(history))
        for (field, value) in values {
            let parts = commaSeparated(value)
            if field.hasPrefix("h:"), parts.count == 2, let shares = Int64(parts[0]), let reserved = Int64(parts[1]) {
                state.holdings.append(HoldingRow(symbol: String(field.dropFirst(2)), shares: shares, reservedShares: reserved))
            } else if field.hasPrefix("o:"), let id = Int64(field.dropFirst(2)), let order = decodeOrder(id: id, parts) {
                state.orders.append(order)
            } else if field.hasPrefix("g:"), let trigger = decodeTrigger(field, parts) {
                state.triggers.append(trigger)
            }
        }
        return state
    }

    static func triggerField(_ key: TriggerKey) -> String { "g:\(key.side.rawValue):\(key.symbol)" }

    static func encode(_ holding: HoldingRow) -> String {
        holding.shares == 0 && holding.reservedShares == 0 ? "" : "\(holding.shares),\(holding.reservedShares)"
    }

    static func encode(_ order: OrderRow) -> String {
        "\(order.side.rawValue),\(order.symbol),\(order.shares),\(order.price),\(order.amount),\(order.placedAt),\(order.expiresAt),\(order.transactionNum)"
    }

    static func decodeOrder(id: Int64, _ parts: [String]) -> OrderRow? {
        guard parts.count == 8, let side = Side(rawValue: parts[0]), let shares = Int64(parts[2]), let price = Int64(parts[3]),
              let amount = Int64(parts[4]), let placedAt = Int64(parts[5]), let expiresAt = Int64(parts[6]),
              let transactionNum = Int64(parts[7]) else { return nil }
        return OrderRow(id: id, side: side, symbol: parts[1], shares: shares, price: price, amount: amount, placedAt: placedAt, expiresAt: expiresAt, transactionNum: transactionNum)
    }

    static func encode(_ trigger: TriggerRow) -> String {
        "\(trigger.amount),\(trigger.triggerPrice.map(String.init) ?? ""),\(trigger.reservedShares),\(trigger.transactionNum)"
    }

    static func decodeTrigger(_ field: String, _ parts: [String]) -> TriggerRow? {
        let key = field.utf8.split(separator: UInt8(ascii: ":"), maxSplits: 2).map { String(Substring($0)) }
        guard key.count == 3, let side = Side(rawValue: key[1]), parts.count == 4, let amount = Int64(parts[0]),
              let reserved = Int64(parts[2]), let transactionNum = Int64(parts[3]) else { return nil }
        return TriggerRow(side: side, symbol: key[2], amount: amount, triggerPrice: Int64(parts[1]), reservedShares: reserved, transactionNum: transactionNum)
    }

    /// The comma-separated parts of a value (split on bytes: `String.split` works on Characters
    /// and costs several times as much).
    static func commaSeparated(_ text: String) -> [String] {
        var parts: [String] = []
        var utf8 = text.utf8[...]
        while let comma = utf8.firstIndex(of: UInt8(ascii: ",")) {
            parts.append(String(Substring(utf8[..<comma])))
            utf8 = utf8[utf8.index(after: comma)...]
        }
        parts.append(String(Substring(utf8)))
        return parts
    }

    /// The history as the cache keeps it: each row as its summary entry, newest first.
    static func entries(of history: AccountState.History) -> [String] {
        switch history {
        case .rows(let rows): rows.map(\.summaryEntryJSON)
        case .rendered(let entries): entries
        }
    }

    // MARK: Scripts

    /// The account's fields and its history, read at one moment.
    static let read = RedisScript("""
        return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
        """)

    /// KEYS: the changes stream, then each account's hash and history. ARGV: idle ms, history
    /// limit, the accounts' key prefix, then for each account its new version, the number of
    /// field pairs, the pairs, the number of ledger rows, the rows.
    /// Each account's change is added only to the state just before it; a cached state older
    /// than that is dropped (a change went missing), a newer one left as it is. Every change goes
    /// on the stream, cached or not.
    static let write = RedisScript("""
        local ttl = ARGV[1]
        local limit = tonumber(ARGV[2])
        local prefix = #ARGV[3]
        local a = 4
        for k = 2, #KEYS, 2 do
            local version = tonumber(ARGV[a])
            redis.call('XADD', KEYS[1], 'MAXLEN', '~', '\(changesKept)', '*', 'u', string.sub(KEYS[k], prefix + 1), 'v', ARGV[a])
            local pairs = tonumber(ARGV[a + 1])
            local rows = tonumber(ARGV[a + 2 + 2 * pairs])
            local nextAccount = a + 3 + 2 * pairs + rows
            local cached = redis.call('HGET', KEYS[k], 'v')
            if cached then
                cached = tonumber(cached)
                if cached == version - 1 then
                    local sets = {'v', ARGV[a]}
                    for i = a + 2, a + 1 + 2 * pairs, 2 do
                        if ARGV[i + 1] == '' then
                            redis.call('HDEL', KEYS[k], ARGV[i])
                        else
                            sets[#sets + 1] = ARGV[i]
                            sets[#sets + 1] = ARGV[i + 1]
                        end
                    end
                    redis.call('HSET', KEYS[k], unpack(sets))
                    for j = a + 3 + 2 * pairs, nextAccount - 1 do redis.call('LPUSH', KEYS[k + 1], ARGV[j]) end
                    redis.call('LTRIM', KEYS[k + 1], 0, limit - 1)
                    redis.call('PEXPIRE', KEYS[k], ttl)
                    redis.call('PEXPIRE', KEYS[k + 1], ttl)
                elseif cached < version then
                    redis.call('DEL', KEYS[k], KEYS[k + 1])
                end
            end
            a = nextAccount
        end
        return 1
        """)

    /// ARGV: version, idle ms, number of field pairs, the pairs, then the ledger rows newest first.
    static let fill = RedisScript("""
        local cached = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
        if cached >= tonumber(ARGV[1]) then return 0 end
        redis.call('DEL', KEYS[1], KEYS[2])
        local sets = {'v', ARGV[1]}
        local i = 4
        for _ = 1, tonumber(ARGV[3]) do
            if ARGV[i + 1] ~= '' then
                sets[#sets + 1] = ARGV[i]
                sets[#sets + 1] = ARGV[i + 1]
            end
            i = i + 2
        end
        redis.call('HSET', KEYS[1], unpack(sets))
        for j = i, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[j]) end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        return 1
        """)
}
