import SpoolModel

/// One numbered schema migration built into the binary from `migrations/NNNN_name.sql`.
struct EmbeddedMigration: Sendable {
    let version: Int
    let name: String
    let sql: String

    /// A stable fingerprint of the SQL (64-bit FNV-1a, hex), recorded with the migration so a
    /// database made by a build with different SQL for the same version is recognised.
    var checksum: String {
        let hex = String(StableHash.fnv1a64(sql.utf8), radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
