import SpoolModel

extension SpoolStore {
    /// Audits the file at `path` (see `verify()`). A file SQLite cannot read as a database, or
    /// whose damage stops the audit part way, is reported as problems (with SQLite's integrity
    /// findings), not thrown: damage is what an audit is for. A readable file of another
    /// application, a missing file or a newer schema still throw.
    public static func audit(path: String) throws -> VerifyReport {
        let store: SpoolStore
        do {
            store = try openForReading(path: path)
        } catch let error as StoreError where error.isDamage {
            return VerifyReport(problems: ["SQLite cannot read \(path) as a Spool database: \(error.damageText)"], gaps: [],
                                messageCount: 0, partitionCount: 0, rowsStoredBeforeHeaders: 0, countsKnown: false)
        }
        defer { store.close() }
        do {
            return try store.verify()
        } catch let error as StoreError where error.isDamage {
            let findings: [String]
            do {
                findings = try store.integrityFindings(limit: 20).map { "integrity check: \($0)" }
            } catch {
                findings = ["SQLite's integrity check cannot run either: \((error as? StoreError)?.damageText ?? String(describing: error))"]
            }
            return VerifyReport(problems: ["the audit stopped: \(error.damageText)"] + findings,
                                gaps: [], messageCount: 0, partitionCount: 0, rowsStoredBeforeHeaders: 0, countsKnown: false)
        }
    }

    /// SQLite's quick check of the whole file: throws `StoreError.storage` naming this file and
    /// the first findings when any page is damaged.
    ///
    /// Related SQLite documentation: https://www.sqlite.org/pragma.html#pragma_quick_check
    func requireUndamaged() throws {
        let findings = try integrityFindings(limit: 3, quick: true)
        guard findings.isEmpty else {
            throw StoreError.storage(path: path, code: 11, message: "the database is damaged (\(findings.joined(separator: "; ")))")
        }
    }

    /// What SQLite's integrity check (or quick check) finds, at most `limit` lines; empty when sound.
    func integrityFindings(limit: Int, quick: Bool = false) throws -> [String] {
        let check = try connection.prepare("PRAGMA \(quick ? "quick_check" : "integrity_check")(\(limit))")
        var findings: [String] = []
        while try check.step() {
            let line = check.text(0) ?? ""
            if line != "ok" { findings.append(line) }
        }
        return findings
    }

