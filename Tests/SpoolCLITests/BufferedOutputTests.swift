import Foundation
import Testing
@testable import SpoolCLI

/// `BufferedOutput`: bytes arrive whole, and a reader that has gone is noticed, not an error.
@Suite("Buffered output")
struct BufferedOutputTests {
    @Test func bytesArriveWholeAndTheBufferEmpties() throws {
        let pipe = Pipe()
        let output = BufferedOutput(descriptor: pipe.fileHandleForWriting.fileDescriptor, name: "the pipe", capacity: 8)
        output.buffer += Array("0123456789".utf8)
        #expect(output.isFull)
        #expect(try output.flush())
        #expect(output.buffer.isEmpty)
        #expect(!output.readerHasGone)
        try pipe.fileHandleForWriting.close()
        #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "0123456789")
    }

    @Test func aClosedReaderEndsTheOutputQuietly() throws {
        signal(SIGPIPE, SIG_IGN)
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let output = BufferedOutput(descriptor: pipe.fileHandleForWriting.fileDescriptor, name: "the pipe")
        #expect(output.readerHasGone)
        output.buffer += Array("lost".utf8)
        #expect(try output.flush() == false)
    }

    @Test func otherFailuresNameTheOutput() {
        let output = BufferedOutput(descriptor: 987, name: "standard output")
        output.buffer += [1]
        do {
            _ = try output.flush()
            Issue.record("a write to a closed descriptor succeeded")
        } catch {
            #expect("\(error)".hasPrefix("cannot write to standard output: "), "\(error)")
        }
        do {
            _ = try output.flush()
        } catch {
            Issue.record("an empty buffer writes nothing: \(error)")
        }
    }
}
