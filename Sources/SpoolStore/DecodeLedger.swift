import SpoolModel

/// What a capture knows about decoding (`SpoolStore.decoding`): the schemas it keeps, the
/// records still pending and their decoding once done, and the per-topic counts. Records are
/// decoded at capture by the write path, or later by `spool decode` through this type.
public struct DecodeLedger {
    let store: SpoolStore
    private var connection: SQLiteConnection { store.connection }

    /// Keeps `schemas` (an id already stored for its registry is left as it is); those fetched
    /// by GUID go to `schema_guids`. Call inside a transaction.
    func insertSchemas(_ schemas: [StoredSchema]) throws {
        let byGUID = schemas.filter { $0.guid != nil }
        if !byGUID.isEmpty {
            guard store.hasGUIDSchemas else { throw StoreError.inconsistent(path: connection.path, reason: "schemas named by GUID need schema version 10") }
            let insert = try connection.prepare("""
                INSERT OR IGNORE INTO schema_guids (registry, guid, type, schema, "references", fetched_at, serialized)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """)
            for schema in byGUID {
                insert.bind(1, schema.registry)
                insert.bind(2, schema.guid)
                insert.bind(3, schema.type)
                insert.bind(4, schema.text)
                insert.bind(5, schema.referencesJSON)
                insert.bind(6, schema.fetchedAt)
                insert.bind(7, schema.serialized)
                try insert.run()
            }
        }
        let schemas = schemas.filter { $0.guid == nil }
        guard !schemas.isEmpty else { return }
        let insert = try connection.prepare(store.hasSerializedSchemas ? """
            INSERT OR IGNORE INTO schemas (registry, id, type, schema, "references", fetched_at, serialized)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """ : """
            INSERT OR IGNORE INTO schemas (registry, id, type, schema, "references", fetched_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """)
        for schema in schemas {
            insert.bind(1, schema.registry)
            insert.bind(2, Int64(schema.id))
            insert.bind(3, schema.type)
            insert.bind(4, schema.text)
            insert.bind(5, schema.referencesJSON)
            insert.bind(6, schema.fetchedAt)
            if store.hasSerializedSchemas { insert.bind(7, schema.serialized) }
            try insert.run()
        }
    }

    /// The schemas stored for `registry` (its URL without credentials), or for every registry:
    /// those kept by id, then those kept by GUID.
    public func storedSchemas(registry: String? = nil) throws -> [StoredSchema] {
        guard store.hasDecodedColumns else { return [] }
        let byGUID = store.hasGUIDSchemas ? """
            UNION ALL SELECT registry, 0, type, schema, "references", fetched_at, serialized, guid
            FROM schema_guids WHERE ?1 IS NULL OR registry = ?1
            """ : ""
        let query = try connection.prepare("""
            SELECT registry, id, type, schema, "references", fetched_at, \(store.hasSerializedSchemas ? "serialized" : "NULL AS serialized"), NULL AS guid
            FROM schemas WHERE ?1 IS NULL OR registry = ?1
            \(byGUID)
            ORDER BY 8 NULLS FIRST, 1, 2
            """)
        query.bind(1, registry)
        var schemas: [StoredSchema] = []
        while try query.step() {
            schemas.append(StoredSchema(registry: query.text("registry") ?? "", id: Int32(truncatingIfNeeded: query.int64("id")),
                                        type: query.text("type") ?? "", text: query.text("schema") ?? "",
                                        referencesJSON: query.text("references"), fetchedAt: query.int64("fetched_at"),
                                        serialized: query.text("serialized"), guid: query.text("guid")))
        }
        return schemas
    }

