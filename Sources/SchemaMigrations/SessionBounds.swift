import PostgresNIO

/// The servers' sessions start bounded (`statement_timeout`, `lock_timeout`: see
/// `PostgresClient.Configuration(reader:database:)` in ServiceSupport). Work that may rightly
/// take longer lifts the bounds for its own transaction only, and says why where it does.
public enum SessionBounds {
    /// One statement: no statement or lock timeout until this transaction ends.
    public static let liftedForThisTransaction: PostgresQuery =
        "SELECT set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true)"
}
