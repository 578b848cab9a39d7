import SpoolModel

/// The checks behind `spool verify`, over one open capture: SQLite's integrity check, no
/// record stored twice, partition state agreeing with the stored rows, retention, keyed
/// tables, headers and decoded columns; gaps are listed. Runs in one read transaction (a
/// consistent snapshot, even while an ingest writes).
struct CaptureVerifier {
    /// The capture audited.
    let store: SpoolStore
    /// The decode layer's SQL condition for a row with something to decode (over `key`,
    /// `value` and, when the argument is true, `headers`); nil leaves that check out.
    let framedRowSQL: (@Sendable (_ withHeaders: Bool) -> String)?

    private var connection: SQLiteConnection { store.connection }

    /// Audits the capture.
    func run() throws -> VerifyReport {
        try connection.execute("BEGIN")
        defer { _ = try? connection.execute("COMMIT") }
        var problems = try store.integrityFindings(limit: 100).map { "integrity check: \($0)" }
        problems += try store.readerNotices()
        problems += try uniquenessProblems()
        problems += try partitionStateProblems()
        if store.hasRetention { problems += try retentionProblems() }
        if store.usesLatestKeys { problems += try danglingPointers() }
        for keyed in try store.keyed.topics() where keyed.mode == .latest && keyed.logComplete {
            problems += try store.keyed.differences(keyed.topic)
        }
        var rowsBeforeHeaders: Int64 = 0
        if store.hasHeaders {
            problems += try headerProblems()
            rowsBeforeHeaders = try connection.integer("""
                SELECT count(*) FROM messages m JOIN partition_state s ON s.topic = m.topic AND s.partition = m.partition
                WHERE m.offset < s.headers_from_offset
                """) ?? 0
        }
        if store.hasDecodedColumns { problems += try decodedProblems() }
        let messageCount = try connection.integer("SELECT count(*) FROM \(store.usesStreamsLayout ? "records" : "messages")") ?? 0
        let partitionCount = Int(try connection.integer("SELECT count(*) FROM partition_state") ?? 0)
        return VerifyReport(problems: problems, gaps: try store.runs.gaps(), messageCount: messageCount, partitionCount: partitionCount,
                            rowsStoredBeforeHeaders: rowsBeforeHeaders)
    }

    /// Each partition's stored state against its rows: count, next offset after the last
    /// stored one, the last stored timestamp; rows without a state.
    private func partitionStateProblems() throws -> [String] {
        var problems: [String] = []
        // Per partition: rows, last offset and its timestamp (in the streams layout, per row id range).
        let actual = store.usesStreamsLayout
            ? """
              SELECT topic, partition, n, last_id - (stream << \(StreamDirectory.offsetBits)) AS last_offset,
                     (SELECT timestamp FROM records WHERE id = last_id) AS last_timestamp
              FROM (SELECT st.id AS stream, st.topic AS topic, st.partition AS partition, count(*) AS n, max(r.id) AS last_id
                    FROM streams st JOIN records r ON r.id >= st.id << \(StreamDirectory.offsetBits) AND r.id < (st.id + 1) << \(StreamDirectory.offsetBits) GROUP BY st.id)
              """
            : """
              SELECT topic, partition, count(*) AS n, max(offset) AS last_offset, NULL AS last_timestamp FROM messages GROUP BY topic, partition
              """
        let agreement = try connection.prepare("""
            WITH actual AS (\(actual))
            SELECT coalesce(s.topic, a.topic) AS topic, coalesce(s.partition, a.partition) AS partition, s.stored_count, a.n, s.next_offset,
                   a.last_offset, s.last_stored_timestamp,
                   coalesce(a.last_timestamp, (SELECT timestamp FROM messages m WHERE m.topic = a.topic AND m.partition = a.partition AND m.offset = a.last_offset)) AS last_timestamp
            FROM partition_state s FULL OUTER JOIN actual a ON a.topic = s.topic AND a.partition = s.partition
            """)
        while try agreement.step() {
            let name = "\(agreement.text("topic") ?? "")[\(agreement.int64("partition"))]"
            guard let storedCount = agreement.optionalInt64("stored_count"), let nextOffset = agreement.optionalInt64("next_offset") else {
                problems.append("\(name) has stored messages but no partition state")
                continue
            }
            let actualCount = agreement.optionalInt64("n") ?? 0
            if storedCount != actualCount {
                problems.append("\(name): partition state counts \(storedCount) messages, the table holds \(actualCount)")
            }
            if let lastOffset = agreement.optionalInt64("last_offset") {
                if nextOffset <= lastOffset {
                    problems.append("\(name): next offset \(nextOffset) is not after the last stored offset \(lastOffset); a resume would store it twice")
                }
                if agreement.optionalInt64("last_stored_timestamp") != agreement.optionalInt64("last_timestamp") {
                    problems.append("\(name): partition state's last stored timestamp differs from the last stored message's")
                }
            }
        }
        return problems
    }