    /// Per topic: records decoded, pending and failed, and the first failure.
    public func status() throws -> [DecodeStatus] {
        guard store.hasDecodedColumns else { return [] }
        // The log's pending rows through their partial index (the messages view would scan).
        let pendingInLog = store.usesStreamsLayout
            ? "SELECT s.topic, count(*) AS n FROM records r INDEXED BY records_decode_pending JOIN streams s ON s.id = r.id >> \(StreamDirectory.offsetBits) WHERE r.decode_state = 'pending' GROUP BY s.topic"
            : "SELECT topic, count(*) AS n FROM messages WHERE decode_state = 'pending' GROUP BY topic"
        let query = try connection.prepare("""
            WITH pending AS (
                \(pendingInLog)
                UNION ALL
                SELECT l.topic, count(*) FROM \(store.usesLatestKeys ? "latest_values" : "latest") l JOIN keyed_topics k ON k.topic = l.topic AND k.mode = 'latest_only'
                WHERE l.decode_state = 'pending' GROUP BY l.topic
            ), topics AS (SELECT topic FROM decode_stats UNION SELECT topic FROM pending)
            SELECT t.topic, coalesce(s.decoded, 0) AS decoded, (SELECT coalesce(sum(n), 0) FROM pending p WHERE p.topic = t.topic) AS pending,
                   coalesce(s.failed, 0) AS failed, s.first_error
            FROM topics t LEFT JOIN decode_stats s ON s.topic = t.topic ORDER BY t.topic
            """)
        var result: [DecodeStatus] = []
        while try query.step() {
            result.append(DecodeStatus(topic: query.text("topic") ?? "", decoded: query.int64("decoded"), pending: query.int64("pending"),
                                       failed: query.int64("failed"), firstError: query.text("first_error")))
        }
        return result
    }

    /// Up to `limit` pending records after `cursor`, in storage order: the log's first, then
    /// the latest table's rows of `latest_only` topics (whose records are not in the log).
    /// Each carries the value of the first header named by each of `headerNames` (in that
    /// order; nil when the record has no such header or its value is null).
    public func pendingRecords(after cursor: PendingRecord.Cursor, limit: Int, headerNames: [String] = []) throws -> [PendingRecord] {
        guard store.hasDecodedColumns else { return [] }
        var records: [PendingRecord] = []
        if !cursor.inLatest {
            records = try pending(in: "messages", afterRowID: cursor.rowID, limit: limit, headerNames: headerNames)
            if records.count == limit { return records }
        }
        let latestAfter = cursor.inLatest ? cursor.rowID : 0
        return records + (try pending(in: store.usesLatestKeys ? "latest_values" : "latest", afterRowID: latestAfter, limit: limit - records.count, headerNames: headerNames))
    }

    private func pending(in table: String, afterRowID: Int64, limit: Int, headerNames: [String]) throws -> [PendingRecord] {
        let onlyLatestOnly = table != "messages"
            ? "AND topic IN (SELECT topic FROM keyed_topics WHERE mode = 'latest_only')" : ""
        // Each named header's first value, read back from the `headers` JSON (see HeadersJSON):
        // its text, or its base64 for a value that is not text.
        let headerColumns = headerNames.indices.map { index in
            let first = "FROM json_each(headers) AS h WHERE h.value ->> 'key' = ?\(index + 3) ORDER BY h.key LIMIT 1"
            return ", (SELECT h.value ->> 'value' \(first)) AS header_\(index)_text, (SELECT h.value ->> 'value_base64' \(first)) AS header_\(index)_base64"
        }.joined()
        let headerSelection = store.hasHeaders
            ? headerColumns : headerNames.indices.map { ", NULL AS header_\($0)_text, NULL AS header_\($0)_base64" }.joined()
        let sql = table == "messages" && store.usesStreamsLayout
            ? """
              SELECT r.id AS row_id, s.topic, s.partition, r.id - (s.id << \(StreamDirectory.offsetBits)) AS offset, key, value\(headerSelection)
              FROM records r INDEXED BY records_decode_pending JOIN streams s ON s.id = r.id >> \(StreamDirectory.offsetBits)
              WHERE r.decode_state = 'pending' AND r.id > ?1 ORDER BY r.id LIMIT ?2
              """
            : """
              SELECT rowid AS row_id, topic, partition, offset, key, value\(headerSelection)
              FROM \(table) INDEXED BY \(table)_decode_pending
              WHERE decode_state = 'pending' AND rowid > ?1 \(onlyLatestOnly) ORDER BY rowid LIMIT ?2
              """
        let query = try connection.prepare(sql)
        query.bind(1, afterRowID)
        query.bind(2, Int64(limit))
        for (index, name) in headerNames.enumerated() where store.hasHeaders { query.bind(Int32(index + 3), name) }
        var records: [PendingRecord] = []
        let (rowID, topic, partition, offset, key, value) = (query.column("row_id"), query.column("topic"), query.column("partition"),
                                                             query.column("offset"), query.column("key"), query.column("value"))
        let headerReads = headerNames.indices.map { (text: query.column("header_\($0)_text"), base64: query.column("header_\($0)_base64")) }
        while try query.step() {
            let headerValues: [[UInt8]?] = headerReads.map { columns in
                if let text = query.text(columns.text) { return Array(text.utf8) }
                return query.text(columns.base64).flatMap { Base64.decode($0) }
            }
            records.append(PendingRecord(cursor: .init(inLatest: table != "messages", rowID: query.int64(rowID)), topic: query.text(topic) ?? "",
                                         partition: Int32(truncatingIfNeeded: query.int64(partition)), offset: query.int64(offset),
                                         key: query.blob(key), value: query.blob(value), headerValues: headerValues))
        }
        return records
    }

