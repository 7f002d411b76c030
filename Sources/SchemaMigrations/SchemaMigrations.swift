import Logging
import PostgresNIO

/// A database schema as an ordered list of migrations, applied at start-up.
///
/// Several instances may start at once: `apply` holds a transaction-scoped advisory lock, so
/// one instance applies what is missing while the others wait and then find nothing to do.
/// A migration is never edited once it has shipped; a change is a new entry at the end.
public struct SchemaMigrations: Sendable {
    /// Identifies this schema's lock among the database's advisory locks.
    public let advisoryLockKey: Int64
    public let migrations: [(version: Int, statements: [String])]

    public init(advisoryLockKey: Int64, migrations: [(version: Int, statements: [String])]) {
        self.advisoryLockKey = advisoryLockKey
        self.migrations = migrations
    }

    /// Applies, in one transaction, every migration not yet recorded in `schema_migrations`.
    public func apply(on client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            // A migration may rewrite a large table, and an instance starting beside another
            // waits here for the other's migrations.
            try await connection.query(SessionBounds.liftedForThisTransaction, logger: logger)
            try await connection.query("SELECT pg_advisory_xact_lock(\(advisoryLockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger
            )
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            for migration in migrations where !applied.contains(migration.version) {
                logger.info("applying schema migration", metadata: ["version": "\(migration.version)"])
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: logger)
            }
        }
    }
}
