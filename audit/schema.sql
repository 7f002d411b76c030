-- The audit server's database (AUDIT_DATABASE, default "audit"), as the audit server creates
-- it at start-up (Sources/AuditServer/AuditSchema.swift; a test keeps the two the same).
-- For operators: read it, or apply it by hand to a database the server will then adopt
-- (also insert the versions into schema_migrations).

-- version 1
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
);

CREATE INDEX events_in_log_order ON events (transaction_num, at_ms, seq);

CREATE INDEX events_by_user ON events (username, transaction_num, at_ms, seq);

-- version 2: records in, one row per record and transactionNum out, rendered as the log's XML
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM events) THEN
        RAISE EXCEPTION 'audit migration 2 needs an empty events table: DUMPLOG the old log with the previous version, then empty it';
    END IF;
END $$;

DROP TABLE events;

CREATE TABLE records (id uuid PRIMARY KEY, stored_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE event_groups (
    seq bigserial PRIMARY KEY,
    transaction_num bigint NOT NULL CHECK (transaction_num >= 1),
    at_ms bigint NOT NULL,
    username text,
    events int NOT NULL CHECK (events > 0),
    xml text NOT NULL
);

CREATE INDEX event_groups_in_log_order ON event_groups (transaction_num, at_ms, seq);

CREATE INDEX event_groups_by_user ON event_groups (username, transaction_num, at_ms, seq);

CREATE TABLE refused_records (
    id text NOT NULL,
    reason text NOT NULL,
    record text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dump_requests (idempotency_key text PRIMARY KEY, fingerprint text NOT NULL, transaction_num bigint NOT NULL, at_ms bigint NOT NULL);

CREATE SEQUENCE dump_transaction_numbers START 9000000000000000000;

-- version 3: DUMPLOG record ids made by the server
-- A DUMPLOG's record id is made by the server when its key is first claimed, and kept with the
-- key; keys claimed before keep the ids their records were stored under.
ALTER TABLE dump_requests ADD COLUMN record_id uuid;

UPDATE dump_requests SET record_id = md5('dumplog:' || idempotency_key)::uuid;

ALTER TABLE dump_requests ALTER COLUMN record_id SET NOT NULL;