    /// Stores the decoding of pending records (and the schemas it fetched) in ONE transaction:
    /// each record's row, its keyed table row when that holds the same record, and the counts.
    public func saveDecoded(_ results: [DecodedRecord], schemas: [StoredSchema]) throws {
        try store.requireWriter()
        try connection.inTransaction {
            try insertSchemas(schemas)
            let updateLog = try connection.prepare("""
                UPDATE records SET key_json = ?2, value_json = ?3, decode_state = ?4 WHERE id = ?1
                """)
            let updateLatestRow = try connection.prepare("""
                UPDATE latest_values SET key_json = ?2, value_json = ?3, decode_state = ?4 WHERE rowid = ?1
                """)
            let updateLatestOfRecord = try connection.prepare("""
                UPDATE latest_values SET key_json = ?3, value_json = ?4, decode_state = ?5
                WHERE topic = ?1 AND key = ?2 AND partition = ?6 AND offset = ?7
                """)
            var counts: [String: (decoded: Int64, failed: Int64, error: String?)] = [:]
            for result in results {
                let record = result.record
                let statement = record.cursor.inLatest ? updateLatestRow : updateLog
                statement.bind(1, record.cursor.rowID)
                statement.bind(2, result.keyJSON)
                statement.bind(3, result.valueJSON)
                statement.bind(4, result.state.storedText)
                try statement.run()
                if !record.cursor.inLatest, store.inserter.keyedModes[record.topic] == .latest, let key = record.key {
                    updateLatestOfRecord.bind(1, record.topic)
                    key.withUnsafeBytes { updateLatestOfRecord.bindStatic(2, blob: $0) }
                    updateLatestOfRecord.bind(3, result.keyJSON)
                    updateLatestOfRecord.bind(4, result.valueJSON)
                    updateLatestOfRecord.bind(5, result.state.storedText)
                    updateLatestOfRecord.bind(6, Int64(record.partition))
                    updateLatestOfRecord.bind(7, record.offset)
                    try updateLatestOfRecord.run()
                }
                var count = counts[record.topic] ?? (0, 0, nil)
                if result.state == .decoded { count.decoded += 1 }
                if result.state == .failed { count.failed += 1; count.error = count.error ?? result.failure }
                counts[record.topic] = count
            }
            for (topic, count) in counts.sorted(by: { $0.key < $1.key }) where count.decoded > 0 || count.failed > 0 {
                try store.inserter.addDecodeCounts(topic: topic, decoded: count.decoded, failed: count.failed, firstError: count.error)
            }
        }
    }
}
