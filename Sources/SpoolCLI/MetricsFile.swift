import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// Why the metrics file could not be written: the path, the system's reason, and what to check.
public struct MetricsFileError: Error, CustomStringConvertible, Equatable {
    /// The metrics file that was being replaced.
    public var path: String
    /// The `errno` of the call that failed (0 when the path was refused before any call).
    public var code: Int32
    /// Why the path was refused before anything was written, with what to do.
    public var reason: String?

    /// Describes a failure with `errno` value `code` while replacing `path`.
    public init(path: String, code: Int32) {
        self.path = path
        self.code = code
    }

    /// Describes a path refused before anything was written.
    public init(path: String, reason: String) {
        self.path = path
        self.code = 0
        self.reason = reason
    }

    /// A sentence for a person, e.g. `cannot write metrics file /x/y.prom: No such file or
    /// directory (check that the folder exists and is writable)`; the CLI adds `spool: error: `.
    public var description: String {
        if let reason { return "--metrics-file \(path): \(reason); nothing was written" }
        return "cannot write metrics file \(path): \(String(cString: strerror(code))) (check that the folder exists and is writable)"
    }
}

/// A Prometheus textfile-collector file that is replaced atomically on every write.
///
/// Readers (node_exporter) see either the previous contents or the new ones, never a partial
/// file: the text goes to `.<name>.tmp.<pid>` in the same folder, which then is renamed over the
/// path. One process must not write the same path from two threads at once (they would share the
/// temporary name).
public struct MetricsFile: Sendable {
    /// The file's path as given.
    public let path: String

    /// A metrics file at `path` (nothing is touched until `write`).
    public init(path: String) {
        self.path = path
    }

    /// Refuses, before anything is written, a path that cannot be a metrics file: a folder, a
    /// file in a missing folder, a path (or its temporary name) that is `database` or one of
    /// its companion files however it is spelled or linked, or that holds any other SQLite
    /// database (`StoreError.pathConflict`).
    public func check(database: String) throws {
        let files = DatabaseFiles(path: database)
        try files.refuseAlias(path, role: "--metrics-file")
        try files.refuseAlias(temporaryPath, role: "the metrics file's temporary name")
        try DatabaseFiles.refuseOverwritingDatabase(path, role: "--metrics-file")
        try DatabaseFiles.refuseOverwritingDatabase(temporaryPath, role: "the metrics file's temporary name")
        var info = stat()
        let folderExample = (path.hasSuffix("/") ? path : path + "/") + "spool.prom"
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            throw MetricsFileError(path: path, reason: "is a folder; give a file path such as \(folderExample)")
        }
        if path.hasSuffix("/") {
            throw MetricsFileError(path: path, reason: "ends in '/', so it names a folder, not a file; give a file path such as \(folderExample)")
        }
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        if stat(folder.isEmpty ? "/" : folder, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR {
            throw MetricsFileError(path: path, reason: "the folder \(folder) does not exist; create it first")
        }
    }

    /// Replaces the file with `text` (mode 0644), or throws `MetricsFileError` and leaves no
    /// temporary file behind.
    public func write(_ text: String) throws {
        let temporary = temporaryPath
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MetricsFileError(path: path, code: errno) }
        var failure = Self.writeAll(fd, Array(text.utf8))
        if failure == nil, fchmod(fd, 0o644) != 0 { failure = errno }
        if close(fd) != 0, failure == nil { failure = errno }
        if failure == nil, rename(temporary, path) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            throw MetricsFileError(path: path, code: failure)
        }
    }

    /// `.<name>.tmp.<pid>` next to the file, so that the rename stays within one file system.
    var temporaryPath: String {
        guard let slash = path.lastIndex(of: "/") else { return ".\(path).tmp.\(getpid())" }
        let folder = path[...slash]
        let name = path[path.index(after: slash)...]
        return "\(folder).\(name).tmp.\(getpid())"
    }

    /// Writes every byte (retrying short writes and EINTR); the `errno` of a failure, else nil.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if written == 0 { return EIO }
            offset += written
        }
        return nil
    }
}
