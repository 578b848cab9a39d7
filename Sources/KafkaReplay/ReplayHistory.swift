/// Records of partitions kept outside Kafka (a Spool capture), read before Kafka: the seam that
/// lets `ConsumerManager` replay history beyond Kafka's retention without learning where it is
/// kept. `SpoolReplay` implements it over SQLite; this module never sees the file.
///
/// Per partition the history holds one contiguous run of offsets, `first..<next`, as of when the
/// replay opened (a capture still being written keeps growing; the replay does not follow it:
/// Kafka serves every offset from `next` on).
package protocol ReplayHistory: AnyObject {
    /// The runs of offsets held for the partitions of `topic`, by partition number; partitions
    /// not held are missing.
    func holdings(topic: String) throws -> [Int32: ReplayRange]

    /// The first offset of `partition` (in offset order) whose timestamp is at or after
    /// `timestampMs` — Kafka's rule — among the offsets held; `nil` when none is.
    func firstOffset(of partition: TopicPartition, atOrAfter timestampMs: Int64) throws -> Int64?

    /// Hands `body` the held records of `partition` with offsets from `start` up to (not
    /// including) `end`, in offset order, at most `limit`; returns how many it handed. The
    /// bytes of a record are valid only during the call of `body` that receives them.
    func withRecords(of partition: TopicPartition, from start: Int64, before end: Int64, limit: Int,
                     _ body: (LentRecord) -> Void) throws -> Int
}

/// One record of a `ReplayHistory`, its bytes lent for one call.
package struct LentRecord {
    /// The record's offset.
    package var offset: Int64
    /// Its timestamp (ms since the epoch; -1 when it has none).
    package var timestamp: Int64
    /// The key bytes, `nil` for a null key.
    package var key: UnsafeRawBufferPointer?
    /// The value bytes, `nil` for a null value (a tombstone).
    package var value: UnsafeRawBufferPointer?
    /// The headers in order, duplicates included.
    package var headers: [RawHeader]

    /// Names the lent bytes of one record.
    package init(offset: Int64, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RawHeader]) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}
