/// What decoding made of each row of one `MessageBatch`: JSON text for the key and the value,
/// and whether the row is decoded, waiting for its schema, or could not be decoded.
///
/// Built by `SpoolDecode` off the writer's thread and stored as it is by `SpoolStore`, row for
/// row with the batch it belongs to. The JSON of every row lives in one byte buffer.
public struct DecodedColumns: Sendable {
    /// Where a row stands with decoding.
    public enum State: UInt8, Sendable {
        /// Neither key nor value is Confluent-framed: nothing to decode (stored as NULL).
        case none = 0
        /// Every framed part of the row was decoded.
        case decoded = 1
        /// A framed part waits for its schema (registry unreachable, slow or not configured).
        case pending = 2
        /// A framed part does not match its schema, or its schema cannot be used.
        case failed = 3

        /// The text stored in the `decode_state` column (nil for `.none`).
        public var storedText: String? {
            switch self {
            case .none: nil
            case .decoded: "decoded"
            case .pending: "pending"
            case .failed: "failed"
            }
        }
    }

    /// Where one row's JSON sits in `jsonBytes` (`count` -1: NULL).
    public struct Span: Sendable, Equatable {
        /// First byte.
        public var start: Int
        /// Length in bytes, or -1 for NULL.
        public var count: Int
        /// NULL.
        public static let null = Span(start: 0, count: -1)
        /// A span (for builders).
        public init(start: Int, count: Int) {
            self.start = start
            self.count = count
        }
    }

    /// The first failure of a batch for one topic.
    public struct Failure: Sendable, Equatable {
        /// The row it happened on.
        public var row: Int
        /// What went wrong, naming the part (key or value) and the schema id.
        public var message: String
        /// Creates a failure record.
        public init(row: Int, message: String) {
            self.row = row
            self.message = message
        }
    }

    /// Every row's key and value JSON, back to back (UTF-8).
    public private(set) var jsonBytes: [UInt8] = []
    /// Row `r`'s key JSON.
    public private(set) var keySpans: [Span] = []
    /// Row `r`'s value JSON.
    public private(set) var valueSpans: [Span] = []
    /// Row `r`'s state.
    public private(set) var states: [State] = []
    /// The first failure per topic in this batch, by topic name.
    public private(set) var firstFailures: [String: Failure] = [:]

    /// No rows.
    public init() {}

    /// How many rows.
    public var count: Int { states.count }

    /// Appends one row: `body` writes the key's JSON then the value's into the buffer through
    /// the `RowWriter`, and returns the row's state.
    public mutating func appendRow(_ body: (inout RowWriter) -> State) {
        var writer = RowWriter(bytes: jsonBytes)
        jsonBytes = []
        let state = body(&writer)
        jsonBytes = writer.bytes
        keySpans.append(writer.key)
        valueSpans.append(writer.value)
        states.append(state)
    }

    /// Records a failure for `topic` unless the batch already has one for it.
    public mutating func noteFailure(topic: String, row: Int, message: String) {
        if firstFailures[topic] == nil { firstFailures[topic] = Failure(row: row, message: message) }
    }

    /// Calls `body` with row `row`'s key and value JSON bytes (nil for NULL); they must not escape.
    public func withJSON<R>(row: Int, _ body: (UnsafeRawBufferPointer?, UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try jsonBytes.withUnsafeBytes { all in
            func slice(_ span: Span) -> UnsafeRawBufferPointer? {
                span.count < 0 ? nil : UnsafeRawBufferPointer(rebasing: all[span.start..<span.start + span.count])
            }
            return try body(slice(keySpans[row]), slice(valueSpans[row]))
        }
    }

    /// Row `row`'s key and value JSON as text (nil for NULL); for tests and reports.
    public func text(row: Int) -> (key: String?, value: String?) {
        withJSON(row: row) { key, value in
            (key.map { String(decoding: $0, as: UTF8.self) }, value.map { String(decoding: $0, as: UTF8.self) })
        }
    }

    /// Writes one row's JSON into the shared buffer: the key part first, then the value part.
    public struct RowWriter {
        /// The buffer being written.
        public var bytes: [UInt8]
        /// The key's span once `finishKey` ran (NULL until then).
        public private(set) var key = Span.null
        /// The value's span once `finishValue` ran (NULL until then).
        public private(set) var value = Span.null
        private var partStart: Int

        init(bytes: [UInt8]) {
            self.bytes = bytes
            partStart = bytes.count
        }

        /// Starts a part: what is appended to `bytes` from now on belongs to it.
        public mutating func begin() { partStart = bytes.count }

        /// Drops what was appended since `begin()` (a part that failed half way).
        public mutating func discard() { bytes.removeSubrange(partStart...) }

        /// Ends the key part: what was appended since `begin()` is the key's JSON.
        public mutating func finishKey() { key = Span(start: partStart, count: bytes.count - partStart) }

        /// Ends the value part: what was appended since `begin()` is the value's JSON.
        public mutating func finishValue() { value = Span(start: partStart, count: bytes.count - partStart) }
    }
}
