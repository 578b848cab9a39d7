import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Confluent-compatible Schema Registry (`Tests/tools/schema_registry.py`) on a loopback port.
///
/// The script needs only the Python standard library, so it runs with the test venv's Python or,
/// when the venv is missing, with `python3` from `PATH`. Its state is in memory unless `stateFile`
/// is given; with a state file a registry started again (`restart()`, or a new one on the same
/// `port`) keeps the schemas and their ids. It is stopped (SIGTERM, then SIGKILL) and its folder
/// removed by `stop()` or when the value is dropped; registries left behind by a test process that
/// crashed are killed by the next `init`.
///
/// `@unchecked Sendable` because `Process` is not `Sendable`: the stored properties never change
/// after `init`, and `stop()` (which signals the process) runs under `lock`, once.
public final class SchemaRegistryServer: @unchecked Sendable {
    /// Test-only ways for the registry to misbehave (the script's misbehaviour options).
    public struct Misbehaviour: Sendable {
        /// Answer every request with 302 to this URL + the request's path; "self" loops.
        public var redirectTo: String?
        /// Append `METHOD PATH AUTHORIZATION` (or `-`) to this file for every request.
        public var recordAuthorization: String?
        /// Answer 404 to GET of exactly this path (e.g. `/subjects`).
        public var missingPath: String?
        /// Answer `GET /schemas/ids/{id}` without Content-Length, closing the connection.
        public var noContentLength = false
        /// Ignore `?format=serialized`: Protobuf schemas only as text (a registry before 5.5).
        public var noSerialized = false

        /// The given misbehaviours, none by default.
        public init(redirectTo: String? = nil, recordAuthorization: String? = nil, missingPath: String? = nil,
                    noContentLength: Bool = false, noSerialized: Bool = false) {
            self.redirectTo = redirectTo
            self.recordAuthorization = recordAuthorization
            self.missingPath = missingPath
            self.noContentLength = noContentLength
            self.noSerialized = noSerialized
        }

        /// The script's options for these misbehaviours.
        var arguments: [String] {
            var arguments: [String] = []
            if let redirectTo { arguments += ["--redirect-to", redirectTo] }
            if let recordAuthorization { arguments += ["--record-auth", recordAuthorization] }
            if let missingPath { arguments += ["--missing-path", missingPath] }
            if noContentLength { arguments.append("--no-content-length") }
            if noSerialized { arguments.append("--no-serialized") }
            return arguments
        }
    }

    /// The registry's port on 127.0.0.1.
    public let port: Int
    /// The HTTP Basic user every request must give, or nil for none.
    public let user: String?
    /// The HTTP Basic password that goes with `user`.
    public let password: String?
    /// A token also accepted as `Authorization: Bearer TOKEN`, or nil.
    public let bearerToken: String?
    /// Milliseconds the registry sleeps before answering `GET /schemas/ids/...`.
    public let delayMs: Int
    /// The JSON file the registry loads its state from at start and saves it to after every change, or nil.
    public let stateFile: String?
    /// How it misbehaves, if at all.
    public let misbehaviour: Misbehaviour
    /// The temporary folder holding the ready file and the registry's output (`registry.log`).
    public let directory: String
    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    /// `"http://127.0.0.1:PORT"`, for a client's registry URL.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// The registry options for `kafka_tool.py`'s `produce-sr` and `register-schema`: `--registry URL`
    /// and the credentials this registry wants.
    public var toolArguments: [String] {
        var args = ["--registry", url]
        if let user, let password { args += ["--registry-user", user, "--registry-password", password] }
        else if let bearerToken { args += ["--registry-bearer-token", bearerToken] }
        return args
    }

    /// The last part of the registry's stderr (one line per request) and stdout.
    public var logTail: String { NoidaBroker.tail(ofFile: directory + "/registry.log") }

