/// Writes Protobuf wire format by hand for the tests (the encoding rules of
/// https://protobuf.dev/programming-guides/encoding/, written out so the expected bytes are
/// visible in each test rather than produced by the code under test).
struct ProtobufTestEncoder {
    var bytes: [UInt8] = []

    static func encode(_ body: (inout ProtobufTestEncoder) -> Void) -> [UInt8] {
        var encoder = ProtobufTestEncoder()
        body(&encoder)
        return encoder.bytes
    }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A varint field (wire type 0).
    mutating func varint(_ field: Int, _ value: UInt64) {
        varint(UInt64(field << 3))
        varint(value)
    }

    /// A length-delimited field (wire type 2).
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        varint(UInt64(field << 3 | 2))
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ body: (inout ProtobufTestEncoder) -> Void) { bytes(field, Self.encode(body)) }

    /// A 64-bit field (wire type 1), little-endian.
    mutating func fixed64(_ field: Int, _ value: UInt64) {
        varint(UInt64(field << 3 | 1))
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
