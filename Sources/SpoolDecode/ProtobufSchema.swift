import CProtobufShim

/// A Protobuf schema ready to decode records: its files (the schema, its references and the
/// well-known imports) built into a descriptor pool of the real Protobuf runtime (libprotobuf).
///
/// Owns the pool: it is freed when the last reference goes. Immutable once built, so records
/// decode with it on any thread.
public final class ProtobufSchema: @unchecked Sendable {
    // @unchecked Sendable: `handle` is set once and never changed; libprotobuf's DescriptorPool
    // and DynamicMessageFactory are safe to read from several threads, and the shim parses each
    // record into a message of its own.

    /// How deep messages may nest in a record (a recursive schema could nest without end).
    public static let maxDepth = 64

    /// One file of a schema.
    public struct File: Sendable, Equatable {
        /// How the file is written.
        public enum Source: Sendable, Equatable {
            /// A serialized `google.protobuf.FileDescriptorProto` (the registry's `format=serialized`).
            case serialized([UInt8])
            /// `.proto` source text.
            case text(String)
        }

        /// Its import path: the name other files import it by (a reference's `name`).
        public var name: String
        /// Its contents.
        public var source: Source

        /// A file named `name` holding `source`.
        public init(name: String, source: Source) {
            self.name = name
            self.source = source
        }
    }

    private let handle: OpaquePointer

    /// Builds the schema whose own file is the last of `files` (the others are its references,
    /// in any order). Throws the reason when a file does not parse, an import is neither given
    /// nor well known, or the files do not build together.
    public init(files: [File]) throws(ProtobufSchemaError) {
        guard !files.isEmpty else { throw ProtobufSchemaError(reason: "no file given") }
        var reason: [UInt8] = []
        let built: OpaquePointer? = Self.withCFiles(files) { cFiles in
            withUnsafeMutablePointer(to: &reason) { sink in
                spool_protobuf_schema_new(cFiles.baseAddress, cFiles.count, sink, appendToBytes)
            }
        }
        guard let built else { throw ProtobufSchemaError(reason: String(decoding: reason, as: UTF8.self)) }
        handle = built
    }

    deinit { spool_protobuf_schema_free(handle) }

    /// The full name of the message `indexes` point to (Confluent's message indexes: the first
    /// counts the file's top-level messages, each next one the nested types of the previous).
    public func messageName(indexes: [Int64]) throws(ProtobufDecodeError) -> String {
        var text: [UInt8] = []
        let found = indexes.withUnsafeBufferPointer { cIndexes in
            withUnsafeMutablePointer(to: &text) { sink in
                spool_protobuf_message_name(handle, cIndexes.baseAddress, cIndexes.count, sink, appendToBytes)
            }
        }
        guard found == 1 else { throw ProtobufDecodeError(reason: String(decoding: text, as: UTF8.self)) }
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends the JSON of the message `indexes` point to, parsed from `payload`, to `out`.
    /// On failure (an index out of range, bytes that are not such a message, nesting deeper
    /// than `maxDepth`) `out` is left as it was and the reason thrown.
    public func decode(_ payload: UnsafeRawBufferPointer, indexes: [Int64], into out: inout [UInt8]) throws(ProtobufDecodeError) {
        let start = out.count
        let decoded = indexes.withUnsafeBufferPointer { cIndexes in
            withUnsafeMutablePointer(to: &out) { sink in
                spool_protobuf_decode(handle, cIndexes.baseAddress, cIndexes.count, payload.baseAddress, payload.count,
                                      Int32(Self.maxDepth), sink, appendToBytes)
            }
        }
        guard decoded == 1 else {
            let reason = String(decoding: out[start...], as: UTF8.self)
            out.removeSubrange(start...)
            throw ProtobufDecodeError(reason: reason)
        }
    }

    /// Calls `body` with C views of `files`; the pointers are valid only inside `body`.
    private static func withCFiles<R>(_ files: [File], _ body: (UnsafeBufferPointer<SpoolProtobufFile>) -> R) -> R {
        // Copies the names and contents into one buffer that outlives every C view.
        var storage: [UInt8] = []
        var spans: [(name: Int, bytes: Int, count: Int, kind: Int32)] = []
        for file in files {
            let nameStart = storage.count
            storage.append(contentsOf: file.name.utf8)
            storage.append(0)
            let bytesStart = storage.count
            switch file.source {
            case .serialized(let bytes): storage.append(contentsOf: bytes)
            case .text(let text): storage.append(contentsOf: text.utf8)
            }
            let kind: Int32 = if case .serialized = file.source { Int32(SPOOL_PROTOBUF_SERIALIZED) } else { Int32(SPOOL_PROTOBUF_TEXT) }
            spans.append((nameStart, bytesStart, storage.count - bytesStart, kind))
        }
        return storage.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            let cFiles = spans.map { span in
                SpoolProtobufFile(name: (base + span.name).assumingMemoryBound(to: CChar.self), bytes: base + span.bytes,
                                  count: span.count, kind: span.kind)
            }
            return cFiles.withUnsafeBufferPointer(body)
        }
    }
}

/// The shim's sink: appends the text it is given to the `[UInt8]` that `context` points to.
private func appendToBytes(_ context: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<CChar>?, _ count: Int) {
    guard let context, let bytes, count > 0 else { return }
    let buffer = UnsafeRawBufferPointer(start: bytes, count: count)
    context.assumingMemoryBound(to: [UInt8].self).pointee.append(contentsOf: buffer)
}

/// Why a Protobuf schema could not be built (the text does not parse, an import is missing).
public struct ProtobufSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The runtime's reason, naming the file.
    public var reason: String
    /// A sentence for logs and `decode_stats`.
    public var description: String { "Protobuf schema does not build: \(reason)" }
}

/// Why a record could not be decoded with a Protobuf schema.
public struct ProtobufDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the record, naming the message type or the index.
    public var reason: String
    /// The reason itself.
    public var description: String { reason }
}
