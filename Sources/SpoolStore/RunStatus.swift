/// How an ingest run ended, or that it is still running (or was killed while running).
public enum RunStatus: String, Sendable {
    /// Started and not finished: still running, or interrupted without an orderly stop.
    case running
    /// Every partition caught up (a bounded backfill is complete).
    case live
    /// Stopped on request before every partition caught up.
    case stopped
    /// Ended by an error.
    case failed
}