    /// Audits the database in one read transaction (a consistent snapshot, even during ingest):
    /// SQLite's integrity check, no duplicate (topic, partition, offset), partition state agreeing
    /// with the stored rows, offsets only increasing in insertion order; gaps are listed.
    public func verify() throws -> VerifyReport {
        try connection.execute("BEGIN")
        defer { _ = try? connection.execute("COMMIT") }
        var problems = try integrityFindings(limit: 100).map { "integrity check: \($0)" }
        problems += try readerNotices()
        problems += try uniquenessProblems()
        // Per partition: rows, last offset and its timestamp (in the streams layout, per row id range).
        let actual = usesStreamsLayout
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
            SELECT coalesce(s.topic, a.topic), coalesce(s.partition, a.partition), s.stored_count, a.n, s.next_offset,
                   a.last_offset, s.last_stored_timestamp,
                   coalesce(a.last_timestamp, (SELECT timestamp FROM messages m WHERE m.topic = a.topic AND m.partition = a.partition AND m.offset = a.last_offset))
            FROM partition_state s FULL OUTER JOIN actual a ON a.topic = s.topic AND a.partition = s.partition
            """)
        while try agreement.step() {
            let name = "\(agreement.text(0) ?? "")[\(agreement.int64(1))]"
            guard let storedCount = agreement.optionalInt64(2), let nextOffset = agreement.optionalInt64(4) else {
                problems.append("\(name) has stored messages but no partition state")
                continue
            }
            let actualCount = agreement.optionalInt64(3) ?? 0
            if storedCount != actualCount {
                problems.append("\(name): partition state counts \(storedCount) messages, the table holds \(actualCount)")
            }
            if let lastOffset = agreement.optionalInt64(5) {
                if nextOffset <= lastOffset {
                    problems.append("\(name): next offset \(nextOffset) is not after the last stored offset \(lastOffset); a resume would store it twice")
                }
                if agreement.optionalInt64(6) != agreement.optionalInt64(7) {
                    problems.append("\(name): partition state's last stored timestamp differs from the last stored message's")
                }
            }
        }
        if hasRetention { problems += try retentionProblems() }
        if usesLatestKeys { problems += try danglingPointers() }
        for keyed in try keyedTopics() where keyed.mode == .latest && keyed.logComplete {
            problems += try latestDifferences(keyed.topic)
        }
        var rowsBeforeHeaders: Int64 = 0
        if hasHeaders {
            problems += try headerProblems()
            rowsBeforeHeaders = try connection.integer("""
                SELECT count(*) FROM messages m JOIN partition_state s ON s.topic = m.topic AND s.partition = m.partition
                WHERE m.offset < s.headers_from_offset
                """) ?? 0
        }
        if hasDecodedColumns { problems += try decodedProblems() }
        let messageCount = try connection.integer("SELECT count(*) FROM \(usesStreamsLayout ? "records" : "messages")") ?? 0
        let partitionCount = Int(try connection.integer("SELECT count(*) FROM partition_state") ?? 0)
        return VerifyReport(problems: problems, gaps: try gaps(), messageCount: messageCount, partitionCount: partitionCount,
                            rowsStoredBeforeHeaders: rowsBeforeHeaders)
    }

    /// No (topic, partition, offset) stored twice, and offsets only increasing in insertion
    /// order. In the streams layout both hold by construction (the row id is the key, and a
    /// partition's rows are in offset order); what can break is a row whose id belongs to no
    /// stream, which no query of messages would show.
    private func uniquenessProblems() throws -> [String] {
        var problems: [String] = []
        if usesStreamsLayout {
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
        let firstBelow = usesStreamsLayout
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
            problems.append("\(below.text(0) ?? "")[\(below.int64(1))] offset \(below.int64(3)) is still stored below offset \(below.int64(2)), where retention says it removed everything")
        }
        return problems
    }

    /// Decoded columns must hold valid JSON and agree with their state: JSON only on `decoded`
    /// rows, a state only on rows with a Confluent-framed part or a schema-id header (a framed row may have none: it
    /// was stored by a writer that did not look); and each topic's decoded count in
    /// `decode_stats` must equal its decoded log rows (for topics whose log is kept).
    private func decodedProblems() throws -> [String] {
        var problems: [String] = []
        // Framed, or naming its schema in a header (Confluent Platform 8's `__key_schema_id` /
        // `__value_schema_id`, which SpoolDecode's ConfluentFrame reads).
        let schemaIDHeader = hasHeaders ? """
             OR (headers IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(headers) AS h
                 WHERE h.value ->> 'key' IN ('__key_schema_id', '__value_schema_id')))
            """ : ""
        let framed = "((length(value) >= 5 AND substr(value, 1, 1) = x'00') OR (length(key) >= 5 AND substr(key, 1, 1) = x'00')\(schemaIDHeader))"
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
            problems.append("\(rows.text(0) ?? "")[\(rows.int64(1))] offset \(rows.int64(2)) \(rows.text(3) ?? "")")
        }
        let counts = try connection.prepare("""
            SELECT s.topic, s.decoded, (SELECT count(*) FROM messages m WHERE m.topic = s.topic AND m.decode_state = 'decoded') AS stored
            FROM decode_stats s WHERE s.topic NOT IN (SELECT topic FROM keyed_topics WHERE mode = 'latest_only')
                AND (s.decoded < stored OR (s.decoded > stored AND \(hasRetention ? "NOT EXISTS (SELECT 1 FROM partition_state p WHERE p.topic = s.topic AND p.retained_deleted > 0)" : "1")))
            """)
        while try counts.step() {
            problems.append("\(counts.text(0) ?? ""): decode_stats counts \(counts.int64(1)) decoded records, the log holds \(counts.int64(2))")
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
