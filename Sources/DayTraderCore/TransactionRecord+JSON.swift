/// The JSON form of records and accounts, read and written by hand (`JSONValue`, `JSONWriter`):
/// it is parsed on every command by the transaction servers and on every record by the audit
/// server. The database writes the same keys (TradingStore's `CommandFunctions`).
extension TransactionRecord {
    public init(parsing text: String) throws(RecordFormatError) {
        try self.init(json: Self.parse(text))
    }

    public init(json: JSONValue) throws(RecordFormatError) {
        guard let head = json["h"], let result = json["r"] else { throw RecordFormatError("a record needs 'h' and 'r'") }
        self.init(head: try RecordHead(json: head), result: try RecordResult(json: result))
    }

    /// The records of one relayed message (a JSON array).
    public static func records(parsing bytes: some Collection<UInt8>) throws(RecordFormatError) -> [TransactionRecord] {
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch { throw RecordFormatError(error.description) }
        guard let elements = json.array else { throw RecordFormatError("a message is an array of records") }
        var records: [TransactionRecord] = []
        records.reserveCapacity(elements.count)
        for element in elements { records.append(try TransactionRecord(json: element)) }
        return records
    }

    public var json: String {
        "{\"h\":" + head.json + ",\"r\":" + result.json + "}"
    }

    static func parse(_ text: String) throws(RecordFormatError) -> JSONValue {
        do { return try JSONValue(parsing: text) } catch { throw RecordFormatError(error.description) }
    }
}

/// Why a text is not a record.
public struct RecordFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "not a transaction record: \(reason)" }
}

/// Reading fields, with errors that name them.
extension JSONValue {
    func required(_ key: String) throws(RecordFormatError) -> JSONValue {
        guard let value = self[key], !value.isNull else { throw RecordFormatError("'\(key)' is missing") }
        return value
    }

    func text(_ key: String) throws(RecordFormatError) -> String {
        guard let text = try required(key).string else { throw RecordFormatError("'\(key)' is not a string") }
        return text
    }

    func optionalText(_ key: String) throws(RecordFormatError) -> String? {
        guard let value = self[key], !value.isNull else { return nil }
        guard let text = value.string else { throw RecordFormatError("'\(key)' is not a string") }
        return text
    }

    func number(_ key: String) throws(RecordFormatError) -> Int64 {
        guard let number = try required(key).int else { throw RecordFormatError("'\(key)' is not a whole number") }
        return number
    }

    func optionalNumber(_ key: String) throws(RecordFormatError) -> Int64? {
        guard let value = self[key], !value.isNull else { return nil }
        guard let number = value.int else { throw RecordFormatError("'\(key)' is not a whole number") }
        return number
    }

    func side(_ key: String) throws(RecordFormatError) -> Side {
        guard let side = Side(rawValue: try text(key)) else { throw RecordFormatError("'\(key)' is neither buy nor sell") }
        return side
    }

    func list<T>(_ key: String, _ element: (JSONValue) throws(RecordFormatError) -> T) throws(RecordFormatError) -> [T]? {
        guard let value = self[key], !value.isNull else { return nil }
        guard let elements = value.array else { throw RecordFormatError("'\(key)' is not an array") }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for item in elements { result.append(try element(item)) }
        return result
    }
}

extension RecordHead {
    public init(json: JSONValue) throws(RecordFormatError) {
        guard let kind = Kind(rawValue: try json.text("k")) else { throw RecordFormatError("'k' is not a kind of record") }
        self.init(id: try json.text("id"), kind: kind, server: try json.text("srv"), at: try json.number("at"))
        command = try json.optionalText("cmd")
        user = try json.optionalText("user")
        symbol = try json.optionalText("sym")
        amount = try json.optionalText("amt")
        filename = try json.optionalText("file")
        quote = try json["q"].flatMap { value throws(RecordFormatError) in value.isNull ? nil : try QuoteInfo(json: value) }
        message = try json.optionalText("msg")
        side = try json.optionalText("side").map { text throws(RecordFormatError) in
            guard let side = Side(rawValue: text) else { throw RecordFormatError("'side' is neither buy nor sell") }
            return side
        }
        transactionNum = try json.optionalNumber("t")
        funds = try json.optionalNumber("funds")
    }
}

extension QuoteInfo {
    public init(json: JSONValue) throws(RecordFormatError) {
        let priceText = try json.text("price")
        guard let price = try? Money(parsing: priceText) else { throw RecordFormatError("'price' is not money") }
        guard let cached = json["cached"]?.bool else { throw RecordFormatError("'cached' is not true or false") }
        self.init(
            symbol: try json.text("symbol"), price: price, quoteServerTime: try json.number("quoteServerTime"),
            cryptokey: try json.text("cryptokey"), user: try json.optionalText("user"), cached: cached,
            expiresAt: try json.number("expiresAt")
        )
    }
}

