/// The audit database's schema. audit/schema.sql holds the same statements for operators (a
/// test keeps the two equal); a change is a new version at the end, never an edit.
public enum AuditSchema {
    /// Identifies the schema lock among the database's advisory locks.
    static let advisoryLockKey: Int64 = 468_002

    public static let migrations: [(version: Int, statements: [String])] = [
        (1, [
            // One row per event, exactly once: `id` is the producer's event id, and delivery
            // from the broker is at-least-once, so a duplicate insert is dropped on it. `seq`
            // keeps arrival order for events of one command in the same millisecond.
            """
            CREATE TABLE events (
                seq bigserial PRIMARY KEY,
                id text NOT NULL UNIQUE,
                kind text NOT NULL CHECK (kind IN ('userCommand', 'quoteServer', 'accountTransaction', 'systemEvent', 'errorEvent', 'debugEvent')),
                at_ms bigint NOT NULL,
                server text NOT NULL,
                transaction_num bigint NOT NULL CHECK (transaction_num >= 1),
                command text CHECK (command IN ('ADD', 'QUOTE', 'BUY', 'COMMIT_BUY', 'CANCEL_BUY', 'SELL', 'COMMIT_SELL', 'CANCEL_SELL',
                    'SET_BUY_AMOUNT', 'CANCEL_SET_BUY', 'SET_BUY_TRIGGER', 'SET_SELL_AMOUNT', 'SET_SELL_TRIGGER', 'CANCEL_SET_SELL',
                    'DUMPLOG', 'DISPLAY_SUMMARY')),
                username text,
                stock_symbol text CHECK (char_length(stock_symbol) BETWEEN 1 AND 3),
                filename text,
                funds numeric(20, 2) CHECK (funds >= 0),
                price numeric(20, 2) CHECK (price >= 0),
                quote_server_time bigint,
                cryptokey text,
                action text CHECK (action IN ('add', 'remove')),
                error_message text,
                debug_message text,
                received_at timestamptz NOT NULL DEFAULT now(),
                -- What each kind must carry to be written as the log schema requires.
                CHECK (kind <> 'quoteServer' OR (price IS NOT NULL AND stock_symbol IS NOT NULL AND username IS NOT NULL
                                                 AND quote_server_time IS NOT NULL AND cryptokey IS NOT NULL)),
                CHECK (kind <> 'accountTransaction' OR (action IS NOT NULL AND username IS NOT NULL AND funds IS NOT NULL)),
                CHECK (kind IN ('quoteServer', 'accountTransaction') OR command IS NOT NULL)
            )
            """,
            // The dump's order, for the whole log and for one user's.
            "CREATE INDEX events_in_log_order ON events (transaction_num, at_ms, seq)",
            "CREATE INDEX events_by_user ON events (username, transaction_num, at_ms, seq)",
        ]),
        (2, [
            // The transaction servers send records (one per trading transaction); the audit server
            // builds their events once and stores them rendered as the log's XML, one row per
            // record and transactionNum (a command's events, an expiry's, a firing's), so that
            // DUMPLOG streams rows in order and writes them out as they are. A store of the
            // previous version (one row per event) is not converted: dump it first.
            """
            DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM events) THEN
                    RAISE EXCEPTION 'audit migration 2 needs an empty events table: DUMPLOG the old log with the previous version, then empty it';
                END IF;
            END $$
            """,
            "DROP TABLE events",
            // A record is stored once, by its id: the relay and the broker deliver at least once.
            "CREATE TABLE records (id uuid PRIMARY KEY, stored_at timestamptz NOT NULL DEFAULT now())",
            """
            CREATE TABLE event_groups (
                seq bigserial PRIMARY KEY,
                transaction_num bigint NOT NULL CHECK (transaction_num >= 1),
                at_ms bigint NOT NULL,
                username text,
                events int NOT NULL CHECK (events > 0),
                xml text NOT NULL
            )
            """,
            // The dump's order, for the whole log and for one user's.
            "CREATE INDEX event_groups_in_log_order ON event_groups (transaction_num, at_ms, seq)",
            "CREATE INDEX event_groups_by_user ON event_groups (username, transaction_num, at_ms, seq)",
            // Records whose events would not make a valid log: kept for a person to look at, and
            // DUMPLOG refuses to call a log complete while any exist.
            """
            CREATE TABLE refused_records (
                id text NOT NULL,
                reason text NOT NULL,
                record text NOT NULL,
                refused_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            // DUMPLOG's idempotency keys: a retry is not logged again and keeps its transactionNum.
            "CREATE TABLE dump_requests (idempotency_key text PRIMARY KEY, fingerprint text NOT NULL, transaction_num bigint NOT NULL, at_ms bigint NOT NULL)",
            // transactionNums for DUMPLOGs that bring none: a range of their own, far above the
            // trading database's (which starts at 1,000,000,000), so the two never meet.
            "CREATE SEQUENCE dump_transaction_numbers START 9000000000000000000",
        ]),
        (3, [
            // A DUMPLOG's record id is made by the server when its key is first claimed, and kept
            // with the key (it was derived from the client's key). Keys claimed before keep the
            // ids their records were stored under.
            "ALTER TABLE dump_requests ADD COLUMN record_id uuid",
            "UPDATE dump_requests SET record_id = md5('dumplog:' || idempotency_key)::uuid",
            "ALTER TABLE dump_requests ALTER COLUMN record_id SET NOT NULL",
        ]),
    ]
}
