import DayTraderCore
import Foundation

/// The auditor's check that the money and the log agree, as pure logic over what the two
/// databases hold (``LedgerSource`` and ``LogSource`` read them):
///
/// - every account's cash and reserved cash equal the sums of its ledger rows;
/// - every ledger row that moved spendable cash has its accountTransaction in the audit log
///   (same user, transactionNum, action and funds), and no accountTransaction lacks its row;
/// - for every user, the log's adds minus removes equal the account's cash.
public enum Reconciliation {
    /// An account as the trading database holds it, with its ledger's sums.
    public struct Account: Hashable, Sendable, Codable {
        public var user: String
        public var cash: Int64
        public var reservedCash: Int64
        public var ledgerCash: Int64
        public var ledgerReservedCash: Int64

        public init(user: String, cash: Int64, reservedCash: Int64, ledgerCash: Int64, ledgerReservedCash: Int64) {
            self.user = user
            self.cash = cash
            self.reservedCash = reservedCash
            self.ledgerCash = ledgerCash
            self.ledgerReservedCash = ledgerReservedCash
        }
    }

    /// A change of a user's spendable cash, in cents (positive: added), under a transactionNum:
    /// a ledger row's, or an accountTransaction's.
    public struct CashMovement: Hashable, Sendable, Codable, CustomStringConvertible {
        public var user: String
        public var transactionNum: Int64
        public var cents: Int64

        public init(user: String, transactionNum: Int64, cents: Int64) {
            self.user = user
            self.transactionNum = transactionNum
            self.cents = cents
        }

        public var description: String {
            "\(user) transactionNum \(transactionNum): \(cents < 0 ? "remove" : "add") \(Money(cents: Int64(clamping: cents.magnitude)))"
        }
    }

    /// The trading database's side, as the transaction servers send it to the audit server.
    public struct Ledger: Sendable, Codable {
        public var accounts: [Account]
        public var movements: [CashMovement]

        public init(accounts: [Account], movements: [CashMovement]) {
            self.accounts = accounts
            self.movements = movements
        }
    }

    /// What a reconciliation found, as the auditor's page shows it.
    public struct Report: Sendable, Codable {
        /// The user reconciled; `nil`: everyone.
        public var user: String?
        public var accounts: Int
        public var ledgerMovements: Int
        public var accountTransactions: Int
        /// Every discrepancy, in words (``Discrepancy/description``); none when the two agree.
        public var discrepancies: [String]

        public init(user: String?, ledger: Ledger, logged: [CashMovement]) {
            self.user = user
            accounts = ledger.accounts.count
            ledgerMovements = ledger.movements.count
            accountTransactions = logged.count
            discrepancies = Reconciliation.discrepancies(accounts: ledger.accounts, ledger: ledger.movements, logged: logged).map(\.description)
        }
    }

    /// One way the two disagree.
    public enum Discrepancy: Hashable, Sendable, CustomStringConvertible {
        /// The account's cash (or reserved cash) is not its ledger's sum.
        case balanceDiffersFromLedger(user: String, column: String, balance: Int64, ledger: Int64)
        /// A ledger row moved spendable cash, and the log has no accountTransaction for it.
        case movementNotLogged(CashMovement)
        /// The log has an accountTransaction that no ledger row accounts for.
        case loggedWithoutMovement(CashMovement)
        /// The log's adds minus removes for the user are not the account's cash (`nil`: the
        /// user has no account).
        case logDiffersFromCash(user: String, logged: Int64, cash: Int64?)

        public var description: String {
            switch self {
            case .balanceDiffersFromLedger(let user, let column, let balance, let ledger):
                "\(user): \(column) is \(Money(cents: balance)), its ledger sums to \(Money(cents: ledger))"
            case .movementNotLogged(let movement):
                "not in the log: the ledger's \(movement)"
            case .loggedWithoutMovement(let movement):
                "not in the ledger: the log's accountTransaction \(movement)"
            case .logDiffersFromCash(let user, let logged, let cash):
                "\(user): the log's adds minus removes are \(Money(cents: logged)), the cash is \(cash.map { "\(Money(cents: $0))" } ?? "absent (no account)")"
            }
        }
    }

    /// Every discrepancy, accounts first, then movements, then totals, each in a stable order.
    public static func discrepancies(accounts: [Account], ledger: [CashMovement], logged: [CashMovement]) -> [Discrepancy] {
        var found: [Discrepancy] = []
        for account in accounts.sorted(by: { $0.user < $1.user }) {
            if account.cash != account.ledgerCash {
                found.append(.balanceDiffersFromLedger(user: account.user, column: "cash", balance: account.cash, ledger: account.ledgerCash))
            }
            if account.reservedCash != account.ledgerReservedCash {
                found.append(.balanceDiffersFromLedger(user: account.user, column: "reserved cash", balance: account.reservedCash, ledger: account.ledgerReservedCash))
            }
        }
        var unmatched: [CashMovement: Int] = [:]
        for movement in ledger { unmatched[movement, default: 0] += 1 }
        for movement in logged { unmatched[movement, default: 0] -= 1 }
        let order: (CashMovement, CashMovement) -> Bool = { ($0.user, $0.transactionNum, $0.cents) < ($1.user, $1.transactionNum, $1.cents) }
        for (movement, count) in unmatched.sorted(by: { order($0.key, $1.key) }) where count != 0 {
            let discrepancy: Discrepancy = count > 0 ? .movementNotLogged(movement) : .loggedWithoutMovement(movement)
            found.append(contentsOf: repeatElement(discrepancy, count: abs(count)))
        }
        var loggedCash: [String: Int64] = [:]
        for movement in logged { loggedCash[movement.user, default: 0] &+= movement.cents }
        let cash = Dictionary(accounts.map { ($0.user, $0.cash) }, uniquingKeysWith: { first, _ in first })
        for user in Set(loggedCash.keys).union(cash.keys).sorted() {
            let logged = loggedCash[user] ?? 0
            if logged != cash[user] ?? 0 {
                found.append(.logDiffersFromCash(user: user, logged: logged, cash: cash[user]))
            }
        }
        return found
    }

    /// The accountTransactions in a stretch of the log's XML (as the audit server renders it:
    /// one element per line), as cash movements.
    public static func accountTransactions(inLogXML xml: Substring) -> [CashMovement] {
        var movements: [CashMovement] = []
        var fields: [Substring: Substring]?
        for line in xml.split(separator: "\n") {
            let element = line.drop { $0 == " " || $0 == "\t" }
            if element == "<accountTransaction>" {
                fields = [:]
            } else if element == "</accountTransaction>" {
                if let fields, let user = fields["username"], let number = fields["transactionNum"].flatMap({ Int64($0) }),
                   let funds = fields["funds"].flatMap({ try? Money(parsing: $0) }), let action = fields["action"] {
                    movements.append(CashMovement(user: String(user), transactionNum: number, cents: action == "remove" ? -funds.cents : funds.cents))
                }
                fields = nil
            } else if fields != nil, element.hasPrefix("<"), let close = element.firstIndex(of: ">"), let end = element.range(of: "</", options: .backwards) {
                fields?[element[element.index(after: element.startIndex)..<close]] = element[element.index(after: close)..<end.lowerBound]
            }
        }
        return movements
    }
}
