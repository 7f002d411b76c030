/// Migration 3: every command, firing and expiry as one server-side function, so that each
/// costs one round trip and one commit (docs/ARCHITECTURE.md, "The path of one command").
///
/// The functions check the account's state and apply what the transaction server computed
/// (`TradingRules`): they never raise for a business reason (a refusal is a value in the result),
/// and they hold no EXCEPTION blocks (each would open a subtransaction). An error they do raise
/// aborts the whole call, which is then one rolled-back transaction: a bigint overflow (22003),
/// which the server answers as `arithmetic_overflow`, or a racing first use of an idempotency key
/// (23505), which it retries. Every balance moves through one block of SQL, ``applyMoves``, which
/// writes the ledger rows and the balances together; it and ``expireOrders`` are written once here
/// and spliced into the functions that need them (a call to a helper function would cost each
/// command tens of microseconds).
enum CommandFunctions {
    static let migration: [String] = [
        // Upgrading needs the relay to have drained the previous version's events: they were
        // events, and the outbox now carries records.
        """
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM audit_outbox) THEN
                RAISE EXCEPTION 'migration 3 needs an empty audit_outbox: stop the servers of the previous version gracefully (their relays drain it) and start again';
            END IF;
        END $$
        """,
        "ALTER TABLE audit_outbox RENAME COLUMN event TO record",
        // Stored replies of the previous version cannot be read back as records.
        "TRUNCATE processed_requests",
        "ALTER TABLE processed_requests RENAME COLUMN reply TO record",
        // The pruning of old keys (TradingStore.pruneIdempotencyKeys) scans by age; a BRIN index
        // costs next to nothing on a table that only grows at its end.
        "CREATE INDEX processed_requests_by_age ON processed_requests USING brin (at_ms)",
        "DROP FUNCTION money_text(bigint)",
        // Each command first releases its user's expired orders: (user, expiry) finds them at once.
        // The stack rule reads a user's few live orders and sorts them.
        "DROP INDEX pending_orders_by_user",
        "CREATE INDEX pending_orders_by_user ON pending_orders (user_id, expires_at_ms)",
        // Busy tables of short-lived rows: vacuum them by row count, not by a fraction of the table,
        // and without the cost delay, so that a vacuum keeps up with the deletes (the relay and each
        // command's expiry scan over the dead rows until it has run).
        "ALTER TABLE audit_outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000, autovacuum_vacuum_cost_delay = 0)",
        "ALTER TABLE pending_orders SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0)",

        "CREATE TYPE dt_move AS (kind text, symbol text, cash bigint, rcash bigint, shares bigint, rshares bigint, txn bigint)",

        // The JSON of rows, as `OrderRow`, `TriggerRow` and `LedgerRow` decode it.
        """
        CREATE FUNCTION dt_order_json(o pending_orders) RETURNS text LANGUAGE sql STABLE AS $$
            SELECT format('{"id":%s,"side":"%s","sym":"%s","sh":%s,"p":%s,"amt":%s,"at":%s,"exp":%s,"t":%s}',
                          o.id, o.side, o.symbol, o.shares, o.price, o.amount, o.placed_at_ms, o.expires_at_ms, o.transaction_num)
        $$
        """,
        """
        CREATE FUNCTION dt_trigger_json(t triggers) RETURNS text LANGUAGE sql STABLE AS $$
            SELECT format('{"side":"%s","sym":"%s","amt":%s,"p":%s,"rs":%s,"t":%s}',
                          t.side, t.symbol, t.amount, COALESCE(t.trigger_price::text, 'null'), t.reserved_shares, t.transaction_num)
        $$
        """,
        """
        CREATE FUNCTION dt_ledger_json(kind text, symbol text, cash bigint, rcash bigint, shares bigint, rshares bigint, txn bigint, at_ms bigint)
        RETURNS text LANGUAGE sql STABLE AS $$
            SELECT format('{"k":"%s","sym":%s,"c":%s,"rc":%s,"s":%s,"rs":%s,"t":%s%s}', kind, COALESCE('"' || symbol || '"', 'null'),
                          cash, rcash, shares, rshares, txn, COALESCE(',"at":' || at_ms, ''))
        $$
        """,

        // The whole account as AccountState decodes it, with the newest p_history ledger rows.
        """
        CREATE FUNCTION dt_state(p_user text, p_history int) RETURNS text LANGUAGE sql STABLE AS $$
            SELECT '{"v":' || a.version || ',"cash":' || a.cash || ',"rcash":' || a.reserved_cash
                || ',"h":[' || COALESCE((SELECT string_agg(format('{"sym":"%s","s":%s,"rs":%s}', h.symbol, h.shares, h.reserved_shares), ',')
                                         FROM holdings h WHERE h.user_id = a.user_id), '')
                || '],"o":[' || COALESCE((SELECT string_agg(dt_order_json(p), ',') FROM pending_orders p WHERE p.user_id = a.user_id), '')
                || '],"g":[' || COALESCE((SELECT string_agg(dt_trigger_json(t), ',') FROM triggers t WHERE t.user_id = a.user_id), '')
                || '],"l":[' || COALESCE((SELECT string_agg(dt_ledger_json(l.kind, l.symbol, l.cash_delta, l.reserved_cash_delta, l.shares_delta,
                                                                           l.reserved_shares_delta, l.transaction_num, l.at_ms), ',' ORDER BY l.id DESC)
                                          FROM (SELECT * FROM ledger WHERE user_id = a.user_id ORDER BY id DESC LIMIT p_history) l), '')
                || ']}'
            FROM accounts a WHERE a.user_id = p_user
        $$
        """,

        // Commands, several in one call and one transaction (the server's group commit; one is a
        // batch of one). For each: the account's lock, the idempotency key, the expired orders,
        // the command's state checks and effects, and its record in the outbox and under the key.
        // The server sorts a batch by user, so every call takes its account locks in one order.
        // Arrays cannot carry NULLs from the client: '' and 0 (-1 for a cached version) stand for none.
        """
        CREATE FUNCTION dt_execute(
            p_command text[], p_user text[], p_symbol text[], p_now bigint[], p_txn bigint[], p_key text[], p_fingerprint text[],
            p_head text[], p_refusal text[], p_store boolean[], p_amount bigint[], p_shares bigint[], p_price bigint[],
            p_expires bigint[], p_cached_version bigint[], p_history int)
        RETURNS TABLE (replayed boolean, body text, version bigint, state text)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_command text;
            v_user text;
            v_symbol text;
            v_now bigint;
            v_txn bigint;
            v_key text;
            v_amount bigint;
            v_price bigint;
            v_shares bigint;
            v_code text;
            v_found boolean;
            v_fp text;
            v_stored text;
            v_moves dt_move[];
            v_changed boolean;
            v_out text;
            v_expired text;
            v_held bigint;
            v_available bigint;
            v_bump boolean;
        \(moveVariables)
            o pending_orders;
            t triggers;
        BEGIN
            FOR i IN 1 .. cardinality(p_command) LOOP
                v_command := p_command[i];
                v_user := NULLIF(p_user[i], '');
                v_symbol := NULLIF(p_symbol[i], '');
                v_now := p_now[i];
                v_txn := NULLIF(p_txn[i], 0);
                v_key := NULLIF(p_key[i], '');
                v_amount := p_amount[i];
                v_price := p_price[i];
                v_shares := p_shares[i];
                v_code := NULL;
                v_found := false;
                v_cash := NULL;
                v_rcash := NULL;
                v_version := NULL;
                v_moves := '{}';
                v_changed := false;
                v_out := '';
                v_expired := '';
                v_ledger := '';
                v_holdings := '';
                replayed := false;
                body := NULL;
                state := NULL;

                IF v_user IS NOT NULL THEN
                    -- Every change to a user's rows takes this lock first: one user's commands run one at a time.
                    -- DISPLAY_SUMMARY changes nothing, unless it has expired orders to release first.
                    IF v_command = 'DISPLAY_SUMMARY'
                       AND NOT EXISTS (SELECT 1 FROM pending_orders p WHERE p.user_id = v_user AND p.expires_at_ms <= (SELECT v_now)) THEN
                        SELECT ac.cash, ac.reserved_cash, ac.version INTO v_cash, v_rcash, v_version FROM accounts ac WHERE ac.user_id = v_user;
                    ELSE
                        SELECT ac.cash, ac.reserved_cash, ac.version INTO v_cash, v_rcash, v_version FROM accounts ac WHERE ac.user_id = v_user FOR UPDATE;
                    END IF;
                    v_found := FOUND;
                    IF NOT v_found AND v_command = 'ADD' AND NULLIF(p_refusal[i], '') IS NULL THEN
                        INSERT INTO accounts (user_id) VALUES (v_user) ON CONFLICT (user_id) DO NOTHING;
                        SELECT ac.cash, ac.reserved_cash, ac.version INTO v_cash, v_rcash, v_version FROM accounts ac WHERE ac.user_id = v_user FOR UPDATE;
                        v_found := FOUND;
                    END IF;
                END IF;

                -- A retry gets the first record back and changes nothing; a key used for another request is refused.
                IF v_key IS NOT NULL THEN
                    SELECT pr.fingerprint, pr.record INTO v_fp, v_stored FROM processed_requests pr WHERE pr.idempotency_key = v_key;
                    IF FOUND THEN
                        IF v_fp = p_fingerprint[i] THEN
                            replayed := true;
                            body := v_stored;
                            version := v_version;
                            IF v_command = 'DISPLAY_SUMMARY' AND v_found AND v_version IS DISTINCT FROM NULLIF(p_cached_version[i], -1) THEN
                                state := dt_state(v_user, p_history);
                            END IF;
                            RETURN NEXT;
                            CONTINUE;
                        END IF;
                        v_code := 'idempotency_key_reused';
                    END IF;
                END IF;
                IF v_txn IS NULL THEN
                    v_txn := nextval('transaction_numbers');
                END IF;
                IF v_code IS NULL THEN
                    v_code := CASE WHEN v_user IS NULL THEN p_refusal[i] WHEN NOT v_found THEN 'unknown_account'
                                   ELSE COALESCE(NULLIF(p_refusal[i], ''), 'ok') END;
                END IF;

                IF v_code = 'ok' THEN
                    -- Orders whose 60 s have run out are released first: a late COMMIT never finds one,
                    -- and a summary never shows a reserve without its order.
        \(expireOrders)
                    IF v_expired <> '' THEN
                        v_bump := false;
        \(applyMoves)
                        v_moves := '{}';
                        v_changed := true;
                    END IF;

                    CASE v_command
                    WHEN 'ADD' THEN
                        v_moves := ARRAY[ROW('add', NULL, v_amount, 0, 0, 0, v_txn)::dt_move];
                    WHEN 'QUOTE', 'DISPLAY_SUMMARY' THEN
                        NULL;
                    WHEN 'BUY' THEN
                        IF v_cash < v_amount THEN
                            v_code := 'insufficient_funds';
                            v_out := ',"a":' || v_cash;
                        ELSE
                            INSERT INTO pending_orders (user_id, side, symbol, shares, price, amount, placed_at_ms, expires_at_ms, transaction_num)
                            VALUES (v_user, 'buy', v_symbol, v_shares, v_price, v_amount, v_now, p_expires[i], v_txn) RETURNING * INTO o;
                            v_moves := ARRAY[ROW('buy_reserve', v_symbol, -v_amount, v_amount, 0, 0, v_txn)::dt_move];
                            v_out := ',"o":' || dt_order_json(o);
                        END IF;
                    WHEN 'SELL' THEN
                        SELECT COALESCE(max(h.shares), 0) INTO v_held FROM holdings h WHERE h.user_id = v_user AND h.symbol = v_symbol;
                        IF v_held < v_shares THEN
                            v_code := 'insufficient_shares';
                            v_out := ',"a":' || v_held;
                        ELSE
                            INSERT INTO pending_orders (user_id, side, symbol, shares, price, amount, placed_at_ms, expires_at_ms, transaction_num)
                            VALUES (v_user, 'sell', v_symbol, v_shares, v_price, v_amount, v_now, p_expires[i], v_txn) RETURNING * INTO o;
                            v_moves := ARRAY[ROW('sell_reserve', v_symbol, 0, 0, -v_shares, v_shares, v_txn)::dt_move];
                            v_out := ',"o":' || dt_order_json(o);
                        END IF;
                    WHEN 'COMMIT_BUY', 'CANCEL_BUY', 'COMMIT_SELL', 'CANCEL_SELL' THEN
                        -- The newest live order of the side: the stack rule.
                        DELETE FROM pending_orders WHERE id = (
                            SELECT p.id FROM pending_orders p
                            WHERE p.user_id = v_user AND p.side = CASE WHEN v_command LIKE '%BUY' THEN 'buy' ELSE 'sell' END
                            ORDER BY p.placed_at_ms DESC, p.id DESC LIMIT 1)
                        RETURNING * INTO o;
                        IF NOT FOUND THEN
                            v_code := CASE WHEN v_command LIKE '%BUY' THEN 'no_pending_buy' ELSE 'no_pending_sell' END;
                        ELSE
                            v_out := ',"o":' || dt_order_json(o);
                            v_moves := ARRAY[CASE v_command
                                WHEN 'COMMIT_BUY' THEN ROW('buy_commit', o.symbol, 0, -o.amount, o.shares, 0, v_txn)::dt_move
                                WHEN 'CANCEL_BUY' THEN ROW('buy_cancel', o.symbol, o.amount, -o.amount, 0, 0, v_txn)::dt_move
                                WHEN 'COMMIT_SELL' THEN ROW('sell_commit', o.symbol, o.amount, 0, 0, -o.shares, v_txn)::dt_move
                                ELSE ROW('sell_cancel', o.symbol, 0, 0, o.shares, -o.shares, v_txn)::dt_move END];
                        END IF;
                    WHEN 'SET_BUY_AMOUNT' THEN
                        SELECT * INTO t FROM triggers tr WHERE tr.user_id = v_user AND tr.side = 'buy' AND tr.symbol = v_symbol;
                        v_available := v_cash + COALESCE(t.amount, 0);
                        IF v_available < v_amount THEN
                            v_code := 'insufficient_funds';
                            v_out := ',"a":' || v_available;
                        ELSE
                            -- A new amount replaces the old one: the old reserve comes back first.
                            IF t.amount IS NOT NULL THEN
                                v_moves := ARRAY[ROW('buy_trigger_release', v_symbol, t.amount, -t.amount, 0, 0, v_txn)::dt_move];
                            END IF;
                            v_moves := v_moves || ROW('buy_trigger_reserve', v_symbol, -v_amount, v_amount, 0, 0, v_txn)::dt_move;
                            INSERT INTO triggers (user_id, side, symbol, amount, trigger_price, reserved_shares, transaction_num)
                            VALUES (v_user, 'buy', v_symbol, v_amount, NULL, 0, v_txn)
                            ON CONFLICT (user_id, side, symbol) DO UPDATE
                            SET amount = EXCLUDED.amount, trigger_price = NULL, reserved_shares = 0, transaction_num = EXCLUDED.transaction_num
                            RETURNING * INTO t;
                            v_out := ',"g":' || dt_trigger_json(t);
                        END IF;
                    WHEN 'SET_BUY_TRIGGER' THEN
                        SELECT * INTO t FROM triggers tr WHERE tr.user_id = v_user AND tr.side = 'buy' AND tr.symbol = v_symbol;
                        IF NOT FOUND THEN
                            v_code := 'no_buy_amount';
                        ELSIF t.amount < v_price THEN
                            -- The reserve must buy one share at the trigger price.
                            v_code := 'trigger_above_reserve';
                            v_out := ',"amt":' || t.amount;
                        ELSE
                            UPDATE triggers tr SET trigger_price = v_price, reserved_shares = 0, transaction_num = v_txn
                            WHERE tr.user_id = v_user AND tr.side = 'buy' AND tr.symbol = v_symbol RETURNING * INTO t;
                            v_out := ',"g":' || dt_trigger_json(t);
                            v_changed := true;
                        END IF;
                    WHEN 'CANCEL_SET_BUY' THEN
                        DELETE FROM triggers tr WHERE tr.user_id = v_user AND tr.side = 'buy' AND tr.symbol = v_symbol RETURNING * INTO t;
                        IF NOT FOUND THEN
                            v_code := 'no_trigger';
                        ELSE
                            v_moves := ARRAY[ROW('buy_trigger_cancel', v_symbol, t.amount, -t.amount, 0, 0, v_txn)::dt_move];
                            v_out := ',"amt":' || t.amount || ',"gx":{"side":"buy","sym":"' || v_symbol || '"}';
                        END IF;
                    WHEN 'SET_SELL_AMOUNT' THEN
                        SELECT COALESCE(max(h.shares), 0) INTO v_held FROM holdings h WHERE h.user_id = v_user AND h.symbol = v_symbol;
                        SELECT * INTO t FROM triggers tr WHERE tr.user_id = v_user AND tr.side = 'sell' AND tr.symbol = v_symbol;
                        IF v_held <= 0 AND COALESCE(t.reserved_shares, 0) <= 0 THEN
                            v_code := 'insufficient_shares';
                        ELSE
                            -- A new amount replaces the old one; shares the trigger held go back until it is set again.
                            IF t.reserved_shares > 0 THEN
                                v_moves := ARRAY[ROW('sell_trigger_release', v_symbol, 0, 0, t.reserved_shares, -t.reserved_shares, v_txn)::dt_move];
                            END IF;
                            INSERT INTO triggers (user_id, side, symbol, amount, trigger_price, reserved_shares, transaction_num)
                            VALUES (v_user, 'sell', v_symbol, v_amount, NULL, 0, v_txn)
                            ON CONFLICT (user_id, side, symbol) DO UPDATE
                            SET amount = EXCLUDED.amount, trigger_price = NULL, reserved_shares = 0, transaction_num = EXCLUDED.transaction_num
                            RETURNING * INTO t;
                            v_out := ',"g":' || dt_trigger_json(t);
                            v_changed := true;
                        END IF;
                    WHEN 'SET_SELL_TRIGGER' THEN
                        SELECT * INTO t FROM triggers tr WHERE tr.user_id = v_user AND tr.side = 'sell' AND tr.symbol = v_symbol;
                        IF NOT FOUND THEN
                            v_code := 'no_sell_amount';
                        ELSE
                            SELECT COALESCE(max(h.shares), 0) INTO v_held FROM holdings h WHERE h.user_id = v_user AND h.symbol = v_symbol;
                            v_available := v_held + t.reserved_shares;
                            -- Whole shares, floor(amount / trigger price): the one division the database
                            -- makes itself, since the amount is state (Money.wholeShares; Tests/TradingRuleCases).
                            v_s := t.amount / v_price;
                            IF v_s < 1 THEN
                                v_code := 'amount_below_price';
                                v_out := ',"amt":' || t.amount;
                            ELSIF v_s > v_available THEN
                                v_code := 'insufficient_shares';
                                v_out := ',"n":' || v_s || ',"a":' || v_available;
                            ELSE
                                IF v_s <> t.reserved_shares THEN
                                    v_moves := ARRAY[ROW('sell_trigger_reserve', v_symbol, 0, 0, t.reserved_shares - v_s, v_s - t.reserved_shares, v_txn)::dt_move];
                                END IF;
                                UPDATE triggers tr SET trigger_price = v_price, reserved_shares = v_s, transaction_num = v_txn
                                WHERE tr.user_id = v_user AND tr.side = 'sell' AND tr.symbol = v_symbol RETURNING * INTO t;
                                v_out := ',"g":' || dt_trigger_json(t);
                                v_changed := true;
                            END IF;
                        END IF;
                    WHEN 'CANCEL_SET_SELL' THEN
                        DELETE FROM triggers tr WHERE tr.user_id = v_user AND tr.side = 'sell' AND tr.symbol = v_symbol RETURNING * INTO t;
                        IF NOT FOUND THEN
                            v_code := 'no_trigger';
                        ELSE
                            IF t.reserved_shares > 0 THEN
                                v_moves := ARRAY[ROW('sell_trigger_cancel', v_symbol, 0, 0, t.reserved_shares, -t.reserved_shares, v_txn)::dt_move];
                            END IF;
                            v_out := ',"amt":' || t.amount || ',"n":' || t.reserved_shares || ',"gx":{"side":"sell","sym":"' || v_symbol || '"}';
                            v_changed := true;
                        END IF;
                    END CASE;
                END IF;

                IF cardinality(v_moves) > 0 OR v_changed THEN
                    v_bump := true;
        \(applyMoves)
                    v_changed := true;
                END IF;

                body := '{"t":' || v_txn || ',"c":"' || v_code || '"'
                    || CASE WHEN v_found THEN ',"cash":' || v_cash || ',"rcash":' || v_rcash ELSE '' END
                    || CASE WHEN v_changed THEN ',"v":' || v_version ELSE '' END
                    || v_out
                    || CASE WHEN v_expired <> '' THEN ',"x":[' || substr(v_expired, 2) || ']' ELSE '' END
                    || \(changedRows)
                    || '}';
                version := v_version;
                v_stored := '{"h":' || p_head[i] || ',"r":' || body || '}';
                INSERT INTO audit_outbox (record) VALUES (v_stored);
                IF v_key IS NOT NULL AND p_store[i] AND v_code <> 'idempotency_key_reused' THEN
                    INSERT INTO processed_requests (idempotency_key, fingerprint, record, at_ms) VALUES (v_key, p_fingerprint[i], v_stored, v_now);
                END IF;
                IF v_command = 'DISPLAY_SUMMARY' AND v_code = 'ok' AND v_version IS DISTINCT FROM NULLIF(p_cached_version[i], -1) THEN
                    state := dt_state(v_user, p_history);
                END IF;
                RETURN NEXT;
            END LOOP;
        END
        $$
        """,

        // A trigger firing at a price the server checked (TradingRules), with the moves it computed:
        // only if the account is free (SKIP LOCKED: never wait behind a command) and the trigger is
        // still exactly the one the server read. Returns the record; its code is busy or gone otherwise.
        """
        CREATE FUNCTION dt_fire(p_user text, p_side text, p_symbol text, p_amount bigint, p_trigger_price bigint, p_reserved bigint,
                                p_txn bigint, p_now bigint, p_head text, p_cash bigint, p_rcash bigint, p_shares bigint, p_rshares bigint)
        RETURNS text LANGUAGE plpgsql AS $$
        DECLARE
            v_user text := p_user;
            v_now bigint := p_now;
            v_moves dt_move[] := ARRAY[ROW(p_side || '_trigger_fill', p_symbol, p_cash, p_rcash, p_shares, p_rshares, p_txn)::dt_move];
            v_bump boolean := true;
            v_record text;
        \(moveVariables)
        BEGIN
            PERFORM 1 FROM accounts WHERE user_id = v_user FOR UPDATE SKIP LOCKED;
            IF NOT FOUND THEN
                RETURN '{"h":' || p_head || ',"r":{"c":"busy"}}';
            END IF;
            DELETE FROM triggers
            WHERE user_id = v_user AND side = p_side AND symbol = p_symbol AND amount = p_amount
              AND trigger_price = p_trigger_price AND reserved_shares = p_reserved AND transaction_num = p_txn;
            IF NOT FOUND THEN
                RETURN '{"h":' || p_head || ',"r":{"c":"gone"}}';
            END IF;
        \(applyMoves)
            v_record := '{"h":' || p_head || ',"r":{"c":"ok","v":' || v_version || ',"cash":' || v_cash || ',"rcash":' || v_rcash
                || ',"gx":{"side":"' || p_side || '","sym":"' || p_symbol || '"}'
                || \(changedRows) || '}}';
            INSERT INTO audit_outbox (record) VALUES (v_record);
            RETURN v_record;
        END
        $$
        """,

        // The sweeper: releases a user's expired orders with no command, if the account is free.
        // Returns the record, or NULL when there was nothing to do (or the account was busy).
        """
        CREATE FUNCTION dt_expire(p_user text, p_now bigint, p_head text) RETURNS text LANGUAGE plpgsql AS $$
        DECLARE
            v_user text := p_user;
            v_now bigint := p_now;
            v_moves dt_move[] := '{}';
            v_expired text := '';
            v_bump boolean := true;
            v_record text;
        \(moveVariables)
            o pending_orders;
        BEGIN
            PERFORM 1 FROM accounts WHERE user_id = v_user FOR UPDATE SKIP LOCKED;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
        \(expireOrders)
            IF v_expired = '' THEN
                RETURN NULL;
            END IF;
        \(applyMoves)
            v_record := '{"h":' || p_head || ',"r":{"c":"ok","v":' || v_version || ',"cash":' || v_cash || ',"rcash":' || v_rcash
                || ',"x":[' || substr(v_expired, 2) || ']'
                || \(changedRows) || '}}';
            INSERT INTO audit_outbox (record) VALUES (v_record);
            RETURN v_record;
        END
        $$
        """,
    ]

