import SpoolModel

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
    /// Records this run decoded, left pending (schema not available) and failed to decode.
    public var decoding = DecodeCounts()

    /// Messages stored by this run.
    public var storedTotal: Int64 { storedPerTopic.values.reduce(0, +) }
    /// Messages stored per second.
    public var messagesPerSecond: Double { elapsedSeconds > 0 ? Double(storedTotal) / elapsedSeconds : 0 }
}

/// How many records were decoded, left pending and failed.
public struct DecodeCounts: Sendable, Equatable {
    /// Decoded.
    public var decoded: Int64 = 0
    /// Waiting for their schema.
    public var pending: Int64 = 0
    /// Not decodable.
    public var failed: Int64 = 0

    /// No records.
    public init() {}

    /// Adds the states of one batch (or one catch-up chunk).
    mutating func add(_ states: some Sequence<DecodedColumns.State>) {
        for state in states {
            switch state {
            case .decoded: decoded += 1
            case .pending: pending += 1
            case .failed: failed += 1
            case .none: continue
            }
        }
    }
}
