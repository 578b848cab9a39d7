import KafkaReplay
import SpoolCLI
#if canImport(Glibc)
import Glibc
#endif

/// `spool replay`'s progress on standard error: one line redrawn in place on a terminal, a line
/// every 5 seconds otherwise (only with `--verbose`); and the closing summary.
final class ReplayProgressDisplay {
    private let enabled: Bool
    private let terminal: Bool
    private let started = ContinuousClock.now
    private var lastShown = ContinuousClock.now
    private var lastWritten: Int64 = 0
    private var rate = 0.0
    private var lineShown = false

    /// A display that shows nothing unless `enabled`.
    init(enabled: Bool) {
        self.enabled = enabled
        terminal = isatty(STDERR_FILENO) != 0
    }

    /// Seconds since the replay started.
    var elapsedSeconds: Double { Self.seconds(ContinuousClock.now - started) }

    /// Shows the progress if it is time to.
    func show(written: Int64, manager: ConsumerManager) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let window = Self.seconds(now - lastShown)
        guard window >= (terminal ? 0.5 : 5.0) else { return }
        let current = Double(written - lastWritten) / window
        rate = rate == 0 ? current : 0.5 * rate + 0.5 * current
        lastShown = now
        lastWritten = written
        let states = manager.partitionState()
        let line = ReplayProgressText.line(written: written, rate: rate, livePartitions: states.filter(\.isLive).count, partitions: states.count,
                                           held: manager.heldMessageCount, elapsedSeconds: elapsedSeconds)
        writeAll(STDERR_FILENO, terminal ? "\r\u{1B}[2K" + line : line + "\n")
        lineShown = terminal
    }

    /// Clears the progress line and prints the summary.
    func finish(written: Int64, ending: ReplayProgressText.Ending) {
        guard enabled else { return }
        let summary = ReplayProgressText.summary(written: written, elapsedSeconds: elapsedSeconds, ending: ending)
        writeAll(STDERR_FILENO, (lineShown ? "\r\u{1B}[2K" : "") + summary)
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
