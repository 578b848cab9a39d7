import KafkaReplay
import SpoolIngest
import SpoolStore

/// What `spool status` shows: per-partition progress, the saved run, gaps and `complete_until`,
/// the restores recorded in the file, and, when brokers are given, the lag against each
/// partition's current high watermark.
public struct StatusReport: Sendable {
    /// The database file.
    public var path: String
    /// Every partition's stored state.
    public var partitions: [StoredPartition]
    /// The latest run.
    public var run: SavedRun?
    /// Recorded gaps.
    public var gaps: [GapRecord]
    /// The timestamp up to which every partition is completely stored.
    public var completeUntil: Int64?
    /// The cluster the database is fed from.
    public var clusterID: String?
    /// Current high watermarks, when brokers were asked.
    public var watermarks: [TopicPartition: Watermarks]?
    /// Database size in bytes (file and WAL).
    public var databaseBytes: Int64
    /// The topics whose latest-value table is kept, with their counters.
    public var keyed: [KeyedTopic]
    /// Per topic with Confluent-framed records: decoded, pending and failed counts.
    public var decoding: [DecodeStatus]
    /// How many schemas the file keeps.
    public var schemaCount: Int
    /// The recorded retention policy (nil: everything is kept).
    public var retention: RetentionPolicy?
    /// Whether the file gives pages freed by retention back (incremental auto-vacuum).
    public var returnsFreedPages: Bool
    /// The restores (`spool restore`) of this capture recorded in the file.
    public var restores: [RecordedRestore]

    /// Reads the report from `store` (and `watermarks`, when given).
    public init(store: SpoolStore, watermarks: [TopicPartition: Watermarks]? = nil) throws {
        path = store.path
        partitions = try store.storedPartitions()
        run = try store.runs.latest()
        gaps = try store.runs.gaps()
        completeUntil = try store.completeUntil()
        clusterID = try store.clusterID()
        self.watermarks = watermarks
        keyed = try store.keyed.topics()
        decoding = try store.decoding.status()
        schemaCount = try store.decoding.storedSchemas().count
        databaseBytes = store.fileSize()
        retention = try store.retention.policy()
        returnsFreedPages = try store.returnsFreedPages()
        restores = RecordedRestore.combining(try store.restores.progress())
    }

    /// The retention lines of the text report (empty when nothing was ever removed or asked for).
    func retentionText() -> String {
        let removed = partitions.reduce(0) { $0 + $1.retainedDeleted }
        guard retention != nil || removed > 0 else { return "" }
        var limits: [String] = []
        if let age = retention?.maxAgeMs { limits.append("records older than \(TimeText.durationText(age))") }
        if let size = retention?.maxBytes { limits.append("oldest records while the file is above \(ByteText.format(size))") }
        var out = "retention: " + (limits.isEmpty ? "off" : "removes " + limits.joined(separator: " and "))
        out += "; \(ByteText.count(removed)) records removed so far (from partition fronts: not gaps)\n"
        if retention != nil && !returnsFreedPages {
            out += "  this file predates incremental auto-vacuum: freed pages are reused but the file does not shrink;\n"
            out += "  stop ingest and run spool compact \(TerminalText.safe(path)) once to convert it\n"
        }
        return out
    }

    /// The lag of one partition: current high watermark minus next offset, when known.
    public func lag(_ partition: StoredPartition) -> Int64? {
        watermarks?[partition.topicPartition].map { max(0, $0.high - partition.nextOffset) }
    }

