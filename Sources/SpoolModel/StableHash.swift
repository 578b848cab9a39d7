/// 64-bit FNV-1a: a hash that is the same in every process and build (Swift's `hashValue` is
/// seeded per process). Used for migration checksums and reproducible sample data.
package enum StableHash {
    /// The FNV-1a hash of `bytes`.
    package static func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
