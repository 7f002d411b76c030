/// What a person signed in to the web pages may do.
public enum Role: String, Sendable, CaseIterable, Codable {
    /// Trades: every command, for the trader's own user id only.
    case trader
    /// Reads: any user's summary and any user's DUMPLOG; changes nothing.
    case auditor
    /// An auditor who may also dump the whole log.
    case supervisor
}

/// Who sent a request, once its credentials were checked.
public enum Caller: Sendable, Hashable {
    /// A machine holding the service token (the workload generator): acts for any user, may
    /// number its lines itself (`transactionNum`), may dump the whole log.
    case service
    /// A person signed in: their name (for a trader, the user id they trade as) and role.
    case person(name: String, role: Role)
    /// No credentials, where the system runs with `API_AUTH=off` (a course setup of trusted
    /// clients only): treated as the service, as before sign-in existed, except that the whole
    /// log stays closed to it.
    case anonymous

    /// Whose idempotency keys this caller's are (``KeyOwner``).
    public func keyOwner(actingFor user: String?) -> KeyOwner {
        switch self {
        case .service, .anonymous: .user(user)
        // The trader's own, even on a request for someone else (refused): no one's keys but theirs.
        case .person(let name, .trader): .user(name)
        case .person(let name, _): .staff(name)
        }
    }
}

/// The one place that says who may run which command for whom. Both servers ask it: the
/// transaction servers for the 15 trading commands, the audit server for DUMPLOG.
public enum Access {
    /// Whether `caller` may run `command` acting for `user` (the user the request names, `nil`
    /// when it names none): `nil` when allowed, else the refusal (403 `forbidden`, logged as an
    /// errorEvent like any refusal, changing nothing).
    public static func refusal(of command: CommandName, for user: String?, by caller: Caller) -> Rejection? {
        switch caller {
        case .service:
            return nil
        case .anonymous:
            guard command == .dumplog, user == nil else { return nil }
            return Rejection(.supervisorOnly, "DUMPLOG of the whole log is for the supervisor: sign in as one, or send the service token as 'Authorization: Bearer <token>'")
        case .person(let name, .trader):
            if command == .dumplog, user == nil {
                return Rejection(.supervisorOnly, "DUMPLOG of the whole log is for the supervisor; a trader may dump their own log only")
            }
            guard user == name else {
                return Rejection(.forbidden, "\(name) may act for \(name) only, not for \(user.map { "'\($0)'" } ?? "no user")")
            }
            return nil
        case .person(let name, let role):
            switch command {
            case .displaySummary:
                return nil
            case .dumplog where user != nil || role == .supervisor:
                return nil
            case .dumplog:
                return Rejection(.supervisorOnly, "DUMPLOG of the whole log is for the supervisor; \(name) is an auditor")
            default:
                return Rejection(.forbidden, "\(name) is an \(role.rawValue): \(command.rawValue) changes or costs something, and an auditor only reads")
            }
        }
    }

    /// Whether the caller may choose the `transactionNum` written into the log. The service does
    /// (the workload generator numbers each line); everyone else gets one assigned.
    public static func mayNumberCommands(_ caller: Caller) -> Bool {
        switch caller {
        case .service, .anonymous: true
        case .person: false
        }
    }
}
