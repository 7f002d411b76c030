import DayTraderCore
import Logging
import PostgresNIO

/// All trading state, in Postgres. Every command runs as one Postgres transaction.
///
/// The store holds no state of its own: any number of transaction servers can share one
/// database, and per-user row locks keep their commands from racing.
public struct TradingStore: Sendable {
    let client: PostgresClient
    let clock: any TradingClock
    /// This instance's name, written into every audit event it produces.
    let serverName: String
    let logger: Logger

    public init(client: PostgresClient, clock: any TradingClock, serverName: String, logger: Logger) {
        self.client = client
        self.clock = clock
        self.serverName = serverName
        self.logger = logger
    }

    /// Creates or upgrades the schema; safe when several instances start at once.
    public func migrate() async throws {
        try await Migrations.migrate(client, logger: logger)
    }

    /// One command as a client sent it, with what the server learned before the transaction.
    public struct Submission: Sendable {
        public var request: CommandRequest
        /// The validated command, or why the request is not one.
        public var command: Result<Command, Rejection>
        /// The client's transactionNum (a workload line number); assigned when absent.
        public var transactionNum: Int64?
        public var idempotencyKey: String?
        /// The price for QUOTE, BUY and SELL, fetched before the transaction opened (the quote
        /// server is slow, and no lock is held while waiting for it), or why there is none.
        public var quote: Result<QuoteInfo, Rejection>?

        public init(request: CommandRequest, command: Result<Command, Rejection>, transactionNum: Int64?, idempotencyKey: String?, quote: Result<QuoteInfo, Rejection>? = nil) {
            self.request = request
            self.command = command
            self.transactionNum = transactionNum
            self.idempotencyKey = idempotencyKey
            self.quote = quote
        }

        /// What must match when a key is used again: the same key for another request is an error.
        var fingerprint: String { Self.fingerprint(request, transactionNum: transactionNum) }

        static func fingerprint(_ request: CommandRequest, transactionNum: Int64?) -> String {
            [request.name, request.user, request.symbol, request.amount, request.filename, transactionNum.map(String.init)]
                .map { $0 ?? "" }.joined(separator: "|")
        }
    }

    /// The reply an earlier request with this idempotency key got, if any; a key already used
    /// for a different request is a rejection.
    public func previousReply(to submission: Submission) async throws -> CommandReply? {
        guard let key = submission.idempotencyKey else { return nil }
        return try await client.withConnection { connection in
            try await previousReply(key: key, fingerprint: submission.fingerprint, connection)
        }
    }

    /// What one command did.
    public struct Execution: Sendable {
        public var reply: CommandReply
        /// The account's summary as committed, when the command changed the account: the
        /// write-through value for the account cache.
        public var snapshot: AccountSnapshot?
    }

    /// Runs the command in one transaction and returns its reply; a rejection is a reply too.
    ///
    /// With an idempotency key, a retry (even one racing the first attempt on another instance)
    /// gets the first reply back and changes nothing.
    public func execute(_ submission: Submission) async throws -> Execution {
        // A unique violation on processed_requests means a concurrent attempt with the same key
        // committed first; the next pass finds its reply.
        var attempt = 1
        while true {
            do {
                return try await executeOnce(submission)
            } catch let error as PostgresTransactionError where error.isUniqueViolation && attempt < 3 {
                attempt += 1
            } catch let error as PostgresTransactionError {
                // The only rejection raised outside the command's savepoint: a reused key. Its
                // transaction rolled back, so it is logged on its own.
                guard let rejection = error.closureError as? Rejection else { throw error }
                let transactionNum = try await logAnswered(submission.request, transactionNum: submission.transactionNum, rejection: rejection)
                return Execution(reply: .rejected(rejection, transactionNum: transactionNum, request: submission.request))
            }
        }
    }

    private func executeOnce(_ submission: Submission) async throws -> Execution {
        let audit = AuditTrail(server: serverName, now: clock.now())
        return try await client.withTransaction(logger: logger) { connection in
            let execution = try await perform(submission, audit: audit, on: connection)
            try await audit.write(on: connection, logger: logger)
            return execution
        }
    }

