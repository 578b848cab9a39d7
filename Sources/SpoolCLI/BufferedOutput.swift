#if canImport(Glibc)
import Glibc
#endif

/// Buffered output to a file descriptor that notices when its reader has gone.
///
/// Callers append to `buffer` and call `flush()` (whenever `isFull`, and at the end of each
/// batch), so records cost no system call each. A reader that closed the pipe
/// (`spool replay ... | head -3`) is not an error: `flush()` returns false and the caller stops
/// quietly. SIGPIPE must be ignored (`signal(SIGPIPE, SIG_IGN)`) so that the write fails with
/// EPIPE instead of ending the process. Not `Sendable`: one owner writes.
public final class BufferedOutput {
    /// A write that failed for a reason other than a closed pipe (a full disk, a bad descriptor).
    public struct WriteFailed: Error, CustomStringConvertible {
        /// The sentence: where, and what the system said.
        public let description: String
    }

    /// The bytes not written yet; append here.
    public var buffer: [UInt8] = []
    /// How full `buffer` gets before `isFull`.
    public let capacity: Int
    private let descriptor: Int32
    private let name: String

    /// Output to `descriptor` (called `name` in errors, e.g. "standard output"), flushed in
    /// chunks of about `capacity` bytes.
    public init(descriptor: Int32, name: String, capacity: Int = 65_536) {
        self.descriptor = descriptor
        self.name = name
        self.capacity = capacity
        buffer.reserveCapacity(capacity + capacity / 2)
    }

    /// Whether `buffer` holds `capacity` bytes or more.
    public var isFull: Bool { buffer.count >= capacity }

    /// Writes and empties `buffer`. Returns false when the reader has gone (EPIPE); throws
    /// `WriteFailed` for any other failure.
    public func flush() throws -> Bool {
        defer { buffer.removeAll(keepingCapacity: true) }
        return try buffer.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                if written >= 0 {
                    done += written
                    continue
                }
                let code = errno
                if code == EINTR { continue }
                if code == EPIPE { return false }
                throw WriteFailed(description: "cannot write to \(name): \(String(cString: strerror(code)))")
            }
            return true
        }
    }

    /// Whether the reader of a pipe has closed it, asked without writing (so a replay that
    /// waits for records notices `| head` finishing).
    public var readerHasGone: Bool {
        var entry = pollfd(fd: descriptor, events: 0, revents: 0)
        guard poll(&entry, 1, 0) == 1 else { return false }
        return entry.revents & Int16(POLLERR) != 0
    }
}
