import SpoolCLI
import SpoolRestore
#if canImport(Glibc)
import Glibc
#endif

/// `spool restore`'s progress on standard error: one line redrawn in place on a terminal, a
/// line every 5 seconds otherwise (only with `--verbose`).
final class RestoreProgressDisplay {
    private let enabled: Bool
    private let terminal: Bool
    private let started = ContinuousClock.now
    private var lastShown: ContinuousClock.Instant?
    private var lineShown = false

    /// A display that shows nothing unless `enabled`.
    init(enabled: Bool) {
        self.enabled = enabled
        terminal = isatty(STDERR_FILENO) != 0
    }

    /// Shows `outcome` (called after each committed transaction) if it is time to.
    func update(_ outcome: TopicRestoreOutcome) {
        guard enabled else { return }
        let now = ContinuousClock.now
        if let lastShown, (now - lastShown) < .milliseconds(terminal ? 500 : 5_000) { return }
        lastShown = now
        let line = TerminalText.safe(RestoreSummaryText.progressLine(outcome, elapsedSeconds: Self.seconds(now - started)))
        writeAll(STDERR_FILENO, terminal ? "\r\u{1B}[2K" + line : line + "\n")
        lineShown = terminal
    }

    /// Clears the progress line.
    func finish() {
        guard enabled, lineShown else { return }
        writeAll(STDERR_FILENO, "\r\u{1B}[2K")
        lineShown = false
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
