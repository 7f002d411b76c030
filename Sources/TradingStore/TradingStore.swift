import DayTraderCore
import Logging
import PostgresNIO

/// All trading state, in PostgreSQL. Each command is one call of a server-side function (migration
/// 3, `CommandFunctions`): one round trip, one transaction, one commit.
///
/// The store holds no state of its own: any number of transaction servers can share one database,
/// and per-user row locks keep their commands from racing.
public struct TradingStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates or upgrades the schema; safe when several instances start at once.
    public func migrate() async throws {
        try await Migrations.migrate(client, logger: logger)
    }

    /// One command, as the transaction server prepared it: what the client asked, the record's
    /// head, and what `TradingRules` computed; the database checks the account's state against it.
    public struct Call: Sendable {
        public var command: CommandName
        /// The account; `nil` for a request that is not a valid command (it is logged and refused).
        public var user: UserID?
        public var symbol: StockSymbol?
        public var transactionNum: Int64?
        public var idempotencyKey: String?
        /// What must match when the key is used again.
        public var fingerprint: String
        public var head: RecordHead
        /// A refusal decided before the call; its message is in the head.
        public var refusal: Rejection.Code?
        /// Whether the outcome is kept under the key (not for `quote_unavailable`: the same
        /// request may succeed a moment later).
        public var keepsOutcome: Bool = true
        /// What the rules computed (`CommandPlan`); the database applies it.
        public var plan = CommandPlan.none
        /// DISPLAY_SUMMARY: the version the account cache holds, if any; the database sends the
        /// whole account only when its own differs.
        public var cachedVersion: Int64?

        public init(command: CommandName, user: UserID?, symbol: StockSymbol?, transactionNum: Int64?, idempotencyKey: String?, fingerprint: String, head: RecordHead) {
            self.command = command
            self.user = user
            self.symbol = symbol
            self.transactionNum = transactionNum
            self.idempotencyKey = idempotencyKey
            self.fingerprint = fingerprint
            self.head = head
        }

        /// When the command happened: the head's time.
        public var now: Int64 { head.at }
    }

    /// What a call came to.
    public struct Outcome: Sendable {
        /// The command's record: its head and what the database did. For a retry of a key already
        /// used, the first attempt's record (``replayed``).
        public var record: TransactionRecord
        public var replayed: Bool
        /// The account's version now (DISPLAY_SUMMARY compares it with the cache's).
        public var version: Int64?
        /// The whole account, when a DISPLAY_SUMMARY's cached version was not the current one.
        public var state: AccountState?
    }

    /// Runs the calls in one round trip and one transaction, in order; their outcomes in the same
    /// order. The caller sorts them by user, so that concurrent batches lock accounts in one order.
    ///
    /// Throws when the database refused the whole call: a bigint overflow (SQLSTATE 22003), a
    /// racing first use of a key (23505), a constraint the functions should never break (a bug),
    /// or the database being unreachable. Nothing of the batch was applied then.
    public func execute(_ calls: [Call]) async throws -> [Outcome] {
        guard !calls.isEmpty else { return [] }
        var statement = ExecuteCommands(history: AccountState.historyLimit)
        for call in calls {
            statement.command.append(call.command.rawValue)
            statement.user.append(call.user?.rawValue ?? "")
            statement.symbol.append(call.symbol?.rawValue ?? "")
            statement.now.append(call.now)
            statement.transactionNum.append(call.transactionNum ?? 0)
            statement.key.append(call.idempotencyKey ?? "")
            statement.fingerprint.append(call.fingerprint)
            statement.head.append(call.head.json)
            statement.refusal.append(call.refusal?.rawValue ?? "")
            statement.keepsOutcome.append(call.keepsOutcome)
            statement.amount.append(call.plan.amount)
            statement.shares.append(call.plan.shares)
            statement.price.append(call.plan.price)
            statement.expiresAt.append(call.plan.expiresAt)
            statement.cachedVersion.append(call.cachedVersion ?? -1)
        }
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(calls.count)
        for try await (replayed, body, version, state) in try await client.execute(statement, logger: logger) {
            let call = calls[outcomes.count]
            let record = replayed
                ? try TransactionRecord(parsing: body)
                : TransactionRecord(head: call.head, result: try RecordResult(json: JSONValue(parsing: body)))
            outcomes.append(Outcome(
                record: record, replayed: replayed, version: version,
                state: try state.map { text throws in try AccountState(parsing: text) }
            ))
        }
        guard outcomes.count == calls.count else {
            throw StoreError.inconsistent("\(calls.count) commands went in, \(outcomes.count) outcomes came out")
        }
        return outcomes
    }

    /// `dt_execute`: arrays of the calls' fields, one element per command.
    struct ExecuteCommands: PostgresPreparedStatement {
        static let sql = "SELECT replayed, body, version, state FROM dt_execute($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        typealias Row = (Bool, String, Int64?, String?)

        var command: [String] = []
        var user: [String] = []
        var symbol: [String] = []
        var now: [Int64] = []
        var transactionNum: [Int64] = []
        var key: [String] = []
        var fingerprint: [String] = []
        var head: [String] = []
        var refusal: [String] = []
        var keepsOutcome: [Bool] = []
        var amount: [Int64] = []
        var shares: [Int64] = []
        var price: [Int64] = []
        var expiresAt: [Int64] = []
        var cachedVersion: [Int64] = []
        var history: Int32

        init(history: Int) {
            self.history = Int32(history)
        }

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 16)
            bindings.append(command)
            bindings.append(user)
            bindings.append(symbol)
            bindings.append(now)
            bindings.append(transactionNum)
            bindings.append(key)
            bindings.append(fingerprint)
            bindings.append(head)
            bindings.append(refusal)
            bindings.append(keepsOutcome)
            bindings.append(amount)
            bindings.append(shares)
            bindings.append(price)
            bindings.append(expiresAt)
            bindings.append(cachedVersion)
            bindings.append(history)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }

    /// What an idempotency key holds.
    public enum StoredRecord: Sendable {
        /// Nothing yet.
        case none
        /// The record of the first attempt of this same request.
        case same(TransactionRecord)
        /// The key was used for a different request.
        case other
    }

    /// What a command must know before it costs a charged quote hit, in one look-up apart from
    /// its call: whether `user` has an account (a made-up user costs no hit), and what `key`
    /// holds (a retry costs none).
    public func beforeQuoteHit(user: UserID, key: (key: String, fingerprint: String)?) async throws -> (hasAccount: Bool, stored: StoredRecord) {
        let rows = try await client.query(
            """
            SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = \(user.rawValue)), pr.fingerprint, pr.record
            FROM (SELECT 1) one LEFT JOIN processed_requests pr ON pr.idempotency_key = \(key?.key)
            """,
            logger: logger
        )
        for try await (hasAccount, fingerprint, record) in rows.decode((Bool, String?, String?).self) {
            guard let key, let fingerprint, let record else { return (hasAccount, .none) }
            return (hasAccount, fingerprint == key.fingerprint ? .same(try TransactionRecord(parsing: record)) : .other)
        }
        return (false, .none)
    }

    /// Writes a record the system made by itself with no change of state (the trigger engine's
    /// quote hit) to the outbox, so that every charged hit reaches the log.
    public func log(_ head: RecordHead) async throws {
        let record = #"{"h":"# + head.json + #","r":{"c":"ok"}}"#
        try await client.query("INSERT INTO audit_outbox (record) VALUES (\(record))", logger: logger)
    }

    /// Forgets idempotency keys first used before `cutoff` (Unix ms), at most `limit` at a time;
    /// returns how many went. A retry with a forgotten key is a new command (docs/SPEC.md).
    public func pruneIdempotencyKeys(usedBefore cutoff: Int64, limit: Int = 10_000) async throws -> Int {
        let rows = try await client.query(
            """
            WITH old AS (SELECT ctid FROM processed_requests WHERE at_ms < \(cutoff) LIMIT \(limit))
            DELETE FROM processed_requests WHERE ctid IN (SELECT ctid FROM old) RETURNING 1
            """,
            logger: logger
        )
        var count = 0
        for try await _ in rows.decode(Int.self) { count += 1 }
        return count
    }
}

extension PSQLError {
    /// The SQLSTATE of an error the server reported, if it reported one.
    public var sqlState: String? { serverInfo?[.sqlState] }
}

/// A fault in the store itself, never a business rejection.
public enum StoreError: Error, CustomStringConvertible {
    case inconsistent(String)

    public var description: String {
        switch self {
        case .inconsistent(let message): "inconsistent store: \(message)"
        }
    }
}
