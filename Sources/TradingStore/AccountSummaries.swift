import DayTraderCore
import PostgresNIO

/// DISPLAY_SUMMARY's data, built by Postgres as one JSON document in one round trip.
extension TradingStore {
    /// How many of the newest ledger entries a summary lists as history.
    public static let summaryHistoryLimit = 100

    /// The user's summary, or `nil` when the user has no account.
    public func summary(for user: UserID) async throws -> AccountSnapshot? {
        try await client.withConnection { connection in
            try await Self.summary(for: user, now: clock.now(), on: connection, logger: logger)
        }
    }

    static func summary(for user: UserID, now: Timestamp, on connection: PostgresConnection, logger: Logger) async throws -> AccountSnapshot? {
        let rows = try await connection.query(
            """
            SELECT a.version, json_build_object(
                'user', a.user_id,
                'version', a.version,
                'cash', money_text(a.cash),
                'reservedCash', money_text(a.reserved_cash),
                'holdings', COALESCE((
                    SELECT json_agg(json_build_object('symbol', h.symbol, 'shares', h.shares, 'reservedShares', h.reserved_shares) ORDER BY h.symbol)
                    FROM holdings h WHERE h.user_id = a.user_id AND (h.shares > 0 OR h.reserved_shares > 0)), '[]'),
                'pendingBuys', COALESCE((
                    SELECT json_agg(json_build_object('symbol', p.symbol, 'shares', p.shares, 'price', money_text(p.price),
                                    'amount', money_text(p.amount), 'placedAt', p.placed_at_ms, 'expiresAt', p.expires_at_ms,
                                    'transactionNum', p.transaction_num) ORDER BY p.placed_at_ms DESC, p.id DESC)
                    FROM pending_orders p WHERE p.user_id = a.user_id AND p.side = 'buy' AND p.expires_at_ms > \(now.unixMillis)), '[]'),
                'pendingSells', COALESCE((
                    SELECT json_agg(json_build_object('symbol', p.symbol, 'shares', p.shares, 'price', money_text(p.price),
                                    'amount', money_text(p.amount), 'placedAt', p.placed_at_ms, 'expiresAt', p.expires_at_ms,
                                    'transactionNum', p.transaction_num) ORDER BY p.placed_at_ms DESC, p.id DESC)
                    FROM pending_orders p WHERE p.user_id = a.user_id AND p.side = 'sell' AND p.expires_at_ms > \(now.unixMillis)), '[]'),
                'triggers', COALESCE((
                    SELECT json_agg(json_build_object('side', t.side, 'symbol', t.symbol, 'amount', money_text(t.amount),
                                    'triggerPrice', CASE WHEN t.trigger_price IS NULL THEN NULL ELSE money_text(t.trigger_price) END,
                                    'reservedCash', money_text(CASE WHEN t.side = 'buy' THEN t.amount ELSE 0 END),
                                    'reservedShares', t.reserved_shares,
                                    'state', CASE WHEN t.trigger_price IS NULL THEN 'awaiting_trigger' ELSE 'active' END,
                                    'transactionNum', t.transaction_num) ORDER BY t.symbol, t.side)
                    FROM triggers t WHERE t.user_id = a.user_id), '[]'),
                'history', COALESCE((
                    SELECT json_agg(json_build_object('transactionNum', l.transaction_num, 'kind', l.kind, 'symbol', l.symbol,
                                    'cash', money_text(l.cash_delta), 'reservedCash', money_text(l.reserved_cash_delta),
                                    'shares', l.shares_delta, 'reservedShares', l.reserved_shares_delta, 'at', l.at_ms) ORDER BY l.id DESC)
                    FROM (SELECT * FROM ledger WHERE user_id = a.user_id ORDER BY id DESC LIMIT \(summaryHistoryLimit)) l), '[]')
            )::text
            FROM accounts a WHERE a.user_id = \(user.rawValue)
            """,
            logger: logger
        )
        for try await (version, json) in rows.decode((Int64, String).self) {
            return AccountSnapshot(version: version, json: json)
        }
        return nil
    }
}

/// An account's DISPLAY_SUMMARY document as of one committed state.
public struct AccountSnapshot: Sendable, Hashable {
    /// Grows with every change of the account, so a cache can tell older from newer.
    public var version: Int64
    public var json: String
}
