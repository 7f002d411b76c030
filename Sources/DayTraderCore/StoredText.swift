/// Client text kept only to be compared again (request fingerprints, scoped idempotency keys).
///
/// PostgreSQL's text cannot hold U+0000: a request carrying one failed in the database instead
/// of being refused and logged. Such text is stored with `\` written `\\` and U+0000 written
/// `\0`, which keeps any two different texts different.
enum StoredText {
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "\0" || $0 == "\\" }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\0": scalars.append(contentsOf: #"\0"#.unicodeScalars)
            case "\\": scalars.append(contentsOf: #"\\"#.unicodeScalars)
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }
}
