/// What an ingest run did, for the closing summary.
public struct IngestSummary: Sendable {
    /// The run's id in the database.
    public var runID: Int64
    /// Messages stored by this run, per topic.
    public var storedPerTopic: [String: Int64]
    /// Wall-clock seconds the run took.
    public var elapsedSeconds: Double
    /// Whether every partition was live at the end.
    public var isLive: Bool
    /// Whether the run ended because a stop was asked for.
    public var stoppedOnRequest: Bool
    /// Size of the database file and its WAL, in bytes.
    public var databaseBytes: Int64
    /// Gaps recorded (and accepted) by this run.
    public var gapsAccepted: Int

    /// Messages stored by this run.
    public var storedTotal: Int64 { storedPerTopic.values.reduce(0, +) }
    /// Messages stored per second.
    public var messagesPerSecond: Double { elapsedSeconds > 0 ? Double(storedTotal) / elapsedSeconds : 0 }
}
