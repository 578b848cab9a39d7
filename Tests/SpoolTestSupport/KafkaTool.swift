import Foundation
import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// One message that `kafka_tool.py produce` delivered, as its delivery report gave it.
public struct ProducedRecord: Codable, Equatable, Sendable {
    /// The partition it was written to.
    public var partition: Int32
    /// Its offset in that partition.
    public var offset: Int64
    /// Its key, or nil for no key.
    public var key: String?
    /// Its value, or nil for a null value (tombstone).
    public var value: String?
    /// Its timestamp in milliseconds since the epoch.
    public var timestamp: Int64

    /// Creates a record (for comparisons in tests).
    public init(partition: Int32, offset: Int64, key: String?, value: String?, timestamp: Int64) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
    }
}

/// One record that `kafka_tool.py produce-sr` delivered, in the order of its records file.
public struct SRProducedRecord: Codable, Equatable, Sendable {
    /// Its line in the records file (blank lines not counted), from 0.
    public var index: Int
    /// The partition it was written to.
    public var partition: Int32
    /// Its offset in that partition.
    public var offset: Int64
    /// Its timestamp in milliseconds since the epoch.
    public var timestamp: Int64
    /// The key's bytes as sent, in lowercase hex, or nil for no key.
    public var keyHex: String?
    /// The value's bytes as sent (Confluent framing included), in lowercase hex, or nil for a null value.
    public var valueHex: String?
    /// The schema id in bytes 1-4 of a key serialized with a key schema, or nil.
    public var keySchemaID: Int32?
    /// The schema id in bytes 1-4 of the value when it starts with the magic byte 0, or nil.
    public var valueSchemaID: Int32?

    /// The key's bytes, or nil for no key.
    public var keyBytes: [UInt8]? { keyHex.map(Self.bytes(fromHex:)) }
    /// The value's bytes, or nil for a null value.
    public var valueBytes: [UInt8]? { valueHex.map(Self.bytes(fromHex:)) }

    enum CodingKeys: String, CodingKey {
        case index, partition, offset, timestamp
        case keyHex = "key_hex", valueHex = "value_hex"
        case keySchemaID = "key_schema_id", valueSchemaID = "value_schema_id"
    }

    private static func bytes(fromHex hex: String) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let nibble: UInt8 = c >= 97 ? c - 87 : (c >= 65 ? c - 55 : c - 48)
            if let h = high { result.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        return result
    }
}

/// The value format of `kafka_tool.py produce-sr`: which confluent-kafka serializer writes the records.
public enum SRFormat: String, Sendable {
    /// `AvroSerializer`: Avro binary after the 5-byte Confluent header.
    case avro
    /// `JSONSerializer` (JSON Schema): JSON text after the 5-byte Confluent header.
    case json
    /// `ProtobufSerializer`: message indexes then Protobuf binary after the 5-byte header; the
    /// schema is a `.proto` compiled at test time, the record values are the message as JSON.
    case protobuf
}

/// Runs `Tests/tools/kafka_tool.py` with the test venv's Python against a broker.
/// One partition as `KafkaTool.digest` reads it.
public struct PartitionDigest: Codable, Equatable, Sendable {
    /// Committed records.
    public var count: Int
    /// SHA-256 (hex) over the records' key, value, headers and timestamp, in order.
    public var sha256: String
}

