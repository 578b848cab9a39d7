import Testing

/// The test encoder against byte sequences from the Avro specification, so decoder tests do
/// not rest on an encoder that shares the decoder's mistakes.
@Suite("Test-only Avro encoder")
struct AvroTestEncoderTests {
    @Test func zigZagVarintsFromTheSpecification() {
        #expect(AvroTestEncoder.varint(0) == [0x00])
        #expect(AvroTestEncoder.varint(-1) == [0x01])
        #expect(AvroTestEncoder.varint(1) == [0x02])
        #expect(AvroTestEncoder.varint(-2) == [0x03])
        #expect(AvroTestEncoder.varint(2) == [0x04])
        #expect(AvroTestEncoder.varint(-64) == [0x7F])
        #expect(AvroTestEncoder.varint(64) == [0x80, 0x01])
        #expect(AvroTestEncoder.varint(Int64.max) == [UInt8](repeating: 0xFE, count: 1) + [UInt8](repeating: 0xFF, count: 8) + [0x01])
        #expect(AvroTestEncoder.varint(Int64.min) == [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    @Test func stringsBytesAndFloats() {
        // The specification's example: "foo" is 06 66 6f 6f.
        #expect(AvroTestEncoder.encode { $0.string("foo") } == [0x06, 0x66, 0x6F, 0x6F])
        #expect(AvroTestEncoder.encode { $0.bytes([]) } == [0x00])
        #expect(AvroTestEncoder.encode { $0.float(1) } == [0x00, 0x00, 0x80, 0x3F])
        #expect(AvroTestEncoder.encode { $0.double(1) } == [0, 0, 0, 0, 0, 0, 0xF0, 0x3F])
        #expect(AvroTestEncoder.encode { $0.boolean(true); $0.boolean(false) } == [1, 0])
    }

    @Test func arrayBlocksFromTheSpecification() {
        // The specification's example: the array [3, 27] of longs is 04 06 36 00.
        #expect(AvroTestEncoder.encode { $0.blocks([[Int64(3), 27]]) { $0.long($1) } } == [0x04, 0x06, 0x36, 0x00])
        // The same as one block with a negative count and its byte size (2 bytes).
        #expect(AvroTestEncoder.encode { $0.blocks([[Int64(3), 27]], sized: true) { $0.long($1) } } == [0x03, 0x04, 0x06, 0x36, 0x00])
        #expect(AvroTestEncoder.encode { $0.blocks([] as [[Int64]]) { $0.long($1) } } == [0x00])
    }
}
