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
    ]
}
