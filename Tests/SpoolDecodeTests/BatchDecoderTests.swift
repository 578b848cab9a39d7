import SpoolModel
import Testing
@testable import SpoolDecode

@Suite("Decoding a batch's framed keys and values")
struct BatchDecoderTests {
    private typealias E = AvroTestEncoder
    private static let registry = "http://registry:8081"

    private static let orderSchema = #"{"type":"record","name":"Order","fields":[{"name":"id","type":"int"},{"name":"name","type":"string"}]}"#
    private static let addressSchema = #"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"zip","type":"string"}]}"#
    private static let customerSchema = #"{"type":"record","name":"Customer","fields":[{"name":"name","type":"string"},{"name":"home","type":"com.acme.Address"}]}"#

    private static func schema(_ id: Int32, _ type: String, _ text: String, references: String? = nil) -> StoredSchema {
        StoredSchema(registry: registry, id: id, type: type, text: text, referencesJSON: references, fetchedAt: 1_700_000_000_000)
    }

    private static let stored: [StoredSchema] = [
        schema(1, "AVRO", orderSchema),
        schema(2, "AVRO", addressSchema),
        schema(3, "AVRO", customerSchema, references: #"[{"name":"com.acme.Address","subject":"address-value","version":1,"id":2}]"#),
        schema(4, "JSON", #"{"type":"object"}"#),
        schema(5, "PROTOBUF", #"syntax = "proto3"; message M { int32 a = 1; } message N { message Inner { string s = 1; } }"#),
        schema(6, "AVRO", #""string""#),
    ]

    private func decoder() -> BatchDecoder {
        BatchDecoder(catalog: SchemaCatalog(client: nil, stored: Self.stored, firstWait: .milliseconds(10)))
    }

    private func framed(_ id: Int32, _ payload: [UInt8]) -> [UInt8] {
        [0, UInt8(truncatingIfNeeded: id >> 24), UInt8(truncatingIfNeeded: id >> 16), UInt8(truncatingIfNeeded: id >> 8),
         UInt8(truncatingIfNeeded: id)] + payload
    }

    private func order(_ id: Int32, _ name: String) -> [UInt8] {
        E.encode { e in
            e.int(id)
            e.string(name)
        }
    }

    private func message(_ topic: String, _ offset: Int64, key: [UInt8]? = nil, value: [UInt8]?) -> Message {
        Message(key: key, value: value, topic: topic, partition: 0, offset: offset, timestamp: 1_700_000_000_000 + offset)
    }

    /// Every non-NULL span, in row order, key before value.
    private func allTexts(_ columns: DecodedColumns) -> String {
        (0..<columns.count).map { row in
            let (key, value) = columns.text(row: row)
            return (key ?? "") + (value ?? "")
        }.joined()
    }

    @Test func mixedBatch() throws {
        let customer = E.encode { e in
            e.string("Cy")
            e.string("0150")
        }
        let messages = [
            message("orders", 0, key: Array("k0".utf8), value: Array("plain text".utf8)),
            message("orders", 1, value: framed(1, order(7, "a\"b"))),
            message("orders", 2, value: framed(4, Array(#" {"a": [1, 2.5e3, "é"]} "#.utf8))),
            message("orders", 3, value: framed(4, Array(#"{"a":"#.utf8))),
            message("orders", 4, value: framed(99, [0x02])),
            message("orders", 5, value: framed(5, [0x08, 0x01])),
            message("orders", 6, key: framed(6, E.encode { $0.string("cust-1") }), value: framed(3, customer)),
            message("orders", 7, key: framed(6, E.encode { $0.string("k") }), value: framed(99, [])),
            message("orders", 8, key: framed(1, E.encode { $0.int(1) }), value: framed(1, order(2, "ok"))),
            message("orders", 9, key: framed(6, E.encode { $0.string("t") }), value: nil),
            message("orders", 10, value: [0, 0, 0]),
            message("orders", 11, value: framed(1, [])),
            message("broken", 0, value: framed(1, E.encode { $0.int(1); $0.long(10); $0.raw([0x61, 0x62]) })),
            message("broken", 1, value: framed(1, order(3, "x") + [0x00])),
            message("orders", 12, key: nil, value: nil),
            message("orders", 13, value: framed(1, order(-1, ""))),
        ]
        let columns = decoder().decode(MessageBatch(messages))
        #expect(columns.count == messages.count)

        let expected: [(DecodedColumns.State, String?, String?)] = [
            (.none, nil, nil),
            (.decoded, nil, #"{"id":7,"name":"a\"b"}"#),
            (.decoded, nil, #" {"a": [1, 2.5e3, "é"]} "#),
            (.failed, nil, nil),
            (.pending, nil, nil),
            (.failed, nil, nil),
            (.decoded, #""cust-1""#, #"{"name":"Cy","home":{"zip":"0150"}}"#),
            (.pending, #""k""#, nil),
            (.failed, nil, #"{"id":2,"name":"ok"}"#),
            (.decoded, #""t""#, nil),
            (.none, nil, nil),
            (.failed, nil, nil),
            (.failed, nil, nil),
            (.failed, nil, nil),
            (.none, nil, nil),
            (.decoded, nil, #"{"id":-1,"name":""}"#),
        ]
        for (row, (state, key, value)) in expected.enumerated() {
            #expect(columns.states[row] == state, "row \(row)")
            let text = columns.text(row: row)
            #expect(text.key == key, "row \(row) key")
            #expect(text.value == value, "row \(row) value")
        }
        // Failed parts leave nothing behind in the shared buffer.
        #expect(String(decoding: columns.jsonBytes, as: UTF8.self) == allTexts(columns))

        #expect(columns.firstFailures.count == 2)
        let orders = try #require(columns.firstFailures["orders"])
        #expect(orders.row == 3)
        #expect(orders.message == "value (schema id 4): JSON Schema payload is not valid JSON: invalid JSON at byte 5: unexpected end of input")
        let broken = try #require(columns.firstFailures["broken"])
        #expect(broken.row == 12)
        #expect(broken.message == "value (schema id 1): Avro: payload ends early (10 bytes wanted, 2 left) at byte 2 in field 'name'")
    }

    @Test func protobufRecordsPickTheirMessageByIndexes() throws {
        let columns = decoder().decode(MessageBatch([
            message("p", 0, value: framed(5, [0x00, 0x08, 0x01])),                  // [0] M {a: 1}
            message("p", 1, value: framed(5, [0x04, 0x02, 0x00, 0x0A, 0x01, 0x7A])), // [1, 0] N.Inner {s: "z"}
            message("p", 2, key: framed(5, [0x02, 0x00]), value: framed(5, [0x02, 0x04])), // key [0] {}, value [2]: out of range
            message("p", 3, value: framed(5, [0x01, 0x01, 0x08, 0x01])),            // unsigned indexes
        ]))
        #expect(columns.states == [.decoded, .decoded, .failed, .failed])
        #expect(columns.text(row: 0).value == #"{"a":1}"#)
        #expect(columns.text(row: 1).value == #"{"s":"z"}"#)
        #expect(columns.text(row: 2).key == #"{"a":0}"#)
        #expect(columns.text(row: 2).value == nil)
        #expect(columns.firstFailures["p"] == DecodedColumns.Failure(
            row: 2, message: "value (schema id 5): message index 2 (position 1) is out of range: there are 2 top-level messages in the schema"))
        let unsigned = decoder().decode(MessageBatch([message("q", 0, value: framed(5, [0x01, 0x01, 0x08, 0x01]))]))
        #expect(unsigned.firstFailures["q"]?.message.hasPrefix("value (schema id 5): Protobuf message indexes: the message-index count is negative (-1)") == true)
    }

    @Test func truncatedAvroKeepsOnlyTheFirstFailure() throws {
        let messages = [
            message("t", 0, value: framed(1, order(1, "fine"))),
            message("t", 1, value: framed(1, Array(order(2, "cut").dropLast()))),
            message("t", 2, value: framed(1, E.encode { $0.int(3) })),
            message("t", 3, value: framed(1, order(4, "x") + [9, 9])),
        ]
        let columns = decoder().decode(MessageBatch(messages))
        #expect(columns.states == [.decoded, .failed, .failed, .failed])
        #expect(columns.text(row: 0).value == #"{"id":1,"name":"fine"}"#)
        #expect(columns.text(row: 1).value == nil)
        let failure = try #require(columns.firstFailures["t"])
        #expect(failure.row == 1)
        #expect(failure.message.hasPrefix("value (schema id 1): Avro: payload ends early"))
        #expect(failure.message.hasSuffix("in field 'name'"))
        #expect(columns.firstFailures.count == 1)
    }

    @Test func failingKeyIsNamedAsTheKey() throws {
        let columns = decoder().decode(MessageBatch([message("k", 0, key: framed(6, [0x04, 0xFF, 0xFE]), value: framed(1, order(1, "v")))]))
        #expect(columns.states == [.failed])
        #expect(columns.text(row: 0).key == nil)
        #expect(columns.text(row: 0).value == #"{"id":1,"name":"v"}"#)
        #expect(columns.firstFailures["k"]?.message == "key (schema id 6): Avro: string is not valid UTF-8 at byte 3")
    }

    @Test func unknownIDWithoutAClientIsPending() {
        let columns = decoder().decode(MessageBatch([
            message("u", 0, value: framed(42, [1, 2, 3])),
            message("u", 1, key: framed(42, []), value: Array("raw".utf8)),
        ]))
        #expect(columns.states == [.pending, .pending])
        #expect(columns.text(row: 0).value == nil)
        #expect(columns.text(row: 1).key == nil)
        #expect(columns.firstFailures.isEmpty)
        #expect(columns.jsonBytes.isEmpty)
    }

    @Test func emptyBatch() {
        let columns = decoder().decode(MessageBatch())
        #expect(columns.count == 0)
        #expect(columns.firstFailures.isEmpty)
    }

    @Test func decodeRowCachesLookups() {
        let decoder = decoder()
        var plans: [SchemaKey: SchemaCatalog.Lookup] = [:]
        var columns = DecodedColumns()
        var failure: String?
        let key = framed(6, E.encode { $0.string("a") })
        let value = framed(77, [])
        key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                columns.appendRow { writer in
                    decoder.decodeRow(key: keyBytes, value: valueBytes, into: &writer, plans: &plans, failure: &failure)
                }
            }
        }
        #expect(columns.states == [.pending])
        #expect(columns.text(row: 0).key == #""a""#)
        #expect(failure == nil)
        #expect(Set(plans.keys) == [.id(6), .id(77)])
        if case .pending = plans[.id(77)] {} else { Issue.record("id 77 should be cached as pending") }
        if case .ready(.avro) = plans[.id(6)] {} else { Issue.record("id 6 should be cached as an Avro plan") }
    }

    @Test(arguments: [
        (DecodedColumns.State.none, DecodedColumns.State.none, DecodedColumns.State.none),
        (.none, .decoded, .decoded), (.decoded, .none, .decoded), (.decoded, .decoded, .decoded),
        (.decoded, .failed, .failed), (.failed, .none, .failed),
        (.failed, .pending, .pending), (.pending, .decoded, .pending), (.none, .pending, .pending),
    ])
    func rowStateCombinesParts(key: DecodedColumns.State, value: DecodedColumns.State, row: DecodedColumns.State) {
        #expect(BatchDecoder.combine(key, value) == row)
    }

    @Test func storedStateTexts() {
        #expect(DecodedColumns.State.none.storedText == nil)
        #expect(DecodedColumns.State.decoded.storedText == "decoded")
        #expect(DecodedColumns.State.pending.storedText == "pending")
        #expect(DecodedColumns.State.failed.storedText == "failed")
    }
}
