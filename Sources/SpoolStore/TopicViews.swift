import SpoolModel

/// The views Spool keeps in a capture for people to query: one per topic over its log
/// (`"topic"`), one per keyed topic over its latest table (`"topic:latest"`), and the SQL of the
/// `latest` rows they read. A view is created only when its name is free, so a user's own table
/// or view of that name is never replaced.
enum TopicViews {
    /// The columns of every per-topic view, in order.
    static let viewColumns = "key, value, topic, partition, offset, timestamp, headers, key_json, value_json, decode_state"

    /// The messages view's select list over `records` aliased `records` and `streams` aliased
    /// `streams` (as migration 12 defines the view).
    static func messagesViewColumns(records r: String, streams s: String) -> String {
        "\(r).key AS key, \(r).value AS value, \(s).topic AS topic, \(s).partition AS partition, \(r).id - (\(s).id << \(StreamDirectory.offsetBits)) AS offset, "
            + "\(r).timestamp AS timestamp, \(r).headers AS headers, \(r).key_json AS key_json, \(r).value_json AS value_json, \(r).decode_state AS decode_state"
    }

    /// Creates `"topic"` as a view over its messages on `connection`, unless the name is taken.
    static func createView(for topic: String, on connection: SQLiteConnection) throws {
        guard try !nameIsTaken(topic, on: connection), !topic.lowercased().hasPrefix("sqlite_") else { return }
        try connection.execute("""
            CREATE VIEW \(SQLText.identifier(topic)) AS SELECT \(viewColumns) FROM messages WHERE topic = \(SQLText.literal(topic))
            """)
    }

    /// Whether a table, view or index of that name (in any letter case) exists.
    static func nameIsTaken(_ name: String, on connection: SQLiteConnection) throws -> Bool {
        let existing = try connection.prepare("SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE")
        existing.bind(1, name)
        return try existing.step()
    }

    /// Re-creates the per-topic log and latest views Spool made with an earlier column list so
    /// they show today's columns (run inside the migration's transaction: 2 added `headers`, 4
    /// the decoded columns). A view is Spool's when its SQL is exactly what an earlier version wrote.
    static func upgrade(on connection: SQLiteConnection) throws {
        let logColumns = ["key, value, topic, partition, offset, timestamp", "key, value, topic, partition, offset, timestamp, headers"]
        let latestColumns = ["key, value, partition, offset, timestamp, headers"]
        let views = try connection.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name")
        var logViews: [String] = []
        var latestViews: [String] = []
        while try views.step() {
            let name = views.text(0) ?? "", sql = views.text(1)
            let view = "CREATE VIEW \(SQLText.identifier(name)) AS SELECT "
            if logColumns.contains(where: { sql == view + $0 + " FROM messages WHERE topic = \(SQLText.literal(name))" }) {
                logViews.append(name)
            }
            if name.hasSuffix(":latest") {
                let topic = String(name.dropLast(":latest".count))
                if latestColumns.contains(where: { sql == view + $0 + " FROM latest WHERE topic = \(SQLText.literal(topic))" }) {
                    latestViews.append(topic)
                }
            }
        }
        for topic in logViews {
            try connection.execute("DROP VIEW \(SQLText.identifier(topic))")
            try createView(for: topic, on: connection)
        }
        for topic in latestViews {
            try connection.execute("DROP VIEW \(SQLText.identifier(latestViewName(topic)))")
            try createLatestView(for: topic, on: connection)
        }
    }

    /// The name of `topic`'s latest view: `topic:latest`. A colon cannot occur in a Kafka topic
    /// name, so it never clashes with a log view (named after the topic itself).
    static func latestViewName(_ topic: String) -> String { topic + ":latest" }

    /// The entries of `latest_keys` in `schema` ("" or "NAME.") as `latest` shows them: each
    /// key joined to its record (`l`: latest_keys, `r`: records, `s`: streams). Spelled out with
    /// the schema because a view of an attached file would resolve its tables in the main one.
    static func pointedLatestRows(in schema: String) -> String {
        "SELECT l.topic, l.key, r.value, s.partition, l.id - (s.id << \(StreamDirectory.offsetBits)), r.timestamp, r.headers, r.key_json, r.value_json, r.decode_state "
            + "FROM \(schema)latest_keys l JOIN \(schema)records r ON r.id = l.id JOIN \(schema)streams s ON s.id = l.id >> \(StreamDirectory.offsetBits)"
    }

    /// Every row of `latest` in `schema` ("" or "NAME."): the kept values, then the pointed records.
    static func latestRows(in schema: String) -> String {
        "SELECT topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state FROM \(schema)latest_values "
            + "UNION ALL " + pointedLatestRows(in: schema)
    }

    /// The columns of every per-topic latest view, in order.
    static let latestViewColumns = "key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state"

    /// Creates `"topic:latest"` over the topic's rows of `latest`, unless the name is taken.
    static func createLatestView(for topic: String, on connection: SQLiteConnection) throws {
        let name = latestViewName(topic)
        guard try !nameIsTaken(name, on: connection) else { return }
        try connection.execute("""
            CREATE VIEW \(SQLText.identifier(name)) AS SELECT \(latestViewColumns) FROM latest WHERE topic = \(SQLText.literal(topic))
            """)
    }
}
