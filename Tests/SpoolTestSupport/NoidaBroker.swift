import Foundation

#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// A failure to start, query or stop a test Kafka broker, or to run `Tests/tools/kafka_tool.py`.
public struct KafkaTestError: Error, CustomStringConvertible, LocalizedError {
    /// What failed, and the output that shows why.
    public let description: String

    /// Creates an error with the given description.
    public init(_ description: String) { self.description = description }

    /// The same text as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }
}

/// Where the repository and its test Python environment (`scripts/test-venv.sh` makes it) are.
public enum TestVenv {
    /// The repository root: the nearest folder holding `Package.swift` and `Tests/tools/kafka_tool.py`, searched upwards from this
    /// source file, then from the test binary, then from the current directory.
    public static let repoRoot: String? = findRepoRoot()

    /// `.build/test-venv` under the repository root.
    public static var path: String { (repoRoot ?? FileManager.default.currentDirectoryPath) + "/.build/test-venv" }

    /// The venv's Python interpreter.
    public static var python: String { path + "/bin/python" }

    /// `Tests/tools/kafka_tool.py`.
    public static var kafkaTool: String { (repoRoot ?? ".") + "/Tests/tools/kafka_tool.py" }

    /// The message used whenever something from the venv is missing.
    static func missing(_ what: String) -> KafkaTestError {
        KafkaTestError("\(what) is missing: run `scripts/test-venv.sh` (make test does it) to create \(path)")
    }

    /// The noida-db server binary that the pip package ships. The package's `bin/noida-db` is a Python
    /// wrapper that starts this binary as a child and does not pass SIGTERM on, so it is not used.
    static func noidaBinary() throws -> String {
        let lib = path + "/lib"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? []
        for version in versions.sorted() where version.hasPrefix("python") {
            let candidate = "\(lib)/\(version)/site-packages/noida_db/noida-db"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw missing("the noida-db binary (\(lib)/python3.*/site-packages/noida_db/noida-db)")
    }

    private static func findRepoRoot(file: String = #filePath) -> String? {
        var starts = [URL(fileURLWithPath: file).deletingLastPathComponent()]
        if let executable = Bundle.main.executableURL { starts.append(executable.deletingLastPathComponent()) }
        starts.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        for start in starts {
            var dir = start.standardizedFileURL
            while dir.path != "/" {
                if FileManager.default.fileExists(atPath: dir.path + "/Package.swift"),
                   FileManager.default.fileExists(atPath: dir.path + "/Tests/tools/kafka_tool.py") { return dir.path }
                dir.deleteLastPathComponent()
            }
        }
        return nil
    }
}

/// A noida-db server speaking the Kafka protocol on a free loopback port, with its own data directory.
///
/// It is stopped (SIGTERM, then SIGKILL) and its directory removed by `stop()` or when the value is
/// dropped. Brokers left behind by a test process that crashed are cleaned up by the next `init()`.
public final class NoidaBroker: @unchecked Sendable {
    /// The broker's port on 127.0.0.1.
    public let port: Int
    /// The temporary folder holding the broker's data directory (`data/`) and its output (`broker.log`).
    public let directory: String
    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    /// `"127.0.0.1:PORT"`, for `bootstrap.servers`.
    public var bootstrap: String { "127.0.0.1:\(port)" }

    /// The last part of the broker's stdout and stderr (they share one file).
    public var logTail: String { Self.tail(ofFile: directory + "/broker.log") }

    /// Starts the broker and waits up to `startTimeout` seconds until it answers a metadata request.
    /// Throws if the test venv is missing, if the process exits, or if it doesn't come up in time.
    public init(startTimeout: Double = 30) throws {
        let binary = try TestVenv.noidaBinary()
        guard FileManager.default.isExecutableFile(atPath: TestVenv.python) else {
            throw TestVenv.missing("the test venv's python (\(TestVenv.python))")
        }
        Self.removeAbandonedBrokers()

        port = try Self.freeLoopbackPort()
        directory = NSTemporaryDirectory() + "spool-noida-" + UUID().uuidString
        let data = directory + "/data", log = directory + "/broker.log"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "\(getpid())".write(toFile: directory + "/owner.pid", atomically: true, encoding: .utf8)

        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["start", "--only", "kafka", "--host", "127.0.0.1", "--kafka-port", "\(port)", "--data-dir", data]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = try Self.newFile(log)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw KafkaTestError("noida-db could not be started (\(binary)): \(error)")
        }
        do {
            try waitUntilReady(timeout: startTimeout)
        } catch {
            let tail = logTail
            stop()
            throw KafkaTestError("\(error)\n--- noida-db output (last lines) ---\n\(tail)")
        }
    }