    /// Starts the registry and waits up to `startTimeout` seconds until it has written its ready file.
    ///
    /// - Parameters:
    ///   - port: the port to listen on, e.g. a stopped registry's to start it again; nil picks a free one.
    ///   - user: with `password`, every request needs HTTP Basic auth with these credentials.
    ///   - password: the password for `user`.
    ///   - bearerToken: every request needs `Authorization: Bearer TOKEN` (or, with `user`, either).
    ///   - delayMs: milliseconds to sleep before answering `GET /schemas/ids/...` (a slow registry).
    ///   - stateFile: a JSON file to load the state from (if it exists) and save it to; the caller owns it.
    ///   - misbehaviour: test-only misbehaviours (redirects, missing endpoints, ...).
    ///   - startTimeout: seconds to wait for the registry to listen.
    /// - Throws: `KafkaTestError` if no Python can be found, the script exits, or it is not ready in
    ///   time; the error includes the end of the registry's output.
    public init(port: Int? = nil, user: String? = nil, password: String? = nil, bearerToken: String? = nil,
                delayMs: Int = 0, stateFile: String? = nil, misbehaviour: Misbehaviour = Misbehaviour(),
                startTimeout: Double = 15) throws {
        guard (user == nil) == (password == nil) else {
            throw KafkaTestError("SchemaRegistryServer: user and password go together")
        }
        let script = TestVenv.schemaRegistryScript
        guard FileManager.default.fileExists(atPath: script) else {
            throw KafkaTestError("SchemaRegistryServer: \(script) is missing")
        }
        Self.removeAbandonedRegistries()

        self.user = user
        self.password = password
        self.bearerToken = bearerToken
        self.delayMs = delayMs
        self.stateFile = stateFile
        self.misbehaviour = misbehaviour
        directory = NSTemporaryDirectory() + "spool-schema-registry-" + UUID().uuidString
        let readyFile = directory + "/ready.json", log = directory + "/registry.log"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "\(getpid())".write(toFile: directory + "/owner.pid", atomically: true, encoding: .utf8)

        var arguments = [script, "--port", "\(port ?? 0)", "--ready-file", readyFile]
        if let user, let password { arguments += ["--user", user, "--password", password] }
        if let bearerToken { arguments += ["--bearer-token", bearerToken] }
        if delayMs > 0 { arguments += ["--delay-ms", "\(delayMs)"] }
        if let stateFile { arguments += ["--state-file", stateFile] }
        arguments += misbehaviour.arguments

        process = Process()
        if FileManager.default.isExecutableFile(atPath: TestVenv.python) {
            process.executableURL = URL(fileURLWithPath: TestVenv.python)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3"] + arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = try NoidaBroker.newFile(log)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw KafkaTestError("the schema registry could not be started (\(process.executableURL?.path ?? "?")): \(error)")
        }
        try? "\(process.processIdentifier)".write(toFile: directory + "/registry.pid", atomically: true, encoding: .utf8)

        var found: Int?
        var failure: String?
        let deadline = Date().addingTimeInterval(startTimeout)
        while found == nil && failure == nil {
            if let data = FileManager.default.contents(atPath: readyFile),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let number = (json["port"] as? NSNumber)?.intValue {
                found = number
            } else if !process.isRunning {
                failure = "the schema registry exited with status \(process.terminationStatus) before it was ready"
            } else if Date() >= deadline {
                failure = "the schema registry was not ready within \(startTimeout) s (no \(readyFile))"
            } else {
                usleep(20_000)
            }
        }
        if let found {
            self.port = found
        } else {
            self.port = port ?? 0
            let tail = logTail
            stop()
            throw KafkaTestError("\(failure ?? "?")\n--- schema registry output (last lines) ---\n\(tail)")
        }
    }

    deinit { stop() }

    /// Stops the registry (SIGTERM, SIGKILL if it is still running after 5 s) and removes its folder
    /// (not `stateFile`). Calling it again does nothing.
    public func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        terminateServer(process)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops this registry (if it still runs) and starts a new one on the same port with the same
    /// options: "the registry went down and came back". The new one knows the old one's schemas and
    /// ids only if there is a `stateFile`.
    public func restart(startTimeout: Double = 15) throws -> SchemaRegistryServer {
        stop()
        return try SchemaRegistryServer(port: port, user: user, password: password, bearerToken: bearerToken,
                                        delayMs: delayMs, stateFile: stateFile, misbehaviour: misbehaviour, startTimeout: startTimeout)
    }

    /// Kills registries whose test process died without stopping them, and removes their folders.
    private static func removeAbandonedRegistries() {
        let temp = NSTemporaryDirectory()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []
        for entry in entries where entry.hasPrefix("spool-schema-registry-") {
            let dir = temp + entry
            guard let owner = (try? String(contentsOfFile: dir + "/owner.pid", encoding: .utf8)).flatMap({ pid_t($0) }),
                  kill(owner, 0) != 0, errno == ESRCH else { continue }
            // Only a process whose command line names this folder (its --ready-file) is ours to kill.
            if let pid = (try? String(contentsOfFile: dir + "/registry.pid", encoding: .utf8)).flatMap({ pid_t($0) }),
               let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
               String(decoding: cmdline, as: UTF8.self).contains(dir) {
                kill(pid, SIGKILL)
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}
