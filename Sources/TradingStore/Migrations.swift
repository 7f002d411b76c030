import Logging
import PostgresNIO
import SchemaMigrations

/// The trading schema, as an ordered list of migrations applied at start-up (`SchemaMigrations`).
enum Migrations {
    /// Arbitrary but fixed: identifies the schema lock among the database's advisory locks.
    static let advisoryLockKey: Int64 = 468_001

    static let all: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE FUNCTION money_text(cents bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
                SELECT CASE WHEN cents < 0 THEN '-' ELSE '' END
                    || trunc(abs(cents::numeric) / 100)::text || '.'
                    || lpad((abs(cents::numeric) % 100)::text, 2, '0')
            $$
            """,
            // Balances in cents; "cash" is what the trader can spend, "reserved_cash" is held by
            // pending BUYs and buy triggers. The CHECKs hold even if a bug tries otherwise.
            """
            CREATE TABLE accounts (
                user_id text PRIMARY KEY,
                cash bigint NOT NULL DEFAULT 0 CHECK (cash >= 0),
                reserved_cash bigint NOT NULL DEFAULT 0 CHECK (reserved_cash >= 0),
                version bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE holdings (
                user_id text NOT NULL REFERENCES accounts,
                symbol text NOT NULL,
                shares bigint NOT NULL DEFAULT 0 CHECK (shares >= 0),
                reserved_shares bigint NOT NULL DEFAULT 0 CHECK (reserved_shares >= 0),
                PRIMARY KEY (user_id, symbol)
            )
            """,
            """
            CREATE TABLE pending_orders (
                id bigserial PRIMARY KEY,
                user_id text NOT NULL REFERENCES accounts,
                side text NOT NULL CHECK (side IN ('buy', 'sell')),
                symbol text NOT NULL,
                shares bigint NOT NULL CHECK (shares > 0),
                price bigint NOT NULL CHECK (price > 0),
                amount bigint NOT NULL CHECK (amount = shares * price),
                placed_at_ms bigint NOT NULL,
                expires_at_ms bigint NOT NULL CHECK (expires_at_ms > placed_at_ms),
                transaction_num bigint NOT NULL
            )
            """,
            "CREATE INDEX pending_orders_by_user ON pending_orders (user_id, side, placed_at_ms DESC, id DESC)",
            "CREATE INDEX pending_orders_by_expiry ON pending_orders (expires_at_ms)",
            // One buy and one sell trigger per user and stock. trigger_price is NULL until
            // SET_*_TRIGGER. A buy trigger's amount is cash held in reserved_cash; a sell trigger's
            // amount is dollars to sell, and its shares are held in holdings.reserved_shares.
            """
            CREATE TABLE triggers (
                user_id text NOT NULL REFERENCES accounts,
                side text NOT NULL CHECK (side IN ('buy', 'sell')),
                symbol text NOT NULL,
                amount bigint NOT NULL CHECK (amount > 0),
                trigger_price bigint CHECK (trigger_price > 0),
                reserved_shares bigint NOT NULL DEFAULT 0 CHECK (reserved_shares >= 0),
                transaction_num bigint NOT NULL,
                PRIMARY KEY (user_id, side, symbol)
            )
            """,
            "CREATE INDEX active_triggers_by_symbol ON triggers (symbol) WHERE trigger_price IS NOT NULL",
            // Every change of a balance column, signed. For each account the sums of the deltas
            // equal the balances: the ledger is the proof that no cent or share appeared or vanished.
            """
            CREATE TABLE ledger (
                id bigserial PRIMARY KEY,
                user_id text NOT NULL REFERENCES accounts,
                transaction_num bigint NOT NULL,
                kind text NOT NULL,
                symbol text,
                cash_delta bigint NOT NULL,
                reserved_cash_delta bigint NOT NULL,
                shares_delta bigint NOT NULL,
                reserved_shares_delta bigint NOT NULL,
                at_ms bigint NOT NULL
            )
            """,
            "CREATE INDEX ledger_by_user ON ledger (user_id, id)",
            """
            CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the ledger is append-only';
            END
            $$
            """,
            """
            CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
                FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only()
            """,
            // The first reply to each idempotency key. A retry gets this reply and changes nothing.
            """
            CREATE TABLE processed_requests (
                idempotency_key text PRIMARY KEY,
                fingerprint text NOT NULL,
                reply text NOT NULL,
                at_ms bigint NOT NULL
            )
            """,
            // transactionNums the system assigns when a client sends none; far above any
            // workload line number so the two never meet.
            "CREATE SEQUENCE transaction_numbers START 1000000000",
        ]),
        (2, [
            // Audit events waiting for the relay: written in the transaction of the effects they
            // describe, deleted only after RabbitMQ confirmed them. One JSON event per row.
            """
            CREATE TABLE audit_outbox (
                id bigserial PRIMARY KEY,
                event text NOT NULL
            )
            """,
        ]),
        // Every command, firing and expiry as one server-side function (CommandFunctions).
        (3, CommandFunctions.migration),
        // Web accounts, their sessions and failed sign-ins (WebAccountStore; SignInRules).
        (4, WebAccountStore.migration),
    ]

    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await SchemaMigrations(advisoryLockKey: advisoryLockKey, migrations: all).apply(on: client, logger: logger)
    }
}