public enum KafkaTool {
    /// Runs `kafka_tool.py --brokers BROKERS ARGS...` and returns its stdout.
    /// `args` is a subcommand and its options, e.g. `["create-topic", "t", "--partitions", "2"]`;
    /// `brokers` may be nil only for `register-schema`, which talks to the Schema Registry alone.
    /// Throws with the tool's stderr if it exits non-zero, and kills it after `timeout` seconds.
    public static func run(_ args: [String], brokers: String?, timeout: Double = 60) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: TestVenv.python) else {
            throw TestVenv.missing("the test venv's python (\(TestVenv.python))")
        }
        let command = "kafka_tool.py " + args.joined(separator: " ")
        let scratch = NSTemporaryDirectory() + "spool-kafka-tool-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr"

        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestVenv.python)
        // Each broker call gets a third of the time, so a failing call reports its own error; the tool
        // gives up by itself at the deadline, and the kill below is the backstop.
        process.arguments = [TestVenv.kafkaTool] + (brokers.map { ["--brokers", $0] } ?? [])
            + ["--timeout", "\(min(30, timeout / 3))", "--deadline", "\(timeout)"] + args
        let out = try NoidaBroker.newFile(outPath)
        let err = try NoidaBroker.newFile(errPath)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            try? out.close(); try? err.close()
            throw KafkaTestError("\(command): could not start \(TestVenv.python): \(error)")
        }
        try? out.close(); try? err.close()

        if exited.wait(timeout: .now() + timeout + 5) == .timedOut {
            process.terminate()
            if exited.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = exited.wait(timeout: .now() + 5)
            }
            throw KafkaTestError("\(command): killed after \(timeout) s\n\(NoidaBroker.tail(ofFile: errPath))")
        }
        let stdout = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw KafkaTestError("\(command) failed (status \(process.terminationStatus)): "
                + NoidaBroker.tail(ofFile: errPath).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return stdout
    }

    /// Creates `topic` with `partitions` partitions and waits until metadata shows them.
    /// `configs` are topic settings such as `retention.ms=60000`.
    public static func createTopic(_ topic: String, partitions: Int, brokers: String, configs: [String] = []) throws {
        _ = try run(["create-topic", topic, "--partitions", "\(partitions)"] + configs.flatMap { ["--config", $0] }, brokers: brokers)
    }

    /// Produces `count` records round-robin over `topic`'s partitions: null, empty and binary keys
    /// and values, duplicate, null and empty headers on every third record; record `i` has
    /// timestamp `timestampMs + i` (by default the last one is now).
    public static func produceMixed(_ topic: String, count: Int, brokers: String, timestampMs: Int64? = nil) throws {
        _ = try run(["produce-mixed", topic, "--count", "\(count)"] + (timestampMs.map { ["--timestamp-ms", "\($0)"] } ?? []),
                    brokers: brokers, timeout: 300)
    }

    /// What a `read_committed` consumer reads per partition: the count, and a SHA-256 over each
    /// record's key, value, headers and timestamp in order (offsets left out, so a restored topic
    /// equals its source).
    public static func digest(_ topic: String, brokers: String) throws -> [Int32: PartitionDigest] {
        let output = try run(["digest", topic], brokers: brokers, timeout: 300)
        let raw = try decode([String: PartitionDigest].self, output, command: "digest")
        return Dictionary(uniqueKeysWithValues: try raw.map { key, digest in
            guard let p = Int32(key) else { throw KafkaTestError("digest: unexpected output \(output)") }
            return (p, digest)
        })
    }

    /// Grows `topic` to `total` partitions (CreatePartitions) and waits until metadata shows them.
    public static func addPartitions(_ topic: String, total: Int, brokers: String) throws {
        _ = try run(["add-partitions", topic, "--total", "\(total)"], brokers: brokers)
    }

    /// Produces `count` messages to `topic` and returns their delivery reports, sorted by partition and
    /// offset. Message `i` has value `valuePrefix + i` and, with a `keyPrefix`, key `keyPrefix + i`.
    /// Without `partition` the messages go round-robin over all partitions. With `timestampMs` message
    /// `i` gets timestamp `timestampMs + i * timestampStepMs`. With `transactionalID` all of them go in
    /// one transaction that is committed, or aborted when `abort` is true. `headers` go on every
    /// message, in order: `NAME=TEXT`, `NAME:hex=HEX` or `NAME:null`.
    public static func produce(
        _ topic: String, count: Int, brokers: String,
        partition: Int32? = nil, keyPrefix: String? = nil, valuePrefix: String = "value-",
        timestampMs: Int64? = nil, timestampStepMs: Int64 = 0,
        transactionalID: String? = nil, abort: Bool = false, headers: [String] = []
    ) throws -> [ProducedRecord] {
        var args = ["produce", topic, "--count", "\(count)", "--value-prefix", valuePrefix]
        if let partition { args += ["--partition", "\(partition)"] }
        if let keyPrefix { args += ["--key-prefix", keyPrefix] }
        if let timestampMs { args += ["--timestamp-ms", "\(timestampMs)", "--timestamp-step-ms", "\(timestampStepMs)"] }
        if let transactionalID { args += ["--transactional-id", transactionalID] }
        if abort { args.append("--abort") }
        for header in headers { args += ["--header", header] }
        return try decode([ProducedRecord].self, try run(args, brokers: brokers), command: "produce")
    }

    /// Each partition's watermarks. The high one is the last stable offset unless `readUncommitted`.
    public static func watermarks(_ topic: String, brokers: String, readUncommitted: Bool = false) throws -> [Int32: Watermarks] {
        let output = try run(["watermarks", topic] + (readUncommitted ? ["--read-uncommitted"] : []), brokers: brokers)
        let raw = try decode([String: [Int64]].self, output, command: "watermarks")
        var result: [Int32: Watermarks] = [:]
        for (partition, pair) in raw {
            guard let p = Int32(partition), pair.count == 2 else { throw KafkaTestError("watermarks: unexpected output \(output)") }
            result[p] = Watermarks(low: pair[0], high: pair[1])
        }
        return result
    }

    /// Each partition's first offset whose timestamp is at least `timestampMs`, or -1 if there is none.
    public static func offsetsForTimes(_ topic: String, timestampMs: Int64, brokers: String) throws -> [Int32: Int64] {
        let output = try run(["offsets-for-times", topic, "--timestamp-ms", "\(timestampMs)"], brokers: brokers)
        let raw = try decode([String: Int64].self, output, command: "offsets-for-times")
        return Dictionary(uniqueKeysWithValues: try raw.map { key, offset in
            guard let p = Int32(key) else { throw KafkaTestError("offsets-for-times: unexpected output \(output)") }
            return (p, offset)
        })
    }

    /// Each topic's partition count, internal topics included.
    public static func topics(brokers: String) throws -> [String: Int] {
        struct Metadata: Decodable { var topics: [String: Int] }
        return try decode(Metadata.self, try run(["metadata"], brokers: brokers), command: "metadata").topics
    }

    /// Produces the records of `records` (JSON lines, see below) to `topic`, serialized by confluent-kafka's
    /// own `AvroSerializer` or `JSONSerializer` (`format`) against the Schema Registry at `registry`, with
    /// auto-registration under `TOPIC-value` (and `TOPIC-key` for `keySchema`). Returns one delivery
    /// report per record, in the order of `records`.
    ///
    /// Each element of `records` is one JSON object: `{"key": K, "value": V, "partition": P?,
    /// "timestamp": MS?, "raw_value_hex": HEX?, "raw_key_hex": HEX?}`. Without `keySchema` keys are
    /// UTF-8 strings or null. `raw_value_hex`/`raw_key_hex` send those bytes unserialized. Values for
    /// Avro logical types use the tags that `kafka_tool.py`'s docstring lists, e.g.
    /// `{"$decimal": "12.34"}`, `{"$timestamp_millis": "2024-01-31T12:34:56.789Z"}`, `{"$bytes": BASE64}`.
    ///
    /// - Parameters:
    ///   - schema: the value schema's text; `references` are its references as `NAME=SUBJECT:VERSION`.
    ///   - keySchema: the key schema's text and format, or nil for string keys; `keyReferences` as above.
    ///   - partition: for records without a `"partition"` (default: round-robin over all partitions).
    ///   - message: for `.protobuf`, the message of `schema` (a `.proto`) to serialize, `Outer.Inner`
    ///     for a nested one; `imports` are the files it imports (import path to text), which the
    ///     serializer registers as references under their own subjects.
    ///   - headers: on every message, as for `produce`: `NAME=TEXT`, `NAME:hex=HEX` or `NAME:null`.
    ///   - schemaIDInHeader: the serializers put the schema's GUID in a `__key_schema_id` /
    ///     `__value_schema_id` header (confluent-kafka's `header_schema_id_serializer`, Confluent
    ///     Platform 8) instead of framing the payload, which is then the bare Avro, JSON or Protobuf.
    ///   - user, password, bearerToken: the registry credentials (`SchemaRegistryServer` has them).
    public static func produceSR(
        _ topic: String, brokers: String, registry: String, format: SRFormat, schema: String, records: [String],
        references: [String] = [], keySchema: (text: String, format: SRFormat)? = nil, keyReferences: [String] = [],
        partition: Int32? = nil, headers: [String] = [], message: String? = nil, imports: [String: String] = [:],
        schemaIDInHeader: Bool = false, user: String? = nil, password: String? = nil, bearerToken: String? = nil, timeout: Double = 60
    ) throws -> [SRProducedRecord] {
        try withScratchFiles { scratch in
            // A .proto is compiled with the files next to it: `imports` (import path -> text).
            let schemaFile = scratch + (format == .protobuf ? "/value.proto" : "/value-schema"), recordsFile = scratch + "/records.jsonl"
            try schema.write(toFile: schemaFile, atomically: true, encoding: .utf8)
            for (name, text) in imports { try text.write(toFile: scratch + "/" + name, atomically: true, encoding: .utf8) }
            try records.map { $0 + "\n" }.joined().write(toFile: recordsFile, atomically: true, encoding: .utf8)
            var args = ["produce-sr", topic, "--format", format.rawValue, "--schema-file", schemaFile,
                        "--records-file", recordsFile]
            args += registryArguments(registry, user: user, password: password, bearerToken: bearerToken)
            for reference in references { args += ["--reference", reference] }
            if let keySchema {
                let keyFile = scratch + "/key-schema"
                try keySchema.text.write(toFile: keyFile, atomically: true, encoding: .utf8)
                args += ["--key-schema-file", keyFile, "--key-format", keySchema.format.rawValue]
            }
            for reference in keyReferences { args += ["--key-reference", reference] }
            if let partition { args += ["--partition", "\(partition)"] }
            for header in headers { args += ["--header", header] }
            if let message { args += ["--message", message] }
            if schemaIDInHeader { args.append("--schema-id-in-header") }
            return try decode([SRProducedRecord].self, try run(args, brokers: brokers, timeout: timeout), command: "produce-sr")
        }
    }

    /// Registers `schema` (of `schemaType`: `AVRO`, `JSON` or `PROTOBUF`) under `subject` at the Schema
    /// Registry `registry` and returns its id and version, e.g. to register a schema that another one
    /// references (`references` as `NAME=SUBJECT:VERSION`). Needs no broker.
    public static func registerSchema(
        _ subject: String, schema: String, schemaType: String = "AVRO", references: [String] = [],
        registry: String, user: String? = nil, password: String? = nil, bearerToken: String? = nil
    ) throws -> (id: Int32, version: Int?) {
        struct Registered: Decodable { var id: Int32; var version: Int? }
        let registered = try withScratchFiles { scratch in
            let schemaFile = scratch + "/schema"
            try schema.write(toFile: schemaFile, atomically: true, encoding: .utf8)
            var args = ["register-schema", subject, "--schema-file", schemaFile, "--schema-type", schemaType]
            args += registryArguments(registry, user: user, password: password, bearerToken: bearerToken)
            for reference in references { args += ["--reference", reference] }
            return try decode(Registered.self, try run(args, brokers: nil), command: "register-schema")
        }
        return (registered.id, registered.version)
    }

    private static func registryArguments(_ registry: String, user: String?, password: String?, bearerToken: String?) -> [String] {
        var args = ["--registry", registry]
        if let user { args += ["--registry-user", user] }
        if let password { args += ["--registry-password", password] }
        if let bearerToken { args += ["--registry-bearer-token", bearerToken] }
        return args
    }

    private static func withScratchFiles<T>(_ body: (String) throws -> T) throws -> T {
        let scratch = NSTemporaryDirectory() + "spool-kafka-tool-input-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        return try body(scratch)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ output: String, command: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(output.utf8))
        } catch {
            throw KafkaTestError("kafka_tool.py \(command): unreadable output (\(error)): \(output.prefix(500))")
        }
    }
}