    /// No (topic, partition, offset) stored twice, and offsets only increasing in insertion
    /// order. In the streams layout both hold by construction (the row id is the key, and a
    /// partition's rows are in offset order); what can break is a row whose id belongs to no
    /// stream, which no query of messages would show.
    private func uniquenessProblems() throws -> [String] {
        var problems: [String] = []
        if store.usesStreamsLayout {
            let orphans = try connection.prepare("""
                SELECT id >> \(StreamDirectory.offsetBits), count(*) FROM records WHERE (id >> \(StreamDirectory.offsetBits)) NOT IN (SELECT id FROM streams) GROUP BY id >> \(StreamDirectory.offsetBits) LIMIT 20
                """)
            while try orphans.step() {
                problems.append("\(orphans.int64(1)) stored record(s) belong to stream \(orphans.int64(0)), which the streams table does not name (they are invisible in messages)")
            }
            return problems
        }
        let duplicates = try connection.prepare("""
            SELECT topic, partition, offset, count(*) FROM messages GROUP BY topic, partition, offset HAVING count(*) > 1 LIMIT 20
            """)
        while try duplicates.step() {
            problems.append("\(duplicates.text(0) ?? "")[\(duplicates.int64(1))] offset \(duplicates.int64(2)) is stored \(duplicates.int64(3)) times")
        }
        let order = try connection.prepare("""
            SELECT topic, partition, offset, previous FROM (
                SELECT topic, partition, offset, lag(offset) OVER (PARTITION BY topic, partition ORDER BY rowid) AS previous FROM messages
            ) WHERE previous >= offset LIMIT 20
            """)
        while try order.step() {
            problems.append("\(order.text(0) ?? "")[\(order.int64(1))]: offset \(order.int64(2)) was stored after offset \(order.int64(3))")
        }
        return problems
    }

    /// Keys of `latest_keys` whose row id names no stored record (the join in `latest` would
    /// hide them).
    private func danglingPointers() throws -> [String] {
        var problems: [String] = []
        let dangling = try connection.prepare("""
            SELECT l.topic, hex(l.key), l.id FROM latest_keys l WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = l.id) LIMIT 20
            """)
        while try dangling.step() {
            problems.append("latest table of '\(dangling.text(0) ?? "")': key x'\(dangling.text(1) ?? "")' points at row \(dangling.int64(2)), which the log does not hold")
        }
        return problems
    }

    /// Retention removes a partition's rows from the front only: no stored row may lie below
    /// the offset its partition's retention reached.
    private func retentionProblems() throws -> [String] {
        var problems: [String] = []
        let firstBelow = store.usesStreamsLayout
            ? """
              (SELECT r.id - (st.id << \(StreamDirectory.offsetBits)) FROM streams st JOIN records r ON r.id >= st.id << \(StreamDirectory.offsetBits) AND r.id < (st.id << \(StreamDirectory.offsetBits)) + p.retained_from_offset
               WHERE st.topic = p.topic AND st.partition = p.partition ORDER BY r.id LIMIT 1)
              """
            : """
              (SELECT min(offset) FROM messages m WHERE m.topic = p.topic AND m.partition = p.partition AND m.offset < p.retained_from_offset)
              """
        let below = try connection.prepare("""
            SELECT p.topic, p.partition, p.retained_from_offset, \(firstBelow) AS stray
            FROM partition_state p WHERE p.retained_from_offset IS NOT NULL AND stray IS NOT NULL
            """)
        while try below.step() {
            problems.append("\(below.text("topic") ?? "")[\(below.int64("partition"))] offset \(below.int64("stray")) is still stored below offset \(below.int64("retained_from_offset")), where retention says it removed everything")
        }
        return problems
    }

