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
