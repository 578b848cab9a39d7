import SpoolModel

/// One topic's decoding counts, for `status`.
public struct DecodeStatus: Sendable, Equatable {
    /// The topic.
    public var topic: String
    /// Records decoded.
    public var decoded: Int64
    /// Records waiting for their schema (`spool decode` finishes them).
    public var pending: Int64
    /// Records that could not be decoded.
    public var failed: Int64
    /// The first failure's reason.
    public var firstError: String?
}
