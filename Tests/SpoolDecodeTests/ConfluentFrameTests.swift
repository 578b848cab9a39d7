import Testing
@testable import SpoolDecode

@Suite("Confluent wire format framing")
struct ConfluentFrameTests {
    private func schemaID(_ bytes: [UInt8]) -> Int32? { bytes.withUnsafeBytes { ConfluentFrame.schemaID(of: $0) } }
    private func payload(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { Array(ConfluentFrame.payload(of: $0)) } }

    @Test func tooShortIsNotFramed() {
        #expect(schemaID([]) == nil)
        #expect(schemaID([0]) == nil)
        #expect(schemaID([0, 0, 0, 1]) == nil)
    }

    @Test func wrongMagicByteIsNotFramed() {
        #expect(schemaID([1, 0, 0, 0, 1]) == nil)
        #expect(schemaID(Array(#"{"a":1}"#.utf8)) == nil)
        #expect(schemaID([0xFF, 0, 0, 0, 1, 2]) == nil)
    }

    @Test func idIsBigEndian() {
        #expect(schemaID([0, 0, 0, 0, 1]) == 1)
        #expect(schemaID([0, 0x01, 0x02, 0x03, 0x04]) == 0x0102_0304)
        #expect(schemaID([0, 0, 0, 0x01, 0x00, 0xAA]) == 256)
        #expect(schemaID([0, 0x7F, 0xFF, 0xFF, 0xFF]) == Int32.max)
        #expect(schemaID([0, 0xFF, 0xFF, 0xFF, 0xFF]) == -1)
        #expect(schemaID([0, 0x80, 0, 0, 0]) == Int32.min)
    }

    @Test func payloadFollowsTheHeader() {
        #expect(payload([0, 0, 0, 0, 7]) == [])
        #expect(payload([0, 0, 0, 0, 7, 0x02, 0x04]) == [0x02, 0x04])
    }

    @Test func payloadOfASliceStartsAfterItsOwnHeader() {
        let buffer: [UInt8] = [9, 9, 0, 0, 0, 0, 3, 0xAA, 0xBB, 9]
        buffer.withUnsafeBytes { all in
            let slice = UnsafeRawBufferPointer(rebasing: all[2..<9])
            #expect(ConfluentFrame.schemaID(of: slice) == 3)
            #expect(Array(ConfluentFrame.payload(of: slice)) == [0xAA, 0xBB])
        }
    }
}

@Suite("Confluent Protobuf message indexes")
struct MessageIndexTests {
    private func split(_ bytes: [UInt8]) throws -> ([Int64], [UInt8]) {
        try bytes.withUnsafeBytes { raw in
            let (indexes, message) = try ConfluentFrame.messageIndexes(in: raw)
            return (indexes, Array(message))
        }
    }

    @Test func singleZeroMeansTheFirstMessage() throws {
        #expect(try split([0x00, 0x08, 0x01]) == ([0], [0x08, 0x01]))
        #expect(try split([0x00]) == ([0], []))
    }

    @Test func countAndIndexesAreZigzag() throws {
        // [0] written in full: count 1 (zigzag 02), index 0.
        #expect(try split([0x02, 0x00, 0xAA]) == ([0], [0xAA]))
        // [1]: count 1, index 1 (zigzag 02).
        #expect(try split([0x02, 0x02, 0xAA]) == ([1], [0xAA]))
        // [0, 1]: count 2 (04), 0, 1 (02).
        #expect(try split([0x04, 0x00, 0x02]) == ([0, 1], []))
        // Index 64 takes two bytes: zigzag 128 = 80 01.
        #expect(try split([0x02, 0x80, 0x01, 0x07]) == ([64], [0x07]))
    }

