import Logging
import SpoolCLI
import SpoolIngest

/// Renders each metrics snapshot as Prometheus text and replaces the `--metrics-file` with it.
///
/// A failed write does not stop the capture (the data matters more than its metrics): it is
/// logged once, and again once writing works again.
final class MetricsPublisher {
    private let file: MetricsFile
    private let logger: Logger
    private var failing = false
    private var last: CaptureMetrics?

    /// A publisher writing to `file`.
    init(file: MetricsFile, logger: Logger) {
        self.file = file
        self.logger = logger
    }

    /// Writes a first file before the capture starts (no partitions yet), so a path that
    /// cannot be written is refused at once instead of failing quietly later.
    func start() throws {
        let empty = CaptureMetrics(partitions: [], heldMessages: 0, pausedPartitions: 0, lastCommitMs: nil,
                                   completeUntilMs: nil, retainedDeleted: [:], databaseBytes: 0)
        try file.write(PrometheusText.render(empty))
        last = empty
    }

    /// Rewrites the last snapshot with `spool_up 0` when the capture ends (orderly or not), so
    /// a scrape tells a stopped capture from a running one without looking at the file's age.
    func finish() {
        guard let last else { return }
        try? file.write(PrometheusText.render(last, up: false))
    }

    /// Writes `metrics` to the file.
    func publish(_ metrics: CaptureMetrics) {
        last = metrics
        do {
            try file.write(PrometheusText.render(metrics))
            if failing { logger.warning("metrics file \(file.path) is written again") }
            failing = false
        } catch {
            if !failing { logger.warning("\(String(describing: error)); the capture goes on, metrics are retried") }
            failing = true
        }
    }
}
