import SpoolIngest

/// The text of `spool ingest`'s progress display and closing summary; topic names and the file
/// name are shown as `TerminalText.safe` writes them.
public enum ProgressText {
    /// One line per topic (stored / to go, rate, ETA) and a line of held and paused counts.
    public static func lines(_ progress: IngestProgress, rate: Double) -> [String] {
        var lines = progress.topics.map { topic -> String in
            let eta: String
            if topic.remaining == 0 {
                eta = "caught up"
            } else if rate > 0 {
                eta = "ETA " + TimeText.durationText(Int64(Double(topic.remaining) / rate * 1000))
            } else {
                eta = "ETA ?"
            }
            return "\(TerminalText.safe(topic.topic)): \(ByteText.count(topic.stored)) stored, \(ByteText.count(topic.remaining)) to go, \(topic.livePartitions)/\(topic.partitions) partitions live, \(eta)"
        }
        lines.append("\(ByteText.count(Int64(rate))) msg/s, \(ByteText.count(Int64(progress.heldMessages))) held, \(progress.pausedPartitions) paused, \(progress.isLive ? "live" : "replaying"), \(TimeText.durationText(Int64(progress.elapsedSeconds * 1000))) elapsed")
        return lines
    }

    /// The closing summary: stored per topic, time, rate, database size, live or not.
    public static func summary(_ summary: IngestSummary, path rawPath: String) -> String {
        let path = TerminalText.safe(rawPath)
        var out = ""
        for (topic, count) in summary.storedPerTopic.sorted(by: { $0.key < $1.key }) {
            out += "  \(TerminalText.safe(topic)): \(ByteText.count(count)) messages stored\n"
        }
        let state = summary.isLive ? "live: every partition caught up" : (summary.stoppedOnRequest ? "stopped on request; run the same command again to continue" : "not live")
        out += "stored \(ByteText.count(summary.storedTotal)) messages in \(ByteText.oneDecimal(summary.elapsedSeconds)) s (\(ByteText.count(Int64(summary.messagesPerSecond))) msg/s) into \(path) (\(ByteText.format(summary.databaseBytes))); \(state)\n"
        let decoding = summary.decoding
        if decoding != DecodeCounts() {
            out += "decoded \(ByteText.count(decoding.decoded)) record(s) with the schema registry"
            if decoding.failed > 0 { out += "; \(ByteText.count(decoding.failed)) could not be decoded (see spool status \(path))" }
            if decoding.pending > 0 { out += "; \(ByteText.count(decoding.pending)) pending: run spool decode \(path) --schema-registry URL" }
            out += "\n"
        }
        if summary.gapsAccepted > 0 {
            out += "warning: \(summary.gapsAccepted) gap(s) accepted; see spool status \(path)\n"
        }
        return out
    }
}