    /// The report as aligned text for people; names and messages from the file are shown as
    /// `TerminalText.safe` writes them.
    public func table() -> String {
        var out = "database: \(TerminalText.safe(path)) (\(ByteText.format(databaseBytes)))\n"
        out += "cluster: \(TerminalText.safe(clusterID ?? "unknown"))\n"
        if let run {
            let topics = run.topics.map { TerminalText.safe("\($0.name):\($0.policy)") }.joined(separator: " ")
            out += "run \(run.id): \(run.status.rawValue), \(run.bounded ? "bounded backfill" : "follow"), started \(TimeText.iso8601(run.startedAt)), cutoff \(TimeText.iso8601(run.cutoff)), topics \(topics)\n"
        } else {
            out += "run: none yet\n"
        }
        out += "complete until: \(completeUntil.map { "\($0) (\(TimeText.iso8601($0)))" } ?? "unknown")\n"
        out += retentionText() + "\n"
        let retained = partitions.contains { $0.retainedFromOffset != nil }
        var header = ["topic", "partition", "start", "end", "next", "stored", "live", "last timestamp", "headers from"]
        if retained { header += ["kept from"] }
        if watermarks != nil { header += ["high", "lag"] }
        let rows = partitions.map { row -> [String] in
            var cells = [row.checkpoint.topicPartition.topic, String(row.checkpoint.topicPartition.partition), String(row.checkpoint.replayStartOffset),
                         String(row.checkpoint.replayEndOffset), String(row.nextOffset), String(row.storedCount),
                         row.checkpoint.isLive ? "yes" : "no",
                         row.lastStoredTimestamp.map { TimeText.iso8601($0) } ?? "-",
                         row.headersFromOffset.map(String.init) ?? "-"]
            if retained { cells.append(row.retainedFromOffset.map(String.init) ?? "-") }
            if let watermarks {
                let high = watermarks[row.topicPartition]?.high
                cells += [high.map(String.init) ?? "?", lag(row).map(String.init) ?? "?"]
            }
            return cells
        }
        out += QueryOutputFormatter.table(header: header, rows: rows)
        if !keyed.isEmpty {
            out += "\nlatest tables (SELECT * FROM \"TOPIC:latest\"):\n"
            let rows = keyed.map { topic in
                [topic.topic, topic.mode.flag, String(topic.keys), String(topic.tombstonesApplied), String(topic.nullKeysSkipped),
                 topic.stalePartitions.isEmpty ? "-" : "may be stale on partition(s) " + topic.stalePartitions.map(String.init).joined(separator: ",")]
            }
            out += QueryOutputFormatter.table(header: ["topic", "mode", "keys", "tombstones applied", "null keys skipped", "retention gaps"],
                                              rows: rows)
        }
        if !decoding.isEmpty {
            out += "\nschema registry decoding (\(schemaCount) schema(s) kept in table schemas):\n"
            let rows = decoding.map { topic in
                [topic.topic, String(topic.decoded), String(topic.pending), String(topic.failed), topic.firstError ?? "-"]
            }
            out += QueryOutputFormatter.table(header: ["topic", "decoded", "pending", "failed", "first error"], rows: rows)
            if decoding.contains(where: { $0.pending > 0 }) {
                out += "pending records wait for their schema: run spool decode \(TerminalText.safe(path)) --schema-registry URL\n"
            }
        }
        if gaps.isEmpty {
            out += "\ngaps: none\n"
        } else {
            out += "\ngaps (offsets deleted by retention before capture):\n"
            for gap in gaps {
                out += "  \(TerminalText.safe(gap.topic))[\(gap.partition)] offsets \(gap.firstMissingOffset)...\(gap.lastMissingOffset) (\(gap.missingCount)), seen \(TimeText.iso8601(gap.detectedAt)), \(gap.accepted ? "accepted" : "refused")\n"
            }
        }
        return out + RecordedRestore.section(restores)
    }

