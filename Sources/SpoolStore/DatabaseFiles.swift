#if canImport(Glibc)
import Glibc
#endif

/// The files SQLite keeps for one database: the file itself and its companions (`-wal`, `-shm`,
/// `-journal`), recognised however a path to them is spelled or linked.
///
/// Every path Spool writes besides a database (a metrics file, a merge target, a temporary
/// name) is checked against the databases of the command first, so a typo or a symbolic link
/// can never make Spool overwrite a capture or its write-ahead log.
///
/// Related SQLite documentation: https://www.sqlite.org/tempfiles.html
public struct DatabaseFiles: Sendable {
    /// The suffixes SQLite appends to a database's name for the files that belong to it.
    public static let companionSuffixes = ["-wal", "-shm", "-journal"]

    /// The database's path as given.
    public let path: String

    /// The database at `path` (it need not exist yet).
    public init(path: String) {
        self.path = path
    }

    /// Throws `StoreError.pathConflict` when `other` is this database or one of its companion
    /// files, or this database is a companion of `other`: by name after resolving `.`, `..` and
    /// symbolic links (also dangling ones), and by inode (hard links). `role` names the path for
    /// the message, e.g. `--metrics-file`.
    public func refuseAlias(_ other: String, role: String) throws {
        if let clash = clash(with: other) {
            throw StoreError.pathConflict(path: other, reason: "\(role) \(other) \(clash); give \(role) a path of its own")
        }
    }

    /// How `other` collides with this database, as a phrase, or nil when it does not.
    func clash(with other: String) -> String? {
        let mine = Self.resolved(path), theirs = Self.resolved(other)
        if mine == theirs || Self.sameInode(path, other) { return "is the database \(path) itself" }
        for suffix in Self.companionSuffixes {
            if theirs == mine + suffix || Self.sameInode(path + suffix, other) {
                return "is the database \(path)'s \(suffix) file"
            }
            if mine == theirs + suffix { return "is the database whose \(suffix) file \(path) is" }
        }
        return nil
    }

    /// Refuses a database path that names the companion file of an existing database
    /// (`orders.sqlite-wal` next to `orders.sqlite`), and a path that is a folder.
    public static func refuseAsDatabase(_ path: String, flag: String) throws {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw StoreError.pathConflict(path: path, reason: "\(flag) \(path) is a folder; give a database file such as \(path.hasSuffix("/") ? path : path + "/")capture.sqlite")
        }
        for suffix in companionSuffixes where path.hasSuffix(suffix) {
            let base = String(path.dropLast(suffix.count))
            if !base.isEmpty, access(base, F_OK) == 0 {
                throw StoreError.pathConflict(path: path, reason: "\(flag) \(path) is the \(suffix) file SQLite keeps for \(base), not a database; give \(base) itself")
            }
        }
    }

    /// Refuses to replace `path` with something that is not a database when it holds one: an
    /// SQLite file (any application's, judged by its header, through links), or a file named
    /// like the companion (`-wal`, `-shm`, `-journal`) of an existing file. `role` names the
    /// path for the message, e.g. `--bootstrap-file`.
    public static func refuseOverwritingDatabase(_ path: String, role: String) throws {
        if isSQLiteFile(path) {
            throw StoreError.pathConflict(path: path, reason: "\(role) \(path) is an SQLite database, which this would overwrite; give \(role) a path of its own")
        }
        for suffix in companionSuffixes where path.hasSuffix(suffix) {
            let base = String(path.dropLast(suffix.count))
            if !base.isEmpty, isSQLiteFile(base) {
                throw StoreError.pathConflict(path: path, reason: "\(role) \(path) is the \(suffix) file SQLite keeps for the database \(base); give \(role) a path of its own")
            }
        }
    }

    /// Whether `path` is a file that starts with SQLite's header ("SQLite format 3").
    static func isSQLiteFile(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 16)
        guard read(fd, &header, 16) == 16 else { return false }
        return header == Array("SQLite format 3\u{0}".utf8)
    }

    /// `path` made absolute, with `.`, `..` and symbolic links resolved, also in a last
    /// component that does not exist yet or is a dangling link.
    static func resolved(_ path: String, depth: Int = 0) -> String {
        let absolute = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
        let trimmed = absolute.count > 1 && absolute.hasSuffix("/") ? String(absolute.dropLast()) : absolute
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        let folder = String(trimmed[..<slash]), name = String(trimmed[trimmed.index(after: slash)...])
        let realFolder = realPath(folder.isEmpty ? "/" : folder) ?? folder
        if name == "." || name == ".." || name.isEmpty { return realPath(trimmed) ?? trimmed }
        let joined = realFolder == "/" ? "/" + name : realFolder + "/" + name
        if depth < 40, let target = linkTarget(joined) {
            return resolved(target.hasPrefix("/") ? target : realFolder + "/" + target, depth: depth + 1)
        }
        return joined
    }

    private static func sameInode(_ first: String, _ second: String) -> Bool {
        var a = stat(), b = stat()
        guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, Int(PATH_MAX))
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}
