internal import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// Several Spool files of one capture (the shard files of `--shard I/N`) opened as one,
/// read-only: an in-memory main database with each file attached read-only (`mode=ro`), and
/// views named like Spool's tables that union the files' rows (`messages`, `partition_state`,
/// `latest`, `gaps`, `keyed_topics`, `decode_stats`, `schemas`) plus the per-topic views.
/// Unqualified names find these views first, so a query reads the shards as one capture.
enum ShardUnion {
    /// The tables unioned, when every file has them.
    static let tables = ["messages", "partition_state", "latest", "gaps", "keyed_topics", "decode_stats", "schemas"]

    /// Opens `paths` as one capture. Refuses more files than SQLite can attach (naming the
    /// limit and `spool merge`), and every set `spool merge` refuses (`ShardSet`): files that
    /// are not one capture's shards, and, unless `allowIncomplete`, a missing shard or partition.
    static func open(_ paths: [String], allowIncomplete: Bool = false) throws -> SQLiteConnection {
        try open(ShardSet(paths: paths), allowIncomplete: allowIncomplete)
    }

    /// Opens the files of `set` as one capture (see `open(_:allowIncomplete:)`).
    static func open(_ set: ShardSet, allowIncomplete: Bool) throws -> SQLiteConnection {
        let paths = set.files.map(\.path)
        guard let first = paths.first else {
            throw StoreError.cannotOpen(path: ".", reason: "no database files given (an empty folder?); give a Spool file or a folder of shard files")
        }
        let connection = try SQLiteConnection(path: "file::memory:", readOnly: false, create: true, uri: true)
        try connection.setBusyTimeout(ms: 5_000)
        let limit = try attachLimit(connection)
        guard paths.count <= limit else {
            throw StoreError.cannotOpen(path: first, reason: "\(paths.count) files given, but this SQLite attaches at most \(limit) databases at once (SQLITE_MAX_ATTACHED); combine the shards into one file with spool merge first")
        }
        var versions: Set<Int64> = []
        for (index, path) in paths.enumerated() {
            _ = try SQLiteConnection.openForReading(path: path)  // the same checks and messages as one file
            // In a folder this user cannot write SQLite cannot make the -shm file; openForReading
            // above has checked that no WAL content is waiting, so the file is read immutable.
            let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
            let mode = access(folder.isEmpty ? "/" : folder, W_OK) == 0 ? "mode=ro" : "immutable=1"
            try connection.execute("ATTACH DATABASE \(SQLText.literal("file:" + uriEscaped(path) + "?" + mode)) AS s\(index)")
            guard try connection.integer("PRAGMA s\(index).application_id") == Migrator.applicationID else {
                throw StoreError.notSpoolDatabase(path: path, reason: "its application id is not Spool's")
            }
            versions.insert(try connection.integer("SELECT max(version) FROM s\(index).spool_migrations") ?? 0)
        }
        try set.requireOneCapture(allowIncomplete: allowIncomplete, flag: "--allow-incomplete")
        guard versions.count == 1 else {
            throw StoreError.cannotOpen(path: first, reason: "the files have different schema versions (\(versions.sorted().map(String.init).joined(separator: ", "))); spool compact FILE brings an older file to this spool's schema")
        }
        try createViews(connection, count: paths.count)
        return connection
    }

    /// The most databases this SQLite attaches (its compile-time limit, 10 unless built otherwise).
    static func attachLimit(_ connection: SQLiteConnection) throws -> Int {
        let options = try connection.prepare("PRAGMA compile_options")
        while try options.step() {
            if let text = options.text(0), text.hasPrefix("MAX_ATTACHED="), let value = Int(text.dropFirst("MAX_ATTACHED=".count)) {
                _ = try connection.withHandle { sqlite3_limit($0, SQLITE_LIMIT_ATTACHED, Int32(value)) }
                return value
            }
        }
        return 10
    }

