@_spi(MockCluster) import KafkaReplay
@_spi(MockCluster) import SpoolSampleData
import SpoolCLI
import SpoolDecode
import Testing

/// The benchmark's Protobuf record is real Protobuf of its `.proto`: libprotobuf reads it with
/// the hand-built descriptor and with the `.proto` text parsed by protobuf's own parser, and both
/// give the JSON written out here.
@Suite("BenchProtobufRecord")
struct BenchProtobufRecordTests {
    /// Record 0 (every default left out by the encoder, printed as defaults) and record 7.
    static let expected = [
        0: #"{"order_id":"order-0000000000","customer":{"id":0,"country":"DE"},"amount":0,"quantity":1,"status":"NEW","#
            + #""coupon":"SAVE10","tags":[],"created_at":1700000000000,"channel":"web","note":null}"#,
        7: #"{"order_id":"order-0000000007","customer":{"id":7,"country":"DE"},"amount":0.07,"quantity":8,"status":"CANCELLED","#
            + #""coupon":null,"tags":["promo"],"created_at":1700000000007,"channel":"app","note":null}"#,
        50_005: #"{"order_id":"order-0000050005","customer":{"id":5,"country":"BR"},"amount":500.05,"quantity":2,"status":"PAID","#
            + #""coupon":null,"tags":["express"],"created_at":1700000050005,"channel":"app","note":null}"#,
    ]

    private func decode(_ index: Int, with schema: ProtobufSchema) throws -> String {
        let framed = BenchProtobufRecord.framed(index)
        return try framed.withUnsafeBytes { bytes in
            #expect(ConfluentFrame.schemaID(of: bytes) == BenchProtobufRecord.schemaID)
            let (indexes, message) = try ConfluentFrame.messageIndexes(in: ConfluentFrame.payload(of: bytes))
            #expect(indexes == [0])
            var out: [UInt8] = []
            try schema.decode(message, indexes: indexes, into: &out)
            return String(decoding: out, as: UTF8.self)
        }
    }

    @Test func theDescriptorAndTheTextDecodeTheRecordsAlike() throws {
        let fromDescriptor = try ProtobufSchema(files: [.init(name: "bench.proto", source: .serialized(BenchProtobufRecord.serializedDescriptor))])
        let fromText = try ProtobufSchema(files: [.init(name: "bench.proto", source: .text(BenchProtobufRecord.proto))])
        #expect(try fromDescriptor.messageName(indexes: [0]) == "spool.bench.Order")
        #expect(try fromDescriptor.messageName(indexes: [0, 0]) == "spool.bench.Order.Customer")
        for (index, json) in Self.expected.sorted(by: { $0.key < $1.key }) {
            #expect(try decode(index, with: fromDescriptor) == json, "record \(index) with the descriptor")
            #expect(try decode(index, with: fromText) == json, "record \(index) with the text")
        }
    }

    @Test func recordsAreAboutTheSizeOfTheAvroOnes() {
        let sizes = (0..<1_000).map { BenchProtobufRecord.framed($0).count }
        let mean = Double(sizes.reduce(0, +)) / Double(sizes.count)
        #expect(mean > 60 && mean < 110, "mean framed size \(mean) bytes")
    }
}
