import DayTraderCore
import Logging
import PostgresNIO

/// The one place where a command's Postgres transaction is built.
///
/// Every change a command makes goes through ``apply(_:)``, which writes the ledger row and the
/// balance it moves together, so the ledger and the balances cannot drift apart, and logs every
/// movement of cash to the audit trail, which is written to the outbox in the same transaction.
struct CommandTransaction {
    let connection: PostgresConnection
    let logger: Logger
    let user: UserID
    let transactionNum: Int64
    let audit: AuditTrail
    var now: Timestamp { audit.now }

    /// One movement of balances, recorded in the ledger.
    struct Movement {
        var kind: String
        var symbol: StockSymbol?
        var cash: Int64 = 0
        var reservedCash: Int64 = 0
        var shares: Int64 = 0
        var reservedShares: Int64 = 0
        /// The command that caused it; a system action (an expiry) names the order's own command.
        var transactionNum: Int64? = nil
    }

    struct Account {
        var cash: Money
        var reservedCash: Money
    }

    struct Holding {
        var shares: Int64
        var reservedShares: Int64
        static let none = Holding(shares: 0, reservedShares: 0)
    }

    /// Locks the account row for the rest of the transaction; every change to a user's rows
    /// takes this lock first, so commands for one user are serialized across all instances.
    func lockAccount() async throws -> Account? {
        let rows = try await connection.query(
            "SELECT cash, reserved_cash FROM accounts WHERE user_id = \(user.rawValue) FOR UPDATE",
            logger: logger
        )
        for try await (cash, reserved) in rows.decode((Int64, Int64).self) {
            return Account(cash: Money(cents: cash), reservedCash: Money(cents: reserved))
        }
        return nil
    }

    /// Locks the account row unless another transaction holds it: for the system's own work
    /// (expiry, triggers), which must never queue behind a user's command or another instance.
    func tryLockAccount() async throws -> Bool {
        let rows = try await connection.query(
            "SELECT 1 FROM accounts WHERE user_id = \(user.rawValue) FOR UPDATE SKIP LOCKED",
            logger: logger
        )
        var isLocked = false
        for try await _ in rows.decode(Int.self) { isLocked = true }
        return isLocked
    }

    /// Creates the account on first use (ADD) and locks it.
    func createAndLockAccount() async throws -> Account {
        try await connection.query(
            "INSERT INTO accounts (user_id) VALUES (\(user.rawValue)) ON CONFLICT (user_id) DO NOTHING",
            logger: logger
        )
        guard let account = try await lockAccount() else {
            throw StoreError.inconsistent("account \(user) vanished after it was created")
        }
        return account
    }

    func holding(_ symbol: StockSymbol) async throws -> Holding {
        let rows = try await connection.query(
            "SELECT shares, reserved_shares FROM holdings WHERE user_id = \(user.rawValue) AND symbol = \(symbol.rawValue)",
            logger: logger
        )
        for try await (shares, reserved) in rows.decode((Int64, Int64).self) {
            return Holding(shares: shares, reservedShares: reserved)
        }
        return .none
    }

    /// Writes the movement to the ledger and to the balances it changes.
    func apply(_ movement: Movement) async throws {
        audit.cashMovement(cents: movement.cash, user: user, transactionNum: movement.transactionNum ?? transactionNum)
        try await connection.query(
            """
            INSERT INTO ledger (user_id, transaction_num, kind, symbol, cash_delta, reserved_cash_delta,
                                shares_delta, reserved_shares_delta, at_ms)
            VALUES (\(user.rawValue), \(movement.transactionNum ?? transactionNum), \(movement.kind),
                    \(movement.symbol?.rawValue), \(movement.cash), \(movement.reservedCash),
                    \(movement.shares), \(movement.reservedShares), \(now.unixMillis))
            """,
            logger: logger
        )
        try await connection.query(
            """
            UPDATE accounts SET cash = cash + \(movement.cash), reserved_cash = reserved_cash + \(movement.reservedCash)
            WHERE user_id = \(user.rawValue)
            """,
            logger: logger
        )
        if movement.shares != 0 || movement.reservedShares != 0, let symbol = movement.symbol {
            // UPDATE first: an upsert would check the CHECKs on the negative deltas it tries to insert.
            let updated = try await connection.query(
                """
                UPDATE holdings SET shares = shares + \(movement.shares), reserved_shares = reserved_shares + \(movement.reservedShares)
                WHERE user_id = \(user.rawValue) AND symbol = \(symbol.rawValue)
                RETURNING 1
                """,
                logger: logger
            )
            var exists = false
            for try await _ in updated.decode(Int.self) { exists = true }
            if !exists {
                try await connection.query(
                    """
                    INSERT INTO holdings (user_id, symbol, shares, reserved_shares)
                    VALUES (\(user.rawValue), \(symbol.rawValue), \(movement.shares), \(movement.reservedShares))
                    """,
                    logger: logger
                )
            }
        }
    }

    /// Marks the account as changed, once per transaction that changed any of its rows, so
    /// caches can order snapshots by version.
    func bumpVersion() async throws {
        try await connection.query("UPDATE accounts SET version = version + 1 WHERE user_id = \(user.rawValue)", logger: logger)
    }

    /// Releases every pending BUY and SELL of this user whose 60 s have run out.
    ///
    /// Runs at the start of each of the user's commands (so a late COMMIT can never see an
    /// expired order) and from the sweeper (so reserves come back with no other traffic).
    @discardableResult
    func expirePendingOrders() async throws -> Int {
        let rows = try await connection.query(
            """
            DELETE FROM pending_orders WHERE user_id = \(user.rawValue) AND expires_at_ms <= \(now.unixMillis)
            RETURNING side, symbol, shares, amount, transaction_num
            """,
            logger: logger
        )
        var expired: [Movement] = []
        for try await (side, symbol, shares, amount, orderTransactionNum) in rows.decode((String, String, Int64, Int64, Int64).self) {
            let stock = try StockSymbol(validating: symbol)
            audit.systemAction(side == "buy" ? .cancelBuy : .cancelSell, user: user, symbol: stock, funds: Money(cents: amount), transactionNum: orderTransactionNum)
            if side == "buy" {
                expired.append(Movement(kind: "buy_expired", symbol: stock, cash: amount, reservedCash: -amount, transactionNum: orderTransactionNum))
            } else {
                expired.append(Movement(kind: "sell_expired", symbol: stock, shares: shares, reservedShares: -shares, transactionNum: orderTransactionNum))
            }
        }
        for movement in expired {
            try await apply(movement)
        }
        return expired.count
    }
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