    private static func createViews(_ connection: SQLiteConnection, count: Int) throws {
        for table in tables {
            if table == "messages", try allHave("records", count: count, on: connection) {
                // The files' own messages views name their tables unqualified, which this
                // connection would resolve elsewhere: each file's join is spelled out.
                try connection.execute("CREATE TEMP VIEW messages AS " + (0..<count).map { "SELECT " + TopicViews.messagesViewColumns(records: "r", streams: "s") + " FROM s\($0).streams s JOIN s\($0).records r ON r.id >= s.id << \(StreamDirectory.offsetBits) AND r.id < (s.id + 1) << \(StreamDirectory.offsetBits)" }.joined(separator: " UNION ALL "))
                continue
            }
            if table == "latest", try allHave("latest_keys", count: count, on: connection) {
                try connection.execute("CREATE TEMP VIEW latest AS "
                    + (0..<count).map { TopicViews.latestRows(in: "s\($0).") }.joined(separator: " UNION ALL "))
                continue
            }
            guard try allHave(table, count: count, on: connection) else { continue }
            let distinct = table == "schemas" ? " UNION " : " UNION ALL "
            try connection.execute("CREATE TEMP VIEW \(table) AS " + (0..<count).map { "SELECT * FROM s\($0).\(table)" }.joined(separator: distinct))
        }
        // complete_until of the whole capture: the earliest of the shards' (unknown while any is).
        try connection.execute("CREATE TEMP VIEW progress AS SELECT 1 AS id, min(cluster_id) AS cluster_id, "
            + "CASE WHEN count(complete_until) = count(*) THEN min(complete_until) END AS complete_until, max(updated_at) AS updated_at FROM ("
            + (0..<count).map { "SELECT * FROM s\($0).progress" }.joined(separator: " UNION ALL ") + ")")
        for topic in try texts(connection, "SELECT DISTINCT topic FROM partition_state ORDER BY topic") {
            try createTopicView(topic, columns: TopicViews.viewColumns, from: "messages", topic: topic, on: connection)
        }
        guard try connection.integer("SELECT count(*) FROM sqlite_temp_master WHERE name = 'keyed_topics'") == 1 else { return }
        for topic in try texts(connection, "SELECT DISTINCT topic FROM keyed_topics ORDER BY topic") {
            try createTopicView(TopicViews.latestViewName(topic), columns: TopicViews.latestViewColumns, from: "latest", topic: topic,
                                on: connection)
        }
    }

    /// Whether every attached file has a table named `table`.
    private static func allHave(_ table: String, count: Int, on connection: SQLiteConnection) throws -> Bool {
        try (0..<count).allSatisfy { index in
            try connection.integer("SELECT count(*) FROM s\(index).sqlite_master WHERE type = 'table' AND name = '\(table)'") == 1
        }
    }

    /// A per-topic view as one file has it (a temporary one here), unless the name is taken.
    private static func createTopicView(_ name: String, columns: String, from table: String, topic: String,
                                        on connection: SQLiteConnection) throws {
        let taken = try connection.prepare("SELECT 1 FROM sqlite_temp_master WHERE name = ?1 COLLATE NOCASE")
        taken.bind(1, name)
        guard try !taken.step(), !name.lowercased().hasPrefix("sqlite_") else { return }
        let where_ = "topic = " + SQLText.literal(topic)
        try connection.execute("CREATE TEMP VIEW " + SQLText.identifier(name) + " AS SELECT " + columns + " FROM " + table + " WHERE " + where_)
    }

    private static func texts(_ connection: SQLiteConnection, _ sql: String) throws -> [String] {
        let query = try connection.prepare(sql)
        var values: [String] = []
        while try query.step() { if let text = query.text(0) { values.append(text) } }
        return values
    }

    /// A path as a URI path: `%`, `?` and `#` escaped.
    private static func uriEscaped(_ path: String) -> String {
        path.replacing("%", with: "%25").replacing("?", with: "%3F").replacing("#", with: "%23")
    }
}
