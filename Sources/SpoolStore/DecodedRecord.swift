import SpoolModel

/// What decoding made of a pending record.
public struct DecodedRecord: Sendable {
    /// The record.
    public var record: PendingRecord
    /// The key's JSON, nil for NULL.
    public var keyJSON: String?
    /// The value's JSON, nil for NULL.
    public var valueJSON: String?
    /// Its new state (still `.pending` when its schema is still missing).
    public var state: DecodedColumns.State
    /// Why it failed, when it did.
    public var failure: String?

    /// Pairs a record with its decoding.
    public init(record: PendingRecord, keyJSON: String?, valueJSON: String?, state: DecodedColumns.State, failure: String?) {
        self.record = record
        self.keyJSON = keyJSON
        self.valueJSON = valueJSON
        self.state = state
        self.failure = failure
    }
}
