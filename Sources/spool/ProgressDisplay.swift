import SpoolCLI
import SpoolIngest
#if canImport(Glibc)
import Glibc
#endif

/// Shows ingest progress on standard error: redrawn in place on a terminal, a line every few
/// seconds otherwise.
final class ProgressDisplay {
    private let enabled: Bool
    private let terminal: Bool
    private var linesShown = 0
    private var lastStored: Int64 = 0
    private var lastElapsed = 0.0
    private var rate = 0.0

    /// How often the pipeline should report.
    var interval: Double { terminal ? 0.5 : 5.0 }

    init(enabled: Bool) {
        self.enabled = enabled
        terminal = isatty(STDERR_FILENO) != 0
    }

    func show(_ progress: IngestProgress) {
        guard enabled else { return }
        let stored = progress.storedThisRun
        let window = progress.elapsedSeconds - lastElapsed
        if window > 0 {
            let current = Double(stored - lastStored) / window
            rate = rate == 0 ? current : 0.5 * rate + 0.5 * current
        }
        lastStored = stored
        lastElapsed = progress.elapsedSeconds
        let lines = ProgressText.lines(progress, rate: rate)
        var text = ""
        if terminal {
            if linesShown > 0 { text += "\u{1B}[\(linesShown)A" }
            for line in lines { text += "\u{1B}[2K" + line + "\n" }
            linesShown = lines.count
        } else {
            text = lines.joined(separator: "; ") + "\n"
        }
        writeAll(STDERR_FILENO, text)
    }
}
