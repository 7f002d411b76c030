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
public actor CommandBatcher {
    let store: TradingStore
    /// The most commands in one call.
    let maxBatch: Int
    /// The most calls in flight at once (each holds one pooled connection).
    let maxCalls: Int
    private var waiting: [(call: TradingStore.Call, reply: CheckedContinuation<TradingStore.Outcome, any Error>)] = []
    private var running = 0
    /// Runs after each call committed, before any of its commands is answered (the account
    /// cache's write-through, one round trip for the whole batch).
    private let afterCommit: @Sendable ([TradingStore.Outcome]) async -> Void
    /// Commands per database call (`daytrader_command_batch_size`).
    private let batchSizes = Recorder(label: "daytrader_command_batch_size")

    public init(store: TradingStore, maxBatch: Int, maxCalls: Int, afterCommit: @escaping @Sendable ([TradingStore.Outcome]) async -> Void) {
        self.store = store
        self.afterCommit = afterCommit
        self.maxBatch = max(1, maxBatch)
        self.maxCalls = max(1, maxCalls)
    }

    /// Runs the command, alone or with others; its outcome.
    public func submit(_ call: TradingStore.Call) async throws -> TradingStore.Outcome {
        try await withCheckedThrowingContinuation { reply in
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
            Task { await self.run(batch) }
        }
    }

    private func run(_ batch: [(call: TradingStore.Call, reply: CheckedContinuation<TradingStore.Outcome, any Error>)]) async {
        let ordered = batch.enumerated()
            .sorted { ($0.element.call.user?.rawValue ?? "", $0.offset) < ($1.element.call.user?.rawValue ?? "", $1.offset) }
            .map(\.element)
        do {
            let outcomes = try await store.execute(ordered.map(\.call))
            await afterCommit(outcomes)
            for (entry, outcome) in zip(ordered, outcomes) { entry.reply.resume(returning: outcome) }
        } catch let error as PSQLError where error.sqlState != nil {
            // The database refused the call, so none of it was applied: each command goes again alone.
            for entry in ordered {
                do {
                    let outcome = try await store.executeAlone(entry.call)
                    await afterCommit([outcome])
                    entry.reply.resume(returning: outcome)
                } catch {
                    entry.reply.resume(throwing: error)
                }
            }
        } catch {
            // The call may or may not have committed (the connection failed): only the clients can
            // retry safely, with their idempotency keys.
            for entry in ordered { entry.reply.resume(throwing: error) }
        }
        running -= 1
        startCalls()
    }
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