    /// The report as one JSON object.
    public func json() -> String {
        let partitionObjects = partitions.map { row -> String in
            var fields: [(String, String)] = [
                ("topic", JSONText.string(row.checkpoint.topicPartition.topic)),
                ("partition", String(row.checkpoint.topicPartition.partition)),
                ("replay_start_offset", String(row.checkpoint.replayStartOffset)),
                ("replay_end_offset", String(row.checkpoint.replayEndOffset)),
                ("consumed_offset", String(row.checkpoint.consumedOffset)),
                ("released_offset", String(row.checkpoint.releasedOffset)),
                ("next_offset", String(row.nextOffset)),
                ("stored_count", String(row.storedCount)),
                ("is_live", row.checkpoint.isLive ? "true" : "false"),
                ("last_stored_timestamp", JSONText.integer(row.lastStoredTimestamp)),
                ("headers_from_offset", JSONText.integer(row.headersFromOffset)),
                ("retained_from_offset", JSONText.integer(row.retainedFromOffset)),
                ("retained_deleted", String(row.retainedDeleted)),
            ]
            if let watermarks {
                fields.append(("high_watermark", JSONText.integer(watermarks[row.topicPartition]?.high)))
                fields.append(("lag", JSONText.integer(lag(row))))
            }
            return JSONText.object(fields)
        }
        let runObject = run.map { run in
            JSONText.object([
                ("id", String(run.id)), ("status", JSONText.string(run.status.rawValue)),
                ("bounded", run.bounded ? "true" : "false"), ("started_at", String(run.startedAt)),
                ("finished_at", JSONText.integer(run.finishedAt)), ("cutoff", String(run.cutoff)),
                ("cluster_id", run.clusterID.map(JSONText.string) ?? "null"),
                ("topics", JSONText.array(run.topics.map {
                    JSONText.object([("topic", JSONText.string($0.name)), ("policy", JSONText.string($0.policy.description))])
                })),
            ])
        } ?? "null"
        let gapObjects = gaps.map {
            JSONText.object([
                ("topic", JSONText.string($0.topic)), ("partition", String($0.partition)),
                ("first_missing_offset", String($0.firstMissingOffset)), ("last_missing_offset", String($0.lastMissingOffset)),
                ("detected_at", String($0.detectedAt)), ("accepted", $0.accepted ? "true" : "false"),
            ])
        }
        return JSONText.object([
            ("database", JSONText.string(path)),
            ("database_bytes", String(databaseBytes)),
            ("cluster_id", clusterID.map(JSONText.string) ?? "null"),
            ("complete_until", JSONText.integer(completeUntil)),
            ("stored_total", String(partitions.reduce(0) { $0 + $1.storedCount })),
            ("run", runObject),
            ("partitions", JSONText.array(partitionObjects)),
            ("gaps", JSONText.array(gapObjects)),
            ("latest_tables", JSONText.array(keyed.map { topic in
                JSONText.object([
                    ("topic", JSONText.string(topic.topic)), ("mode", JSONText.string(topic.mode.rawValue)),
                    ("keys", String(topic.keys)), ("tombstones_applied", String(topic.tombstonesApplied)),
                    ("null_keys_skipped", String(topic.nullKeysSkipped)), ("log_complete", topic.logComplete ? "true" : "false"),
                    ("stale_partitions", JSONText.array(topic.stalePartitions.map { String($0) })),
                ])
            })),
            ("schemas_kept", String(schemaCount)),
            ("retention", retention.map { policy in
                JSONText.object([("max_age_ms", JSONText.integer(policy.maxAgeMs)), ("max_bytes", JSONText.integer(policy.maxBytes)),
                                 ("returns_freed_pages", returnsFreedPages ? "true" : "false")])
            } ?? "null"),
            ("retained_deleted", String(partitions.reduce(0) { $0 + $1.retainedDeleted })),
            ("decoding", JSONText.array(decoding.map { topic in
                JSONText.object([
                    ("topic", JSONText.string(topic.topic)), ("decoded", String(topic.decoded)), ("pending", String(topic.pending)),
                    ("failed", String(topic.failed)), ("first_error", topic.firstError.map(JSONText.string) ?? "null"),
                ])
            })),
            ("restores", JSONText.array(restores.map { $0.json() })),
        ]) + "\n"
    }
}
