/// The rules of web accounts, sessions and sign-in attempts, in one place (docs/SPEC.md,
/// "Accounts and sign-in"). The transaction servers apply them; PostgreSQL stores the outcome.
public enum SignInRules {
    /// A password's length in characters.
    public static let passwordLength = 10...128
    /// How long a session lasts from sign-in, whatever is done with it.
    public static let sessionLifetimeMillis: Int64 = 8 * 3_600_000
    /// The window in which failed sign-ins are counted.
    public static let failureWindowMillis: Int64 = 15 * 60_000
    /// Failed sign-ins allowed in the window for one account name, from anywhere: a guesser
    /// spread over many addresses is slowed down as much as one.
    public static let failuresPerName = 5
    /// Failed sign-ins allowed in the window from one address, for any names: one address
    /// trying many accounts is stopped too.
    public static let failuresPerAddress = 20

    /// What a sign-up or a new staff account may be called: a trader's name is the user id they
    /// trade as, so every name follows the user id rule (``UserID``).
    public static func checkName(_ name: String) throws(Rejection) -> UserID {
        try UserID(validating: name)
    }

    public static func checkPassword(_ password: String) throws(Rejection) {
        guard passwordLength.contains(password.count) else {
            throw Rejection(.weakPassword, "a password has \(passwordLength.lowerBound) to \(passwordLength.upperBound) characters")
        }
    }

    /// What counts a failed sign-in: the name tried and the address it came from.
    public enum Subject: Hashable, Sendable {
        case name(String)
        case address(String)

        /// The subject as stored (one table for both kinds).
        public var key: String {
            switch self {
            case .name(let name): "n:\(name)"
            case .address(let address): "a:\(address)"
            }
        }

        public var limit: Int {
            switch self {
            case .name: failuresPerName
            case .address: failuresPerAddress
            }
        }
    }

    /// Whether a sign-in may be tried, given the failures counted in the window for its subjects.
    public static func mayTry(failures: [Subject: Int]) -> Bool {
        failures.allSatisfy { $0.value < $0.key.limit }
    }
}