extension RecordResult {
    public init(json: JSONValue) throws(RecordFormatError) {
        self.init(transactionNum: try json.optionalNumber("t"), code: try json.text("c"))
        version = try json.optionalNumber("v")
        cash = try json.optionalNumber("cash")
        reservedCash = try json.optionalNumber("rcash")
        available = try json.optionalNumber("a")
        shares = try json.optionalNumber("n")
        amount = try json.optionalNumber("amt")
        order = try json["o"].flatMap { value throws(RecordFormatError) in value.isNull ? nil : try OrderRow(json: value) }
        expired = try json.list("x", OrderRow.init(json:))
        holdings = try json.list("h", HoldingRow.init(json:))
        trigger = try json["g"].flatMap { value throws(RecordFormatError) in value.isNull ? nil : try TriggerRow(json: value) }
        removedTrigger = try json["gx"].flatMap { value throws(RecordFormatError) in
            value.isNull ? nil : TriggerKey(side: try value.side("side"), symbol: try value.text("sym"))
        }
        ledger = try json.list("l", LedgerRow.init(json:))
    }

    /// As the database writes it.
    public var json: String {
        var json = JSONWriter()
        json.beginObject()
        json.field("t", transactionNum)
        json.field("c", code)
        json.field("v", version)
        json.field("cash", cash)
        json.field("rcash", reservedCash)
        json.field("a", available)
        json.field("n", shares)
        json.field("amt", amount)
        if let order {
            json.key("o")
            order.write(to: &json)
        }
        if let expired {
            json.key("x")
            json.beginArray()
            for order in expired { order.write(to: &json) }
            json.endArray()
        }
        if let holdings {
            json.key("h")
            json.beginArray()
            for holding in holdings { holding.write(to: &json) }
            json.endArray()
        }
        if let trigger {
            json.key("g")
            trigger.write(to: &json)
        }
        if let removedTrigger {
            json.key("gx")
            json.beginObject()
            json.field("side", removedTrigger.side.rawValue)
            json.field("sym", removedTrigger.symbol)
            json.endObject()
        }
        if let ledger {
            json.key("l")
            json.beginArray()
            for row in ledger { row.write(to: &json) }
            json.endArray()
        }
        json.endObject()
        return json.text
    }
}

extension OrderRow {
    public init(json: JSONValue) throws(RecordFormatError) {
        self.init(
            id: try json.number("id"), side: try json.side("side"), symbol: try json.text("sym"), shares: try json.number("sh"),
            price: try json.number("p"), amount: try json.number("amt"), placedAt: try json.number("at"),
            expiresAt: try json.number("exp"), transactionNum: try json.number("t")
        )
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("id", id)
        json.field("side", side.rawValue)
        json.field("sym", symbol)
        json.field("sh", shares)
        json.field("p", price)
        json.field("amt", amount)
        json.field("at", placedAt)
        json.field("exp", expiresAt)
        json.field("t", transactionNum)
        json.endObject()
    }
}

extension HoldingRow {
    public init(json: JSONValue) throws(RecordFormatError) {
        self.init(symbol: try json.text("sym"), shares: try json.number("s"), reservedShares: try json.number("rs"))
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("sym", symbol)
        json.field("s", shares)
        json.field("rs", reservedShares)
        json.endObject()
    }
}

extension TriggerRow {
    public init(json: JSONValue) throws(RecordFormatError) {
        self.init(
            side: try json.side("side"), symbol: try json.text("sym"), amount: try json.number("amt"),
            triggerPrice: try json.optionalNumber("p"), reservedShares: try json.number("rs"), transactionNum: try json.number("t")
        )
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("side", side.rawValue)
        json.field("sym", symbol)
        json.field("amt", amount)
        json.key("p")
        if let triggerPrice { json.integer(triggerPrice) } else { json.null() }
        json.field("rs", reservedShares)
        json.field("t", transactionNum)
        json.endObject()
    }
}

extension LedgerRow {
    public init(json: JSONValue) throws(RecordFormatError) {
        guard let kind = LedgerKind(rawValue: try json.text("k")) else { throw RecordFormatError("'k' is not a ledger kind") }
        self.init(
            kind: kind, symbol: try json.optionalText("sym"), cash: try json.number("c"), reservedCash: try json.number("rc"),
            shares: try json.number("s"), reservedShares: try json.number("rs"), transactionNum: try json.number("t"),
            at: try json.optionalNumber("at")
        )
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("k", kind.rawValue)
        json.key("sym")
        if let symbol { json.string(symbol) } else { json.null() }
        json.field("c", cash)
        json.field("rc", reservedCash)
        json.field("s", shares)
        json.field("rs", reservedShares)
        json.field("t", transactionNum)
        json.field("at", at)
        json.endObject()
    }
}

extension AccountState {
    /// The account as the database sends it (`dt_state`).
    public init(parsing text: String) throws(RecordFormatError) {
        let json = try TransactionRecord.parse(text)
        self.init(
            version: try json.number("v"), cash: try json.number("cash"), reservedCash: try json.number("rcash"),
            holdings: try json.list("h", HoldingRow.init(json:)) ?? [], orders: try json.list("o", OrderRow.init(json:)) ?? [],
            triggers: try json.list("g", TriggerRow.init(json:)) ?? [], history: .rows(try json.list("l", LedgerRow.init(json:)) ?? [])
        )
    }
}
