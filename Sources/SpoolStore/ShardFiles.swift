#if canImport(Glibc)
import Glibc
#endif

/// The database files a list of paths names: files as given, folders as their `*.sqlite` and
/// `*.db` files (sorted), never the file a command writes.
public enum ShardFiles {
    /// A path that is neither a readable file nor a folder.
    public struct Missing: Error, CustomStringConvertible {
        /// The path.
        public let path: String
        /// What is wrong and what to do.
        public var description: String { "\(path): no such file or folder; give shard files or the folder that holds them" }
    }

    /// Folders that hold no database file.
    public struct Empty: Error, CustomStringConvertible {
        /// The paths given.
        public let paths: [String]
        /// What is wrong and what to do.
        public var description: String { "\(paths.joined(separator: " ")): no .sqlite or .db files found; give shard files or the folder that holds them" }
    }

    /// Expands `paths` (files, or folders of shard files): a folder gives its regular `*.sqlite`
    /// and `*.db` files (sorted; a subfolder named like one is not a database), leaving out
    /// `excluding` (the file a command writes, which may sit in the folder). Files named one by
    /// one are kept as given, for the command to check. Throws when nothing is left.
    public static func expand(_ paths: [String], excluding target: String) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else { throw Missing(path: path) }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                files.append(path)
                continue
            }
            let found = try entries(of: path).filter { $0.hasSuffix(".sqlite") || $0.hasSuffix(".db") }.sorted()
                .map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
                .filter { isRegularFile($0) && $0 != target && realPath($0) != realPath(target) }
            files += found
        }
        guard !files.isEmpty else { throw Empty(paths: paths) }
        return files
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    private static func entries(of folder: String) throws -> [String] {
        guard let directory = opendir(folder) else { throw Missing(path: folder) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