    /// The one write path of balances, spliced into every function that moves them: each move's
    /// ledger row, the holding it changes, then the account's balances and (when `v_bump`) its
    /// version, all in the caller's transaction. Reads `v_user`, `v_now`, `v_moves`, `v_bump`;
    /// sets `v_cash`, `v_rcash`, `v_version`; appends JSON items (each led by a comma) to
    /// `v_ledger` (`LedgerRow`) and `v_holdings` (`HoldingRow`, the holding after the move).
    static let applyMoves = """
                v_c := 0;
                v_r := 0;
                FOREACH m IN ARRAY v_moves LOOP
                    INSERT INTO ledger (user_id, transaction_num, kind, symbol, cash_delta, reserved_cash_delta, shares_delta, reserved_shares_delta, at_ms)
                    VALUES (v_user, m.txn, m.kind, m.symbol, m.cash, m.rcash, m.shares, m.rshares, v_now);
                    v_ledger := v_ledger || ',' || dt_ledger_json(m.kind, m.symbol, m.cash, m.rcash, m.shares, m.rshares, m.txn, NULL);
                    v_c := v_c + m.cash;
                    v_r := v_r + m.rcash;
                    IF m.shares <> 0 OR m.rshares <> 0 THEN
                        UPDATE holdings hd SET shares = hd.shares + m.shares, reserved_shares = hd.reserved_shares + m.rshares
                        WHERE hd.user_id = v_user AND hd.symbol = m.symbol RETURNING hd.shares, hd.reserved_shares INTO v_s, v_rs;
                        IF NOT FOUND THEN
                            INSERT INTO holdings (user_id, symbol, shares, reserved_shares) VALUES (v_user, m.symbol, m.shares, m.rshares);
                            v_s := m.shares;
                            v_rs := m.rshares;
                        END IF;
                        v_holdings := v_holdings || format(',{"sym":"%s","s":%s,"rs":%s}', m.symbol, v_s, v_rs);
                    END IF;
                END LOOP;
                UPDATE accounts ac SET cash = ac.cash + v_c, reserved_cash = ac.reserved_cash + v_r,
                                       version = ac.version + CASE WHEN v_bump THEN 1 ELSE 0 END
                WHERE ac.user_id = v_user RETURNING ac.cash, ac.reserved_cash, ac.version INTO v_cash, v_rcash, v_version;
        """