    @Test func unsignedIndexesFailClearly() {
        // A producer writing plain varints writes [1] as 01 01: count -1 in zigzag.
        #expect(throws: MessageIndexError.negative(what: "the message-index count", value: -1)) { try split([0x01, 0x01, 0x08]) }
        // [0, 1] as 02 00 01 reads count 1, index 0 (the right message by chance) — but [3] as 01 03 fails.
        #expect(throws: MessageIndexError.negative(what: "the message-index count", value: -1)) { try split([0x01, 0x03]) }
        // An index that is odd in zigzag is negative.
        #expect(throws: MessageIndexError.negative(what: "message index 1", value: -2)) { try split([0x02, 0x03]) }
        #expect(MessageIndexError.negative(what: "message index 1", value: -2).description.contains("unsigned varints"))
    }

    @Test func truncatedAndOverlongVarintsFail() {
        #expect(throws: MessageIndexError.truncated(what: "the message-index count")) { try split([]) }
        #expect(throws: MessageIndexError.truncated(what: "message index 2")) { try split([0x04, 0x00]) }
        #expect(throws: MessageIndexError.truncated(what: "the message-index count")) { try split([0x80]) }
        #expect(throws: MessageIndexError.overlong(what: "the message-index count")) { try split(Array(repeating: 0x80, count: 11)) }
        #expect(throws: MessageIndexError.tooMany(65)) { try split([0x82, 0x01]) }
    }
}

@Suite("Confluent schema-id headers")
struct HeaderSchemaIDTests {
    private func read(_ bytes: [UInt8]) throws -> (SchemaKey, [UInt8]) {
        try bytes.withUnsafeBytes { raw in
            let (key, rest) = try ConfluentFrame.headerSchemaID(raw)
            return (key, Array(rest))
        }
    }

    @Test func versionOneIsAGUIDThenTheMessageIndexes() throws {
        let guid: [UInt8] = [0x0f, 0x8e, 0x1d, 0x2c, 0x3b, 0x4a, 0x59, 0x68, 0x77, 0x86, 0x95, 0xa4, 0xb3, 0xc2, 0xd1, 0xe0]
        let (key, rest) = try read([0x01] + guid + [0x04, 0x00, 0x02])
        #expect(key.description == "schema guid 0f8e1d2c-3b4a-5968-7786-95a4b3c2d1e0")
        #expect(rest == [0x04, 0x00, 0x02])
        let indexes = try rest.withUnsafeBytes { try ConfluentFrame.messageIndexes(in: $0).indexes }
        #expect(indexes == [0, 1])
        #expect(try read([0x01] + guid).1 == [])
    }

    @Test func versionZeroIsAnIdAsInTheFraming() throws {
        let (key, rest) = try read([0x00, 0, 0, 0x01, 0x02, 0x00])
        #expect(key == .id(258))
        #expect(rest == [0x00])
    }

    @Test func anythingElseFailsWithTheReason() {
        #expect(throws: HeaderSchemaIDError(reason: "it is empty")) { try read([]) }
        #expect(throws: HeaderSchemaIDError(reason: "its version byte is 2; Spool reads 1 (a GUID) and 0 (an id)")) { try read([2, 1, 2, 3, 4]) }
        #expect(throws: HeaderSchemaIDError(reason: "version 1 needs a 16-byte GUID after the version byte, it has 3 byte(s)")) {
            try read([1, 1, 2, 3])
        }
        #expect(throws: HeaderSchemaIDError(reason: "version 0 needs a 4-byte schema id after the version byte, it has 2 byte(s)")) {
            try read([0, 1, 2])
        }
    }

    @Test func headerNamesAreConfluents() {
        let names = ["__key_schema_id", "__value_schema_id", "__value_schema_idx", "value_schema_id", ""]
        #expect(names.map { name in Array(name.utf8).withUnsafeBytes { ConfluentFrame.isSchemaIDHeader($0) } } == [true, true, false, false, false])
    }

    @Test func guidTextRoundTrips() {
        let text = "0f8e1d2c-3b4a-5968-7786-95a4b3c2d1e0"
        #expect(SchemaGUID(text: text)?.description == text)
        #expect(SchemaGUID(text: text.uppercased().replacing("-", with: ""))?.description == text)
        #expect(SchemaGUID(text: "0f8e") == nil)
        #expect(SchemaGUID(text: text + "0") == nil)
        #expect(SchemaGUID(text: String(text.dropLast()) + "g") == nil)
    }
}
