import DayTraderCore
import Histogram
import Synchronization

/// Latencies in microseconds, from 1 µs to an hour, to three significant digits.
struct LatencyHistogram: Sendable {
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Self.highest, numberOfSignificantValueDigits: .three)
    private static let highest: UInt64 = 3_600_000_000

    mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let micros = max(seconds, 0) * 1_000_000 + max(attoseconds, 0) / 1_000_000_000_000
        histogram.record(Swift.min(UInt64(micros), Self.highest))
    }

    /// Count, p50, p90, p99 and max, in milliseconds.
    var summary: LatencySummary {
        func millis(_ micros: UInt64) -> Double { Double(micros) / 1_000 }
        guard histogram.totalCount > 0 else { return LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, max: 0) }
        return LatencySummary(
            count: Int(histogram.totalCount),
            p50: millis(histogram.valueAtPercentile(50)),
            p90: millis(histogram.valueAtPercentile(90)),
            p99: millis(histogram.valueAtPercentile(99)),
            max: millis(histogram.max)
        )
    }
}

/// What a run has seen so far: answers, rejections, failures, retries and latencies.
struct RunStatistics: Sendable {
    var answered = 0
    var rejected = 0
    var retries = 0
    var errorsByCode: [String: Int] = [:]
    var failedLines: [FailedLine] = []
    var overall = LatencyHistogram()
    var byCommand: [CommandName: LatencyHistogram] = [:]
    /// When each line was done, since the run began, in the order they were done.
    var doneAt: [Duration] = []

    /// Lines done: answered or given up.
    var done: Int { answered + failedLines.count }

    /// Commands per second in each tenth of the run's lines (the first tenth done, the second,
    /// ...): how the rate held up as the run went on. Empty for fewer than ten lines.
    var rateByTenth: [Double] {
        guard doneAt.count >= 10 else { return [] }
        let seconds = { (duration: Duration) in Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
        var rates: [Double] = []
        var previous = 0
        var previousTime = 0.0
        for tenth in 1...10 {
            let index = doneAt.count * tenth / 10 - 1
            let time = seconds(doneAt[index])
            rates.append(time > previousTime ? Double(index + 1 - previous) / (time - previousTime) : 0)
            previous = index + 1
            previousTime = time
        }
        return rates
    }

    /// An answer after `latency` (from the first attempt); `errorCode` is `nil` for a success.
    mutating func recordAnswer(_ command: CommandName, latency: Duration, errorCode: String?) {
        answered += 1
        if let errorCode {
            rejected += 1
            errorsByCode[errorCode, default: 0] += 1
        }
        overall.record(latency)
        byCommand[command, default: LatencyHistogram()].record(latency)
    }

    mutating func recordFailure(_ line: FailedLine) {
        failedLines.append(line)
    }
}

/// ``RunStatistics`` shared by every user's queue and the progress display.
final class RunRecorder: Sendable {
    private let statistics = Mutex(RunStatistics())

    func record(_ change: (inout RunStatistics) -> Void) {
        statistics.withLock { change(&$0) }
    }

    var snapshot: RunStatistics { statistics.withLock { $0 } }

    /// The counters alone, cheap enough for the progress display to read often.
    var progress: ProgressCounts {
        statistics.withLock { ProgressCounts(done: $0.done, rejected: $0.rejected, failed: $0.failedLines.count, retries: $0.retries) }
    }
}

/// The counters the progress display shows.
struct ProgressCounts: Hashable, Sendable {
    var done: Int
    var rejected: Int
    var failed: Int
    var retries: Int
}
