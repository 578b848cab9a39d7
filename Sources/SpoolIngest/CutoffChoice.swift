/// Where an ingest run puts its cutoff between replay and live.
public enum CutoffChoice: Equatable, Sendable {
    /// The current time, unless an interrupted bounded backfill of the same topics is being
    /// continued, which keeps the cutoff it started with.
    case now
    /// This Unix time in milliseconds.
    case at(Int64)
}
