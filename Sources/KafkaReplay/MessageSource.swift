/// Something that happened on a partition, handed over by a `MessageSource`.
///
/// The key, value and header pointers are valid only during the call that receives the event.
enum SourceEvent {
    /// A message of the partition at `partitionIndex` (an index into the partitions given to the
    /// core), with its headers in order (empty when it has none).
    case message(partitionIndex: Int, offset: Int64, timestamp: Int64,
                 key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RawHeader])
    /// The broker reported that the partition has nothing at or after `nextOffset` for now.
    case endOfPartition(partitionIndex: Int, nextOffset: Int64)
}

/// Where the replay core gets messages from: librdkafka in production, a script in tests.
///
/// Pausing stops delivery from a partition; resuming continues right after the last message
/// delivered, so pausing never loses or repeats a message the core saw. Stopping is a pause
/// that is never undone (a bounded backfill needs nothing more from the partition).
protocol MessageSource: AnyObject {
    /// Waits up to `timeoutMs` for one event and hands it to `core` (while its bytes are valid);
    /// returns false if none came.
    func next(timeoutMs: Int32, into core: inout ReplayCore) throws -> Bool
    /// Stops fetching the partitions at these indexes.
    func pause(_ partitionIndexes: [Int]) throws
    /// Resumes fetching the partitions at these indexes after their last delivered message.
    func resume(_ partitionIndexes: [Int]) throws
    /// Stops fetching the partitions at these indexes for good.
    func stop(_ partitionIndexes: [Int]) throws
}
