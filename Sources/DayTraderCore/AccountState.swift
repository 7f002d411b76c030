/// An account as DISPLAY_SUMMARY shows it: balances, holdings, pending orders, triggers and the
/// newest ledger rows, as of one version.
///
/// The transaction servers keep it in Redis, applying each committed change to it (the
/// write-through cache), and read it back from there; when the cached version is not the
/// database's, the database sends it whole (in the same call that logs the DISPLAY_SUMMARY).
/// Either way the document a client gets is rendered here, by ``summaryJSON(user:now:)``.
public struct AccountState: Hashable, Sendable {
    public var version: Int64
    public var cash: Int64
    public var reservedCash: Int64
    public var holdings: [HoldingRow]
    /// Pending orders, including any whose 60 s have run out but that no transaction has released yet.
    public var orders: [OrderRow]
    public var triggers: [TriggerRow]
    /// The newest ledger rows, newest first, at most ``historyLimit``.
    public var history: History

    /// The newest ledger rows: as rows with their times (from PostgreSQL), or each already as its
    /// entry of the summary's history (``LedgerRow/summaryEntryJSON``), as the account cache keeps
    /// them so that a summary served from it only joins them.
    public enum History: Hashable, Sendable {
        case rows([LedgerRow])
        case rendered([String])
    }

    /// How many of the newest ledger rows a summary lists.
    public static let historyLimit = 100

    public init(version: Int64, cash: Int64, reservedCash: Int64, holdings: [HoldingRow], orders: [OrderRow], triggers: [TriggerRow], history: History) {
        self.version = version
        self.cash = cash
        self.reservedCash = reservedCash
        self.holdings = holdings
        self.orders = orders
        self.triggers = triggers
        self.history = history
    }


    /// The DISPLAY_SUMMARY document at `now` (docs/API.md), as JSON: the balances; the holdings
    /// by symbol (those with shares); the live pending orders, newest first; the triggers by
    /// symbol and side; the newest history first. Money as two-decimal strings; times Unix ms.
    public func summaryJSON(user: UserID, now: Timestamp) -> [UInt8] {
        var json = JSONWriter(capacity: 16_384)
        json.beginObject()
        json.field("user", user.rawValue)
        json.field("version", version)
        json.field("cash", Money(cents: cash))
        json.field("reservedCash", Money(cents: reservedCash))
        json.key("holdings")
        json.beginArray()
        for holding in holdings.filter({ $0.shares > 0 || $0.reservedShares > 0 }).sorted(by: { $0.symbol < $1.symbol }) {
            json.beginObject()
            json.field("symbol", holding.symbol)
            json.field("shares", holding.shares)
            json.field("reservedShares", holding.reservedShares)
            json.endObject()
        }
        json.endArray()
        for (name, side) in [("pendingBuys", Side.buy), ("pendingSells", Side.sell)] as [(StaticString, Side)] {
            json.key(name)
            json.beginArray()
            let live = orders
                .filter { $0.side == side && TradingRules.isLive(until: Timestamp(unixMillis: $0.expiresAt), at: now) }
                .sorted { ($0.placedAt, $0.id) > ($1.placedAt, $1.id) }
            for order in live {
                json.beginObject()
                json.field("symbol", order.symbol)
                json.field("shares", order.shares)
                json.field("price", Money(cents: order.price))
                json.field("amount", Money(cents: order.amount))
                json.field("placedAt", order.placedAt)
                json.field("expiresAt", order.expiresAt)
                json.field("transactionNum", order.transactionNum)
                json.endObject()
            }
            json.endArray()
        }
        json.key("triggers")
        json.beginArray()
        for trigger in triggers.sorted(by: { ($0.symbol, $0.side.rawValue) < ($1.symbol, $1.side.rawValue) }) {
            json.beginObject()
            json.field("side", trigger.side.rawValue)
            json.field("symbol", trigger.symbol)
            json.field("amount", Money(cents: trigger.amount))
            json.key("triggerPrice")
            if let price = trigger.triggerPrice { json.money(Money(cents: price)) } else { json.null() }
            json.field("reservedCash", Money(cents: trigger.side == .buy ? trigger.amount : 0))
            json.field("reservedShares", trigger.reservedShares)
            json.field("state", trigger.triggerPrice == nil ? "awaiting_trigger" : "active")
            json.field("transactionNum", trigger.transactionNum)
            json.endObject()
        }
        json.endArray()
        json.key("history")
        json.beginArray()
        switch history {
        case .rows(let rows):
            for row in rows.prefix(Self.historyLimit) { row.writeSummaryEntry(to: &json) }
        case .rendered(let entries):
            for entry in entries.prefix(Self.historyLimit) { json.raw(entry) }
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }
}

extension LedgerRow {
    /// The row as an entry of DISPLAY_SUMMARY's history.
    public var summaryEntryJSON: String {
        var json = JSONWriter(capacity: 160)
        writeSummaryEntry(to: &json)
        return json.text
    }

    func writeSummaryEntry(to json: inout JSONWriter) {
        json.beginObject()
        json.field("transactionNum", transactionNum)
        json.field("kind", kind.rawValue)
        json.key("symbol")
        if let symbol { json.string(symbol) } else { json.null() }
        json.field("cash", Money(cents: cash))
        json.field("reservedCash", Money(cents: reservedCash))
        json.field("shares", shares)
        json.field("reservedShares", reservedShares)
        json.field("at", at ?? 0)
        json.endObject()
    }
}
