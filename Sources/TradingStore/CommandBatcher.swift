import DayTraderCore
import Metrics
import PostgresNIO

/// Sends the commands that arrive together to the database together: one call, one transaction
/// and one commit for all the commands that came in while the earlier calls were running (an
/// application-level group commit). With little traffic every command goes alone at once; under
/// load the batches grow, and the per-call and per-commit costs are shared.
///
/// A batch is sorted by user before it goes (keeping each user's commands in their order), so
/// every call takes its account locks in the same order and no two calls can deadlock. When the
/// database refuses a whole batch (one command's arithmetic overflowed, two instances raced on a
/// new key), nothing of it was applied, and its commands go again one by one, where each such
/// refusal is handled alone.
///
/// No call holds the instance for longer than `callTimeLimit`: a call that has not returned by
/// then (a request the connection pool lost while PostgreSQL restarted; `make chaos` found one)
/// is given up by a watchdog, its commands are answered with ``CallAbandoned`` (503
/// `unavailable`: they may or may not have committed, so clients retry with their keys), and the
/// next calls go.
public actor CommandBatcher {
    typealias Reply = CheckedContinuation<TradingStore.Outcome, any Error>

    let store: TradingStore
    /// The most commands in one call.
    let maxBatch: Int
    /// The most calls in flight at once (each holds one pooled connection).
    let maxCalls: Int
    /// How long a call may take, from the start of its last attempt, before it is given up.
    let callTimeLimit: Duration
    private var waiting: [(call: TradingStore.Call, reply: Reply)] = []
    private var running = 0
    /// The calls in flight: when the last attempt began, and the replies still owed, by place.
    private var inFlight: [Int: (began: ContinuousClock.Instant, replies: [Int: Reply])] = [:]
    private var nextCall = 0
    private var watchdog: Task<Void, Never>?
    /// Runs after each call committed, before any of its commands is answered (the account
    /// cache's write-through, one round trip for the whole batch).
    private let afterCommit: @Sendable ([TradingStore.Outcome]) async -> Void
    /// Commands per database call (`daytrader_command_batch_size`).
    private let batchSizes = Recorder(label: "daytrader_command_batch_size")
    /// Calls given up by the watchdog (`daytrader_command_calls_abandoned_total`).
    private let abandoned = Counter(label: "daytrader_command_calls_abandoned_total")

    public init(
        store: TradingStore, maxBatch: Int, maxCalls: Int, callTimeLimit: Duration = .seconds(60),
        afterCommit: @escaping @Sendable ([TradingStore.Outcome]) async -> Void
    ) {
        self.store = store
        self.afterCommit = afterCommit
        self.maxBatch = max(1, maxBatch)
        self.maxCalls = max(1, maxCalls)
        self.callTimeLimit = callTimeLimit
    }

    deinit {
        watchdog?.cancel()
    }

    /// Runs the command, alone or with others; its outcome.
    public func submit(_ call: TradingStore.Call) async throws -> TradingStore.Outcome {
        startWatchdog()
        return try await withCheckedThrowingContinuation { reply in
            waiting.append((call, reply))
            startCalls()
        }
    }

    private func startCalls() {
        while running < maxCalls, !waiting.isEmpty {
            let batch = Array(waiting.prefix(maxBatch))
            waiting.removeFirst(batch.count)
            batchSizes.record(batch.count)
            running += 1
            let id = nextCall
            nextCall += 1
            Task { await self.run(batch, id: id) }
        }
    }

    private func run(_ batch: [(call: TradingStore.Call, reply: Reply)], id: Int) async {
        let ordered = batch.enumerated()
            .sorted { ($0.element.call.user?.rawValue ?? "", $0.offset) < ($1.element.call.user?.rawValue ?? "", $1.offset) }
            .map(\.element)
        inFlight[id] = (.now, Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($0.offset, $0.element.reply) }))
        do {
            let outcomes = try await store.execute(ordered.map(\.call))
            await afterCommit(outcomes)
            for (place, outcome) in outcomes.enumerated() { answer(id, place, with: .success(outcome)) }
        } catch let error as PSQLError where error.sqlState != nil {
            // The database refused the call, so none of it was applied: each command goes again alone.
            for (place, entry) in ordered.enumerated() where inFlight[id] != nil {
                inFlight[id]?.began = .now
                do {
                    let outcome = try await store.executeAlone(entry.call)
                    await afterCommit([outcome])
                    answer(id, place, with: .success(outcome))
                } catch {
                    answer(id, place, with: .failure(error))
                }
            }
        } catch {
            // The call may or may not have committed (the connection failed): only the clients can
            // retry safely, with their idempotency keys.
            for place in ordered.indices { answer(id, place, with: .failure(error)) }
        }
        // Unless the watchdog gave this call up already (and freed its place).
        if inFlight.removeValue(forKey: id) != nil {
            running -= 1
            startCalls()
        }
    }

    /// Answers one command of a call, unless the watchdog has answered it already.
    private func answer(_ id: Int, _ place: Int, with result: Result<TradingStore.Outcome, any Error>) {
        inFlight[id]?.replies.removeValue(forKey: place)?.resume(with: result)
    }

    private func startWatchdog() {
        guard watchdog == nil else { return }
        watchdog = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self?.giveUpStuckCalls()
            }
        }
    }

    /// Answers the commands of every call older than the limit, and lets the next calls go.
    private func giveUpStuckCalls() {
        let now = ContinuousClock.now
        for (id, call) in inFlight where call.began.duration(to: now) > callTimeLimit {
            inFlight[id] = nil
            for reply in call.replies.values { reply.resume(throwing: CallAbandoned(limit: callTimeLimit)) }
            running -= 1
            abandoned.increment()
        }
        startCalls()
    }
}

/// A database call that had not returned within its time limit; its commands may or may not
/// have committed.
public struct CallAbandoned: Error, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "the database call had not returned after \(limit); given up" }
}

extension TradingStore {
    /// One command in a call of its own, with the refusals the database raises as errors handled:
    /// a bigint overflow becomes the command's `arithmetic_overflow` (recorded and logged like any
    /// refusal), and a unique violation on the key (another instance committed the same new key
    /// first) is retried, to find that attempt's record.
    public func executeAlone(_ call: Call) async throws -> Outcome {
        var call = call
        var attempt = 1
        while true {
            do {
                return try await execute([call])[0]
            } catch let error as PSQLError where error.sqlState == "23505" && attempt < 3 {
                attempt += 1
            } catch let error as PSQLError where error.sqlState == "22003" && call.refusal == nil {
                let rejection = Rejection.overflow("the account's balances")
                call.refusal = rejection.code
                call.head.message = rejection.message
            }
        }
    }
}
