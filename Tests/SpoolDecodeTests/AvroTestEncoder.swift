/// A minimal Avro binary writer for building test payloads by hand (Avro 1.11 encoding).
///
/// Written independently of the decoder under test: zig-zag varints, length-prefixed bytes and
/// strings, little-endian IEEE floats, and array/map blocks (optionally with a negative count
/// followed by the block's byte size).
struct AvroTestEncoder {
    /// The bytes written so far.
    private(set) var data: [UInt8] = []

    init() {}

    /// The zig-zag varint encoding of `value`.
    static func varint(_ value: Int64) -> [UInt8] {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        var out: [UInt8] = []
        while zigzag >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
            zigzag >>= 7
        }
        out.append(UInt8(zigzag))
        return out
    }

    /// Builds a payload with `body`.
    static func encode(_ body: (inout AvroTestEncoder) -> Void) -> [UInt8] {
        var encoder = AvroTestEncoder()
        body(&encoder)
        return encoder.data
    }

    mutating func raw(_ bytes: [UInt8]) { data.append(contentsOf: bytes) }

    mutating func boolean(_ value: Bool) { data.append(value ? 1 : 0) }

    mutating func int(_ value: Int32) { long(Int64(value)) }

    mutating func long(_ value: Int64) { data.append(contentsOf: Self.varint(value)) }

    mutating func float(_ value: Float) { littleEndian(UInt64(value.bitPattern), width: 4) }

    mutating func double(_ value: Double) { littleEndian(value.bitPattern, width: 8) }

    /// `bytes`: the length, then the bytes.
    mutating func bytes(_ value: [UInt8]) {
        long(Int64(value.count))
        data.append(contentsOf: value)
    }

    /// `string`: the UTF-8 length, then the UTF-8 bytes.
    mutating func string(_ value: String) { bytes(Array(value.utf8)) }

    /// `fixed`: just the bytes.
    mutating func fixed(_ value: [UInt8]) { data.append(contentsOf: value) }

    /// A union branch index (a long).
    mutating func branch(_ index: Int) { long(Int64(index)) }

    /// Array or map blocks: one block per element of `blocks`, then the terminating zero count.
    /// With `sized`, each block's count is written negated and followed by its byte size.
    mutating func blocks<Item>(_ blocks: [[Item]], sized: Bool = false, _ write: (inout AvroTestEncoder, Item) -> Void) {
        for block in blocks {
            var body = AvroTestEncoder()
            for item in block { write(&body, item) }
            if sized {
                long(-Int64(block.count))
                long(Int64(body.data.count))
            } else {
                long(Int64(block.count))
            }
            data.append(contentsOf: body.data)
        }
        long(0)
    }

    /// A map in one block: key then value for each entry.
    mutating func map<Value>(_ entries: [(String, Value)], _ write: (inout AvroTestEncoder, Value) -> Void) {
        blocks([entries]) { encoder, entry in
            encoder.string(entry.0)
            write(&encoder, entry.1)
        }
    }

    private mutating func littleEndian(_ bits: UInt64, width: Int) {
        for position in 0..<width { data.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(position)))) }
    }
}
