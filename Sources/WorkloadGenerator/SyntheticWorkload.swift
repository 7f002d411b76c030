import DayTraderCore

/// A synthetic workload in the course format, the same for the same seed on every machine.
///
/// Lines are numbered from 1; every line but the last ends with a space; the last is the
/// administrator's `DUMPLOG,./testLOG`. Each user's first command is an ADD. User ids are 10
/// characters of `[A-Za-z0-9]`; symbols 1-3 capital letters from a pool of 20, and each user
/// trades three of them. After a user's ADD, commands are drawn from ``mix``, with no regard to
/// whether they make sense for the account, so some are rejected, as in the course's files.
public struct SyntheticWorkload: Sendable {
    public let users: Int
    /// Lines in all, the final DUMPLOG included (the course's `100User_testWorkLoad` has 100,000).
    public let commands: Int
    public let seed: UInt64

    /// The share of each command among a started user's commands, in tenths of a percent: the
    /// mix of the course's 100-user file.
    public static let mix: [(command: CommandName, perMille: Int)] = [
        (.add, 110), (.quote, 130), (.buy, 140), (.commitBuy, 80), (.cancelBuy, 25), (.sell, 60),
        (.commitSell, 40), (.cancelSell, 20), (.setBuyAmount, 50), (.setBuyTrigger, 85), (.cancelSetBuy, 20),
        (.setSellAmount, 45), (.setSellTrigger, 73), (.cancelSetSell, 25), (.displaySummary, 90),
    ]

    static let symbolPoolSize = 20
    static let symbolsPerUser = 3
    /// ADD amounts, in cents: $10,000.00 to $130,000.00.
    static let addCents: ClosedRange<UInt64> = 1_000_000...13_000_000
    /// Order and reserve amounts: $0.05 to $750.00.
    static let orderCents: ClosedRange<UInt64> = 5...75_000
    /// Trigger prices: $0.05 to $300.00.
    static let triggerCents: ClosedRange<UInt64> = 5...30_000

    /// A workload of `commands` lines for `users` users; each user needs a line for its ADD,
    /// and the dump one more.
    public init(users: Int, commands: Int, seed: UInt64) throws(SyntheticWorkloadError) {
        guard users >= 1 else { throw SyntheticWorkloadError("there must be at least one user") }
        guard commands >= users + 1 else {
            throw SyntheticWorkloadError("\(users) user(s) need at least \(users + 1) commands: an ADD each and the final DUMPLOG")
        }
        self.users = users
        self.commands = commands
        self.seed = seed
    }

    /// The workload's lines, each with its trailing space but without a line break.
    public func lines() -> [String] {
        var random = SplitMix64(seed: seed)
        let pool = Self.distinct(Self.symbolPoolSize, using: &random) { random in
            let length = 1 + Int(random.below(3))
            return String((0..<length).map { _ in Self.capitals[Int(random.below(UInt64(Self.capitals.count)))] })
        }
        let ids = Self.distinct(users, using: &random) { random in
            String((0..<10).map { _ in Self.alphanumerics[Int(random.below(UInt64(Self.alphanumerics.count)))] })
        }
        let symbolsOfUser = ids.map { _ in Self.distinct(Self.symbolsPerUser, using: &random) { pool[Int($0.below(UInt64(pool.count)))] } }
        let mixTotal = UInt64(Self.mix.reduce(0) { $0 + $1.perMille })

        var isStarted = [Bool](repeating: false, count: users)
        var notStarted = Array(0..<users)
        var lines: [String] = []
        lines.reserveCapacity(commands)
        for number in 1..<commands {
            // Every user appears: once the lines left only just suffice, they go to users not
            // yet started.
            let user: Int
            if notStarted.count == commands - number {
                user = notStarted.remove(at: Int(random.below(UInt64(notStarted.count))))
            } else {
                user = Int(random.below(UInt64(users)))
            }
            let command: CommandName
            if isStarted[user] {
                command = Self.draw(from: mixTotal, using: &random)
            } else {
                isStarted[user] = true
                notStarted.removeAll { $0 == user }
                command = .add
            }
            var fields = [ids[user]]
            let symbols = symbolsOfUser[user]
            let symbol = { (random: inout SplitMix64) in symbols[Int(random.below(UInt64(symbols.count)))] }
            switch command {
            case .add:
                fields.append(Self.dollars(in: Self.addCents, using: &random))
            case .quote, .cancelSetBuy, .cancelSetSell:
                fields.append(symbol(&random))
            case .buy, .sell, .setBuyAmount, .setSellAmount:
                fields.append(symbol(&random))
                fields.append(Self.dollars(in: Self.orderCents, using: &random))
            case .setBuyTrigger, .setSellTrigger:
                fields.append(symbol(&random))
                fields.append(Self.dollars(in: Self.triggerCents, using: &random))
            case .commitBuy, .cancelBuy, .commitSell, .cancelSell, .displaySummary, .dumplog:
                break
            }
            lines.append("[\(number)] \(command.rawValue),\(fields.joined(separator: ",")) ")
        }
        lines.append("[\(commands)] DUMPLOG,./testLOG")
        return lines
    }

    /// The workload file's text: the lines, each followed by a line break.
    public func text() -> String {
        lines().joined(separator: "\n") + "\n"
    }

    private static let capitals = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    private static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    private static func draw(from total: UInt64, using random: inout SplitMix64) -> CommandName {
        var point = Int(random.below(total))
        for (command, perMille) in mix {
            if point < perMille { return command }
            point -= perMille
        }
        return mix[mix.count - 1].command
    }

    private static func dollars(in cents: ClosedRange<UInt64>, using random: inout SplitMix64) -> String {
        let value = cents.lowerBound + random.below(UInt64(cents.count))
        return Money(cents: Int64(value)).description
    }

    /// `count` different values from `make`, in the order first made.
    private static func distinct(_ count: Int, using random: inout SplitMix64, _ make: (inout SplitMix64) -> String) -> [String] {
        var seen = Set<String>()
        var values: [String] = []
        while values.count < count {
            let value = make(&random)
            if seen.insert(value).inserted { values.append(value) }
        }
        return values
    }
}

/// Why a synthetic workload cannot be made.
public struct SyntheticWorkloadError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension SplitMix64 {
    /// A uniform draw from `0..<bound` (Lemire's multiply-and-reject), spelled out here rather
    /// than left to the standard library, whose method could change between Swift versions and
    /// with it every synthetic workload.
    mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let threshold = (0 &- bound) % bound
        while true {
            let (high, low) = next().multipliedFullWidth(by: bound)
            if low >= threshold { return high }
        }
    }
}
