/// A command the system refuses. It changes nothing; the caller gets `code` and `message`,
/// and the audit log gets an errorEvent with the message.
public struct Rejection: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Stable, machine-readable reasons. Clients may switch on these; never rename one.
    public enum Code: String, Sendable, CaseIterable {
        // The request itself is wrong.
        case malformedCommand = "malformed_command"
        case invalidUserID = "invalid_user_id"
        case invalidSymbol = "invalid_symbol"
        case invalidAmount = "invalid_amount"
        case amountTooLarge = "amount_too_large"
        case invalidFilename = "invalid_filename"
        case idempotencyKeyReused = "idempotency_key_reused"
        /// The whole-system DUMPLOG without the supervisor's credentials.
        case supervisorOnly = "supervisor_only"
        /// A command the signed-in caller may not run for that user (``Access``).
        case forbidden = "forbidden"
        // The request is well formed but the account's state does not allow it.
        case unknownAccount = "unknown_account"
        case insufficientFunds = "insufficient_funds"
        case insufficientShares = "insufficient_shares"
        case amountBelowPrice = "amount_below_price"
        case noPendingBuy = "no_pending_buy"
        case noPendingSell = "no_pending_sell"
        case noBuyAmount = "no_buy_amount"
        case noSellAmount = "no_sell_amount"
        case triggerAboveReserve = "trigger_above_reserve"
        case noTrigger = "no_trigger"
        case arithmeticOverflow = "arithmetic_overflow"
        // The system could not serve it right now; the same request may succeed later.
        case quoteUnavailable = "quote_unavailable"
        /// DUMPLOG could not gather every event yet (the broker or the audit consumer is down).
        case auditUnavailable = "audit_unavailable"
        // Accounts and sign-in (the web pages; ``SignInRules``).
        /// No session and no service token, where the system requires one (`API_AUTH=on`).
        case unauthenticated = "unauthenticated"
        /// A wrong name or password (which of the two is not said).
        case badCredentials = "bad_credentials"
        /// Too many failed sign-ins for the name or from the address; try later.
        case tooManyAttempts = "too_many_attempts"
        /// A sign-up under a name that has an account already.
        case nameTaken = "name_taken"
        /// A password outside ``SignInRules/passwordLength``.
        case weakPassword = "weak_password"
        /// A write signed in by cookie that came from another site.
        case crossSiteRequest = "cross_site_request"
    }

    public static func overflow(_ what: String) -> Rejection {
        Rejection(.arithmeticOverflow, "\(what) would overflow; nothing was changed")
    }
}
