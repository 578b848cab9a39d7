/// Confluent's wire format: a zero magic byte, a 4-byte big-endian schema id, then the payload.
public enum ConfluentFrame {
    /// The schema id of a framed `bytes` (nil when it is not framed: too short or another
    /// first byte).
    public static func schemaID(of bytes: UnsafeRawBufferPointer) -> Int32? {
        guard bytes.count >= 5, bytes[0] == 0 else { return nil }
        return Int32(bitPattern: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
    }

    /// The payload after the 5-byte header of a framed `bytes`.
    public static func payload(of bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[5...])
    }
}