    /// Decoded columns must hold valid JSON and agree with their state: JSON only on `decoded`
    /// rows, a state only on rows with a Confluent-framed part or a schema-id header (a framed row may have none: it
    /// was stored by a writer that did not look); and each topic's decoded count in
    /// `decode_stats` must equal its decoded log rows (for topics whose log is kept).
    private func decodedProblems() throws -> [String] {
        var problems: [String] = []
        // Framing is the decode layer's knowledge: it hands over the condition (none: not checked).
        let framed = framedRowSQL.map { "(\($0(store.hasHeaders)))" } ?? "1"
        let rows = try connection.prepare("""
            SELECT topic, partition, offset, CASE
                WHEN (key_json IS NOT NULL AND NOT json_valid(key_json)) OR (value_json IS NOT NULL AND NOT json_valid(value_json))
                    THEN 'holds decoded JSON that is not valid JSON'
                WHEN decode_state IS NOT 'decoded' AND (key_json IS NOT NULL OR value_json IS NOT NULL)
                    THEN 'holds decoded JSON but is not marked decoded'
                WHEN decode_state IS NOT NULL AND decode_state NOT IN ('decoded', 'pending', 'failed')
                    THEN 'has an unknown decode_state'
                WHEN decode_state IS NOT NULL AND NOT \(framed)
                    THEN 'has a decode_state but nothing in it is Confluent-framed'
                END AS problem
            FROM messages WHERE problem IS NOT NULL LIMIT 20
            """)
        while try rows.step() {
            problems.append("\(rows.text("topic") ?? "")[\(rows.int64("partition"))] offset \(rows.int64("offset")) \(rows.text("problem") ?? "")")
        }
        let counts = try connection.prepare("""
            SELECT s.topic, s.decoded, (SELECT count(*) FROM messages m WHERE m.topic = s.topic AND m.decode_state = 'decoded') AS stored
            FROM decode_stats s WHERE s.topic NOT IN (SELECT topic FROM keyed_topics WHERE mode = 'latest_only')
                AND (s.decoded < stored OR (s.decoded > stored AND \(store.hasRetention ? "NOT EXISTS (SELECT 1 FROM partition_state p WHERE p.topic = s.topic AND p.retained_deleted > 0)" : "1")))
            """)
        while try counts.step() {
            problems.append("\(counts.text("topic") ?? ""): decode_stats counts \(counts.int64("decoded")) decoded records, the log holds \(counts.int64("stored"))")
        }
        return problems
    }

    /// Every `headers` value must be a non-empty JSON array of objects, each with a text `key`
    /// (or `key_base64`) and one of a text or null `value` or a text `value_base64`; and rows
    /// stored before a partition's header capture began cannot have headers.
    private func headerProblems() throws -> [String] {
        var problems: [String] = []
        let shape = try connection.prepare("""
            SELECT topic, partition, offset FROM messages WHERE headers IS NOT NULL AND CASE
                WHEN NOT json_valid(headers) OR json_type(headers) != 'array' OR json_array_length(headers) = 0 THEN 1
                ELSE EXISTS (SELECT 1 FROM json_each(headers) AS h WHERE h.type != 'object'
                    OR (SELECT count(*) FROM json_each(h.value)) != 2
                    OR coalesce(json_type(h.value, '$.key'), json_type(h.value, '$.key_base64')) IS NOT 'text'
                    OR NOT (coalesce(json_type(h.value, '$.value'), '') IN ('text', 'null')
                            OR json_type(h.value, '$.value_base64') IS 'text'))
                END
            LIMIT 20
            """)
        while try shape.step() {
            problems.append("\(shape.text(0) ?? "")[\(shape.int64(1))] offset \(shape.int64(2)): headers are not a JSON array of {key, value} objects")
        }
        let early = try connection.prepare("""
            SELECT m.topic, m.partition, m.offset, s.headers_from_offset FROM messages m
            JOIN partition_state s ON s.topic = m.topic AND s.partition = m.partition
            WHERE m.headers IS NOT NULL AND m.offset < s.headers_from_offset LIMIT 20
            """)
        while try early.step() {
            problems.append("\(early.text(0) ?? "")[\(early.int64(1))] offset \(early.int64(2)) has headers but lies before offset \(early.int64(3)), where header capture began")
        }
        return problems
    }
}
