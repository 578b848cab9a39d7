/// One numbered schema migration built into the binary from `migrations/NNNN_name.sql`.
struct EmbeddedMigration: Sendable {
    let version: Int
    let name: String
    let sql: String

    /// A stable fingerprint of the SQL (64-bit FNV-1a, hex), recorded with the migration so a
    /// database made by a build with different SQL for the same version is recognised.
    var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
