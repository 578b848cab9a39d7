import Foundation

#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// A noida-db server speaking the Kafka protocol on a free loopback port, with its own data directory.
///
/// It is stopped (SIGTERM, then SIGKILL) and its directory removed by `stop()` or when the value is
/// dropped. Brokers left behind by a test process that crashed are cleaned up by the next `init()`.
///
/// `@unchecked Sendable` because `Process` is not `Sendable`: the stored properties never change
/// after `init`, and `stop()` (which signals the process) runs under `lock`, once.
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
        terminateServer(process)
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
    public static func freeLoopbackPort() throws -> Int {
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
