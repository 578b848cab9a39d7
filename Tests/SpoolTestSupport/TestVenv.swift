import Foundation

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

    /// `Tests/tools/schema_registry.py`: a Schema Registry that needs only the Python standard library.
    public static var schemaRegistryScript: String { (repoRoot ?? ".") + "/Tests/tools/schema_registry.py" }

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
