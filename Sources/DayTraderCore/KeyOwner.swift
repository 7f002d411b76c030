/// Whose an idempotency key is. Keys are kept per caller: a key one caller used never answers,
/// nor refuses, another caller's request, so no client can take (squat) another's keys or read
/// another's replies by guessing them. Stores hold a key only in its scoped form.
///
/// A trader's, the service's and an anonymous caller's keys are kept under the user the command
/// acts for; an auditor's or a supervisor's under their own name (``Caller/keyOwner(actingFor:)``).
public enum KeyOwner: Hashable, Sendable {
    /// The user a command names, as sent (`nil` when it names none).
    case user(String?)
    /// An auditor or supervisor signed in under this name.
    case staff(String)

    /// The key as stored: the owner, written with its length so no two owners' keys can meet,
    /// then the client's key (both as ``StoredText`` holds them).
    public func scope(_ key: String) -> String {
        let key = StoredText.escaped(key)
        return switch self {
        case .user(let user?): "u\(user.utf8.count):\(StoredText.escaped(user))|\(key)"
        case .user(nil): "u-|\(key)"
        case .staff(let name): "p\(name.utf8.count):\(StoredText.escaped(name))|\(key)"
        }
    }
}
