/// The benchmark's Avro record: a 10-field order (strings, a long, a double, a nullable union,
/// an enum, a small array and a nested record), framed the Confluent way with schema id
/// `schemaID`. Register `schema` as that id in the registry the benchmark runs.
public enum BenchAvroRecord {
    /// The id the records are framed with.
    public static let schemaID: Int32 = 1

    /// The Avro schema of the records.
    public static let schema = """
        {"type":"record","name":"Order","namespace":"spool.bench","fields":[\
        {"name":"order_id","type":"string"},\
        {"name":"customer","type":{"type":"record","name":"Customer","fields":[{"name":"id","type":"long"},{"name":"country","type":"string"}]}},\
        {"name":"amount","type":"double"},\
        {"name":"quantity","type":"long"},\
        {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED","CANCELLED"]}},\
        {"name":"coupon","type":["null","string"],"default":null},\
        {"name":"tags","type":{"type":"array","items":"string"}},\
        {"name":"created_at","type":"long"},\
        {"name":"channel","type":"string"},\
        {"name":"note","type":["null","string"],"default":null}]}
        """

    private static let countries = ["DE", "FR", "US", "JP", "BR", "IN", "NL"]
    private static let channels = ["web", "app", "store"]
    private static let tags = ["gift", "express", "bulk", "promo"]

    /// Record `index`, framed (a zero byte, the big-endian schema id, the Avro binary body).
    static func framed(_ index: Int) -> [UInt8] {
        var out: [UInt8] = [0]
        withUnsafeBytes(of: schemaID.bigEndian) { out.append(contentsOf: $0) }
        let digits = String(index)
        writeString("order-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits, to: &out)
        writeLong(Int64(index % 50_000), to: &out)
        writeString(countries[index % countries.count], to: &out)
        withUnsafeBytes(of: (Double(index % 100_000) / 100).bitPattern.littleEndian) { out.append(contentsOf: $0) }
        writeLong(Int64(1 + index % 9), to: &out)
        writeLong(Int64(index % 4), to: &out)
        if index % 3 == 0 {
            writeLong(1, to: &out)
            writeString("SAVE10", to: &out)
        } else {
            writeLong(0, to: &out)
        }
        let tagCount = index % 3
        if tagCount > 0 {
            writeLong(Int64(tagCount), to: &out)
            for tag in 0..<tagCount { writeString(tags[(index + tag) % tags.count], to: &out) }
        }
        writeLong(0, to: &out)
        writeLong(1_700_000_000_000 + Int64(index), to: &out)
        writeString(channels[index % channels.count], to: &out)
        writeLong(0, to: &out)
        return out
    }

    private static func writeLong(_ value: Int64, to out: inout [UInt8]) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while zigzag >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
            zigzag >>= 7
        }
        out.append(UInt8(zigzag))
    }

    private static func writeString(_ text: String, to out: inout [UInt8]) {
        writeLong(Int64(text.utf8.count), to: &out)
        out.append(contentsOf: text.utf8)
    }
}
