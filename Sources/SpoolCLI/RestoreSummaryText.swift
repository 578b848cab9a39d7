import SpoolRestore

/// The text `spool restore` writes to standard error: a progress line and the closing summary.
public enum RestoreSummaryText {
    /// One progress line: `restore orders → orders-copy: 120000/200000 records (60%), 41000/s`.
    public static func progressLine(_ outcome: TopicRestoreOutcome, elapsedSeconds: Double) -> String {
        let done = outcome.alreadyRestored + outcome.written
        let percent = outcome.selected > 0 ? " (\(done * 100 / outcome.selected)%)" : ""
        let rate = elapsedSeconds > 0 ? Int(Double(outcome.written) / elapsedSeconds) : 0
        return "restore \(outcome.mapping.source) → \(outcome.mapping.target): \(done)/\(outcome.selected) records\(percent), \(rate)/s"
    }

    /// The summary: per topic what was written and what was already there, the restore id,
    /// records outside the window or without a reproducible timestamp, warnings, and with
    /// `--verify` each partition's comparison.
    public static func lines(outcomes: [TopicRestoreOutcome], verifications: [String: [PartitionVerification]]) -> [String] {
        var lines: [String] = []
        for outcome in outcomes {
            let name = "\(outcome.mapping.source) → \(outcome.mapping.target)"
            var line: String
            if outcome.selected == 0 {
                line = "restore \(name): nothing to write; the capture holds no record of '\(outcome.mapping.source)' in the selected window"
            } else if outcome.stopped {
                line = "restore \(name): stopped; \(outcome.alreadyRestored + outcome.written) of \(outcome.selected) records are in '\(outcome.mapping.target)' (\(outcome.written) written now); run the same command to continue"
            } else if outcome.written == 0 && outcome.alreadyRestored == outcome.selected {
                line = "restore \(name): nothing to write; all \(outcome.selected) records were already restored"
            } else {
                line = "restore \(name): \(outcome.written) records written in \(outcome.transactions) transaction(s)"
                if outcome.alreadyRestored > 0 { line += ", \(outcome.alreadyRestored) already restored earlier" }
                line += "; \(outcome.alreadyRestored + outcome.written) of \(outcome.selected) in all"
            }
            line += " (restore id \(outcome.restoreID))"
            lines.append(line)
            if outcome.outsideWindow > 0 { lines.append("  \(outcome.outsideWindow) captured record(s) outside --from/--until were left out") }
            if outcome.untimed > 0 {
                lines.append("  \(outcome.untimed) record(s) had no reproducible timestamp (-1 or 0) and got the broker's time")
            }
            if outcome.retries > 0 { lines.append("  \(outcome.retries) transaction(s) were rolled back after a broker error and redone") }
            for warning in outcome.warnings { lines.append("  warning: \(warning)") }
        }
        for (topic, partitions) in verifications.sorted(by: { $0.key < $1.key }) {
            let equal = partitions.filter(\.isEqual).count
            lines.append("verify \(topic): \(equal) of \(partitions.count) partition(s) equal to the capture (read_committed)")
            for partition in partitions where !partition.isEqual {
                var text = "  \(topic)[\(partition.partition)]: \(partition.found) record(s), the capture selected \(partition.expected)"
                if let difference = partition.firstDifference {
                    text += difference.source >= 0
                        ? "; the first difference is at offset \(difference.destination) (captured offset \(difference.source))"
                        : "; offset \(difference.destination) and after are not from the capture"
                }
                lines.append(text)
            }
        }
        return lines
    }
}
