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

/// Runs `Tests/tools/kafka_tool.py` with the test venv's Python against a broker.
public enum KafkaTool {
    /// Runs `kafka_tool.py --brokers BROKERS ARGS...` and returns its stdout.
    /// `args` is a subcommand and its options, e.g. `["create-topic", "t", "--partitions", "2"]`.
    /// Throws with the tool's stderr if it exits non-zero, and kills it after `timeout` seconds.
    public static func run(_ args: [String], brokers: String, timeout: Double = 60) throws -> String {
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
        process.arguments = [TestVenv.kafkaTool, "--brokers", brokers,
                             "--timeout", "\(min(30, timeout / 3))", "--deadline", "\(timeout)"] + args
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
    public static func createTopic(_ topic: String, partitions: Int, brokers: String) throws {
        _ = try run(["create-topic", topic, "--partitions", "\(partitions)"], brokers: brokers)
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

    private static func decode<T: Decodable>(_ type: T.Type, _ output: String, command: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(output.utf8))
        } catch {
            throw KafkaTestError("kafka_tool.py \(command): unreadable output (\(error)): \(output.prefix(500))")
        }
    }
}
