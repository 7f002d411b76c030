import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a run shows its progress on standard error.
public enum ProgressStyle: Sendable {
    /// A bar redrawn in place when standard error is a terminal, else a line every 5 seconds.
    case automatic
    case off
}

/// Draws a run's progress on standard error until it is cancelled.
struct ProgressDisplay: Sendable {
    let total: Int
    let recorder: RunRecorder
    let redrawsInPlace: Bool

    init(total: Int, recorder: RunRecorder) {
        self.total = total
        self.recorder = recorder
        redrawsInPlace = isatty(STDERR_FILENO) == 1
    }

    /// Draws until cancelled, then once more with the final counts.
    func run(since start: ContinuousClock.Instant) async {
        let interval: Duration = redrawsInPlace ? .milliseconds(200) : .seconds(5)
        while (try? await Task.sleep(for: interval)) != nil {
            draw(since: start)
        }
        draw(since: start)
        if redrawsInPlace { write("\n") }
    }

    private func draw(since start: ContinuousClock.Instant) {
        let line = Self.line(recorder.progress, total: total, elapsed: ContinuousClock.now - start, withBar: redrawsInPlace)
        // "\r" and "erase to end of line" redraw the bar where it stands.
        write(redrawsInPlace ? "\r\u{1B}[K" + line : line + "\n")
    }

    /// `[#####.....] 1234/10000  812.3 commands/s  retries 0  errors 12  failed 0`
    static func line(_ counts: ProgressCounts, total: Int, elapsed: Duration, withBar: Bool) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(counts.done) / seconds : 0
        var line = "\(counts.done)/\(total)  \(String(format: "%.1f", rate)) commands/s  retries \(counts.retries)  errors \(counts.rejected)  failed \(counts.failed)"
        if withBar {
            let width = 30
            let filled = total > 0 ? min(width, counts.done * width / total) : width
            line = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + line
        }
        return line
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
