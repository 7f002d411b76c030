/// Where a relay's next scan of the audit outbox starts (docs/DECISIONS.md 43). Pure: the relay
/// tells it what each scan found and when, and asks it where the next one starts.
///
/// The outbox is a queue in a table. Deleted rows stay in the heap and the index until a vacuum,
/// and a scan from the head steps over every one of them, fetching each from the heap while some
/// transaction may still see it: under a backlog that cost grew until the relay fell behind for
/// good. So the relay scans from the head only when it must:
///
/// - **Draining** (the last batch was full): the next batch starts after the last one's highest id.
/// - **Caught up** (the last scan came back short): the next scan starts at the *floor*. A row's id
///   comes from a sequence when it is written, so a row the relay passed may commit later, below
///   the cursor. Each scan reads the sequence (`assigned`): every row up to it was written by then.
///   Once a short scan from the floor starts `lateCommitWindow` after such a reading, every one of
///   those rows whose transaction took less than the window was visible to it and is gone (sent,
///   or locked by another relay), and the floor rises to the reading.
/// - **From the head** (id 0): at start and every `fullScanInterval`. That finds what the floor
///   does not: a batch another instance's relay rolled back, and a transaction that took longer
///   than the window.
///
/// While draining, every `roundsPerFloorScan`-th batch scans from the floor as well, so a late row
/// does not wait for the whole backlog. A batch that failed (and rolled back) leaves the start
/// where it was: its rows are all after it. A scan that ran out of time (`timedOut(at:)`, usually
/// a look back over many deleted rows a vacuum has not yet removed) sends the relay back to
/// draining and puts off the next full scan.
public struct RelayCursor: Sendable {
    public static let lateCommitWindow = Duration.seconds(5)
    public static let fullScanInterval = Duration.seconds(30)
    public static let roundsPerFloorScan = 16
    /// Readings kept while no scan can raise the floor (a long drain); the oldest go first.
    static let mostMarks = 4_096

    /// Where the next scan starts: it looks at rows with a higher id.
    public private(set) var start: Int64 = 0
    /// Every row at or below it was sent, or is in another relay's hands (see above).
    public private(set) var floor: Int64 = 0
    /// The sequence as scans read it, oldest first: candidates for the floor.
    private var marks: [(at: ContinuousClock.Instant, assigned: Int64)] = []
    private var lastFullScan: ContinuousClock.Instant?
    private var fullRounds = 0
    /// The highest id this relay sent.
    private var highest: Int64 = 0

    public init() {}

    /// A scan from `start`, begun at `began`, sent `sent` rows (the highest id `last`) and read
    /// the outbox sequence at `assigned`; it ended at `ended`. `full` is whether it found as many
    /// rows as a batch may hold.
    public mutating func scanned(
        sent: Int, last: Int64, full: Bool, assigned: Int64, began: ContinuousClock.Instant, ended: ContinuousClock.Instant
    ) {
        if start == 0 { lastFullScan = began }
        if !full, start <= floor, let index = marks.lastIndex(where: { $0.at <= began - Self.lateCommitWindow }) {
            floor = max(floor, marks[index].assigned)
            marks.removeFirst(index + 1)
        }
        highest = max(highest, last)
        marks.append((ended, assigned))
        if marks.count > Self.mostMarks { marks.removeFirst() }
        if full {
            fullRounds += 1
            start = fullRounds % Self.roundsPerFloorScan == 0 ? rescan(at: ended) : last
        } else {
            fullRounds = 0
            start = rescan(at: ended)
        }
    }

    /// The scan from `start` was cancelled after running too long, at `now`.
    public mutating func timedOut(at now: ContinuousClock.Instant) {
        fullRounds = 0
        lastFullScan = now
        start = highest
    }

    /// The floor, or the head when a full scan is due.
    private func rescan(at now: ContinuousClock.Instant) -> Int64 {
        guard let lastFullScan, now - lastFullScan < Self.fullScanInterval else { return 0 }
        return floor
    }
}