    private func perform(_ submission: Submission, audit: AuditTrail, on connection: PostgresConnection) async throws -> Execution {
        let transactionNum = try await assignTransactionNum(submission.transactionNum, connection)
        let user: UserID? = switch submission.command {
        case .success(let command): command.user
        case .failure: nil
        }
        let transaction = user.map { CommandTransaction(connection: connection, logger: logger, user: $0, transactionNum: transactionNum, audit: audit) }

        // Lock first, then look for an earlier reply: a racing retry for the same user waits
        // on the lock and then sees the first attempt's committed reply.
        var account: CommandTransaction.Account?
        var changed = false
        if let transaction, case .success(let command) = submission.command {
            account = command.name == .add ? try await transaction.createAndLockAccount() : try await transaction.lockAccount()
            if account != nil, try await transaction.expirePendingOrders() > 0 {
                changed = true
                account = try await transaction.lockAccount()
            }
        }
        if let key = submission.idempotencyKey {
            if let previous = try await previousReply(key: key, fingerprint: submission.fingerprint, connection) {
                return Execution(reply: previous, snapshot: try await snapshot(if: changed, transaction))
            }
        }

        audit.userCommand(submission.request, transactionNum: transactionNum)
        if case .success(let command) = submission.command, let user, case .success(let quote)? = submission.quote {
            // Logged before the savepoint: a hit happened even if the command is then refused.
            audit.quote(quote, command: command.name, user: user, transactionNum: transactionNum)
        }
        let reply: CommandReply
        do {
            let command = try submission.command.get()
            guard let transaction else {
                throw Rejection(.malformedCommand, "\(command.name.rawValue) is not handled by the trading store")
            }
            guard let account else {
                throw Rejection(.unknownAccount, "user \(transaction.user) has no account; ADD funds first")
            }
            try await connection.query("SAVEPOINT command", logger: logger)
            let mark = audit.mark
            do {
                reply = try await run(command, on: transaction, account: account, quote: submission.quote)
            } catch let rejection as Rejection {
                // A rejected command changes nothing, even if a rule failed half way.
                try await connection.query("ROLLBACK TO SAVEPOINT command", logger: logger)
                audit.rollback(to: mark)
                throw rejection
            }
            // QUOTE reads a price and writes nothing of the account's.
            if command.name != .quote { changed = true }
        } catch let rejection as Rejection {
            audit.errorEvent(submission.request, rejection, transactionNum: transactionNum)
            let rejected = try await record(.rejected(rejection, transactionNum: transactionNum, request: submission.request), submission, connection)
            return Execution(reply: rejected, snapshot: try await snapshot(if: changed, transaction))
        }
        return Execution(reply: try await record(reply, submission, connection), snapshot: try await snapshot(if: changed, transaction))
    }

    /// Logs a command answered without a trading transaction: DISPLAY_SUMMARY, or a request
    /// refused before one could run. Returns the command's transactionNum (assigned if absent).
    ///
    /// With `claiming` (DISPLAY_SUMMARY's idempotency key) a retry of a logged request logs nothing again.
    public func logAnswered(_ request: CommandRequest, transactionNum given: Int64?, rejection: Rejection?, claiming key: String? = nil) async throws -> Int64 {
        let audit = AuditTrail(server: serverName, now: clock.now())
        return try await client.withTransaction(logger: logger) { connection in
            let transactionNum = try await assignTransactionNum(given, connection)
            if let key {
                let reply = CommandReply(transactionNum: transactionNum, command: request.name, user: request.user)
                let claimed = try await connection.query(
                    """
                    INSERT INTO processed_requests (idempotency_key, fingerprint, reply, at_ms)
                    VALUES (\(key), \(Submission.fingerprint(request, transactionNum: given)), \(try ReplyCoding.encode(reply)), \(audit.now.unixMillis))
                    ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1
                    """,
                    logger: logger
                )
                var isFirst = false
                for try await _ in claimed.decode(Int.self) { isFirst = true }
                guard isFirst else { return transactionNum }
            }
            audit.userCommand(request, transactionNum: transactionNum)
            if let rejection {
                audit.errorEvent(request, rejection, transactionNum: transactionNum)
            }
            try await audit.write(on: connection, logger: logger)
            return transactionNum
        }
    }

    private func snapshot(if changed: Bool, _ transaction: CommandTransaction?) async throws -> AccountSnapshot? {
        guard changed, let transaction else { return nil }
        try await transaction.bumpVersion()
        return try await Self.summary(for: transaction.user, now: transaction.now, on: transaction.connection, logger: logger)
    }

    private func assignTransactionNum(_ given: Int64?, _ connection: PostgresConnection) async throws -> Int64 {
        if let given { return given }
        for try await next in try await connection.query("SELECT nextval('transaction_numbers')", logger: logger).decode(Int64.self) {
            return next
        }
        throw StoreError.inconsistent("the transaction number sequence returned nothing")
    }

    private func previousReply(key: String, fingerprint: String, _ connection: PostgresConnection) async throws -> CommandReply? {
        let rows = try await connection.query(
            "SELECT fingerprint, reply FROM processed_requests WHERE idempotency_key = \(key)",
            logger: logger
        )
        for try await (storedFingerprint, reply) in rows.decode((String, String).self) {
            guard storedFingerprint == fingerprint else {
                throw Rejection(.idempotencyKeyReused, "idempotency key \(key) was already used for a different request")
            }
            return try ReplyCoding.decode(reply)
        }
        return nil
    }

    private func record(_ reply: CommandReply, _ submission: Submission, _ connection: PostgresConnection) async throws -> CommandReply {
        if let key = submission.idempotencyKey {
            try await connection.query(
                """
                INSERT INTO processed_requests (idempotency_key, fingerprint, reply, at_ms)
                VALUES (\(key), \(submission.fingerprint), \(try ReplyCoding.encode(reply)), \(clock.now().unixMillis))
                """,
                logger: logger
            )
        }
        return reply
    }
}

extension PostgresTransactionError {
    var isUniqueViolation: Bool {
        let underlying = closureError ?? commitError
        return (underlying as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }
}
