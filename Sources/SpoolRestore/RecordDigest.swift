import KafkaReplay

/// A 64-bit FNV-1a digest of one record's key, value, headers and (when it can be reproduced)
/// timestamp: equal records give equal digests in every process, and null is told from empty.
enum RecordDigest {
    /// The digest of `record`; its timestamp is left out when `includeTimestamp` is false.
    static func of(_ record: LentRecord, includeTimestamp: Bool) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        func mix(_ value: Int64) {
            var bits = UInt64(bitPattern: value)
            for _ in 0..<8 {
                mix(UInt8(truncatingIfNeeded: bits))
                bits >>= 8
            }
        }
        func mix(_ bytes: UnsafeRawBufferPointer?) {
            guard let bytes else { return mix(Int64(-1)) }
            mix(Int64(bytes.count))
            for byte in bytes { mix(byte) }
        }
        mix(record.key)
        mix(record.value)
        mix(Int64(record.headers.count))
        for header in record.headers {
            mix(header.name)
            mix(header.value)
        }
        mix(includeTimestamp ? record.timestamp : Int64.min)
        return hash
    }

    /// Whether a producer can give a record this timestamp: -1 (none) and 0 (librdkafka reads
    /// it as "now") cannot be reproduced.
    static func isReproducible(_ timestampMs: Int64) -> Bool { timestampMs > 0 }
}
