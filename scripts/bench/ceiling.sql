-- The machine's ceiling for a command as one database call (docs/PERFORMANCE.md).
--
-- A BUY-shaped PL/pgSQL function over a schema of its own: lock the account, release expired
-- orders, look up the idempotency key, reserve the cash, place the order, write a ledger row,
-- store the reply under the key, and write one outbox row; one call is one transaction and one
-- commit. scripts/bench.sh loads this into a database of its own ("ceiling") beside the stack's
-- and drives it with pgbench (scripts/bench/ceiling-call.sql): calls/s is the ceiling that the
-- whole stack's commands/s is compared with.
CREATE TABLE accounts (user_id text PRIMARY KEY, cash bigint NOT NULL CHECK (cash >= 0),
                       reserved_cash bigint NOT NULL DEFAULT 0, version bigint NOT NULL DEFAULT 0);
CREATE TABLE pending_orders (id bigserial PRIMARY KEY, user_id text NOT NULL, symbol text NOT NULL,
                             shares bigint NOT NULL, price bigint NOT NULL, amount bigint NOT NULL,
                             placed_at_ms bigint NOT NULL, expires_at_ms bigint NOT NULL, transaction_num bigint NOT NULL);
CREATE INDEX pending_orders_by_user ON pending_orders (user_id, placed_at_ms DESC, id DESC);
CREATE TABLE ledger (id bigserial PRIMARY KEY, user_id text NOT NULL, transaction_num bigint NOT NULL, kind text NOT NULL,
                     symbol text, cash_delta bigint NOT NULL, reserved_cash_delta bigint NOT NULL, at_ms bigint NOT NULL);
CREATE INDEX ledger_by_user ON ledger (user_id, id);
CREATE TABLE processed_requests (idempotency_key text PRIMARY KEY, fingerprint text NOT NULL, reply text NOT NULL, at_ms bigint NOT NULL);
CREATE TABLE audit_outbox (id bigserial PRIMARY KEY, record text NOT NULL);
INSERT INTO accounts (user_id, cash) SELECT 'user' || n, 1000000000000 FROM generate_series(1, 1000) n;

CREATE FUNCTION reference_buy(p_user text, p_key text, p_now bigint, p_txn bigint, p_symbol text, p_shares bigint, p_price bigint)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_cash bigint;
    v_reply text;
    v_cost bigint := p_shares * p_price;
BEGIN
    SELECT cash INTO v_cash FROM accounts WHERE user_id = p_user FOR UPDATE;
    DELETE FROM pending_orders WHERE user_id = p_user AND expires_at_ms <= p_now;
    SELECT reply INTO v_reply FROM processed_requests WHERE idempotency_key = p_key;
    IF FOUND THEN RETURN v_reply; END IF;
    IF v_cash < v_cost THEN
        v_reply := '{"error":"insufficient_funds"}';
    ELSE
        UPDATE accounts SET cash = cash - v_cost, reserved_cash = reserved_cash + v_cost, version = version + 1 WHERE user_id = p_user;
        INSERT INTO pending_orders (user_id, symbol, shares, price, amount, placed_at_ms, expires_at_ms, transaction_num)
        VALUES (p_user, p_symbol, p_shares, p_price, v_cost, p_now, p_now + 60000, p_txn);
        INSERT INTO ledger (user_id, transaction_num, kind, symbol, cash_delta, reserved_cash_delta, at_ms)
        VALUES (p_user, p_txn, 'buy_reserve', p_symbol, -v_cost, v_cost, p_now);
        v_reply := format('{"transactionNum":%s,"cash":%s}', p_txn, v_cash - v_cost);
    END IF;
    INSERT INTO processed_requests VALUES (p_key, p_user || '|' || p_symbol, v_reply, p_now);
    INSERT INTO audit_outbox (record) VALUES (format('{"user":"%s","reply":%s}', p_user, v_reply));
    RETURN v_reply;
END
$$;
