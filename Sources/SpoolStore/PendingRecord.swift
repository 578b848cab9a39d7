import SpoolModel

/// A stored record whose decoding waits for its schema.
public struct PendingRecord: Sendable {
    /// Where a record sits, and where a scan continues after it.
    public struct Cursor: Sendable, Equatable {
        /// In the latest table (a `latest_only` topic) rather than the log.
        public var inLatest: Bool
        /// Its rowid there.
        public var rowID: Int64
        /// The start of a scan.
        public static let start = Cursor(inLatest: false, rowID: 0)
    }

    /// Where it is stored.
    public var cursor: Cursor
    /// Its topic.
    public var topic: String
    /// Its partition.
    public var partition: Int32
    /// Its offset.
    public var offset: Int64
    /// Its key bytes (nil: null).
    public var key: [UInt8]?
    /// Its value bytes (nil: null).
    public var value: [UInt8]?
    /// The values of the headers `DecodeLedger.pendingRecords` was asked for, in that order (nil: none).
    public var headerValues: [[UInt8]?] = []
}