    /// The variables ``applyMoves`` sets and uses, declared in every function it is spliced into.
    static let moveVariables = """
                v_cash bigint;
                v_rcash bigint;
                v_version bigint;
                v_ledger text := '';
                v_holdings text := '';
                v_c bigint;
                v_r bigint;
                v_s bigint;
                v_rs bigint;
                m dt_move;
        """

    /// The rows ``applyMoves`` wrote, as a record's result carries them (`"h"`, `"l"`), each only
    /// when there is one: an SQL expression.
    static let changedRows = """
        CASE WHEN v_holdings <> '' THEN ',"h":[' || substr(v_holdings, 2) || ']' ELSE '' END
                        || CASE WHEN v_ledger <> '' THEN ',"l":[' || substr(v_ledger, 2) || ']' ELSE '' END
        """

    /// Releases the pending orders of `v_user` whose lifetime has run out at `v_now` (the caller
    /// holds the account's lock): appends the moves that return their reserves to `v_moves` and
    /// the orders (`OrderRow`) to `v_expired`. Spliced into the command and sweeper functions.
    /// (`(SELECT v_now)` keeps the statement on one generic plan: with the bare value PostgreSQL
    /// plans it anew on every call.)
    static let expireOrders = """
                FOR o IN DELETE FROM pending_orders WHERE user_id = v_user AND expires_at_ms <= (SELECT v_now) RETURNING * LOOP
                    v_moves := v_moves || CASE o.side
                        WHEN 'buy' THEN ROW('buy_expired', o.symbol, o.amount, -o.amount, 0, 0, o.transaction_num)::dt_move
                        ELSE ROW('sell_expired', o.symbol, 0, 0, o.shares, -o.shares, o.transaction_num)::dt_move END;
                    v_expired := v_expired || ',' || dt_order_json(o);
                END LOOP;
        """
}