    deinit { stop() }

    /// Stops the broker (SIGTERM, SIGKILL if it is still running after 5 s) and removes its directory.
    /// Calling it again does nothing.
    public func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        if process.isRunning {
            process.terminate()
            if !Self.waitForExit(process, seconds: 5) {
                kill(process.processIdentifier, SIGKILL)
                _ = Self.waitForExit(process, seconds: 5)
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func waitUntilReady(timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError = "no TCP connection to \(bootstrap) yet"
        while Date() < deadline {
            guard process.isRunning else {
                throw KafkaTestError("noida-db exited with status \(process.terminationStatus) before serving Kafka on \(bootstrap)")
            }
            if Self.canConnect(port: port) {
                let left = deadline.timeIntervalSinceNow
                do {
                    _ = try KafkaTool.run(["metadata"], brokers: bootstrap, timeout: max(5, min(15, left)))
                    return
                } catch {
                    lastError = "a metadata request failed: \(error)"
                }
            }
            usleep(50_000)
        }
        throw KafkaTestError("noida-db did not serve Kafka on \(bootstrap) within \(timeout) s (\(lastError))")
    }

    /// Kills brokers whose test process died without stopping them, and removes their directories.
    private static func removeAbandonedBrokers() {
        let temp = NSTemporaryDirectory()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []
        for entry in entries where entry.hasPrefix("spool-noida-") {
            let dir = temp + entry
            guard let owner = (try? String(contentsOfFile: dir + "/owner.pid", encoding: .utf8)).flatMap({ pid_t($0) }),
                  kill(owner, 0) != 0, errno == ESRCH else { continue }
            if let control = FileManager.default.contents(atPath: dir + "/data/noida.control.json"),
               let json = try? JSONSerialization.jsonObject(with: control) as? [String: Any],
               let pid = (json["pid"] as? NSNumber)?.int32Value,
               let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
               String(decoding: cmdline, as: UTF8.self).contains(dir) {
                kill(pid, SIGKILL)
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func waitForExit(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return !process.isRunning
    }

    /// Creates an empty file and opens it for writing.
    static func newFile(_ path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw KafkaTestError("could not create \(path)")
        }
        return handle
    }

    static func tail(ofFile path: String, maxBytes: Int = 4000) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data.suffix(maxBytes), as: UTF8.self)
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        return address
    }

    /// A port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw KafkaTestError("socket() failed picking a free port: errno \(errno)") }
        defer { close(fd) }
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw KafkaTestError("bind/getsockname on 127.0.0.1:0 failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether a TCP connection to 127.0.0.1:`port` succeeds.
    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

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
    /// A partition's low and high watermark (the high one is the last stable offset unless read
    /// uncommitted). Nested so that it doesn't clash with KafkaReplay's `Watermarks`.
    public struct Watermarks: Equatable, Sendable {
        /// The first offset still in the log.
        public var low: Int64
        /// The offset the next message will get.
        public var high: Int64

        /// Creates a pair of watermarks.
        public init(low: Int64, high: Int64) {
            self.low = low
            self.high = high
        }
    }

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
    /// one transaction that is committed, or aborted when `abort` is true.
    public static func produce(
        _ topic: String, count: Int, brokers: String,
        partition: Int32? = nil, keyPrefix: String? = nil, valuePrefix: String = "value-",
        timestampMs: Int64? = nil, timestampStepMs: Int64 = 0,
        transactionalID: String? = nil, abort: Bool = false
    ) throws -> [ProducedRecord] {
        var args = ["produce", topic, "--count", "\(count)", "--value-prefix", valuePrefix]
        if let partition { args += ["--partition", "\(partition)"] }
        if let keyPrefix { args += ["--key-prefix", keyPrefix] }
        if let timestampMs { args += ["--timestamp-ms", "\(timestampMs)", "--timestamp-step-ms", "\(timestampStepMs)"] }
        if let transactionalID { args += ["--transactional-id", transactionalID] }
        if abort { args.append("--abort") }
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
