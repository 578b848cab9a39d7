import KafkaReplay
import SpoolStore

/// Judges whether a destination topic can take a restore's records unchanged, before anything
/// is sent: every problem is a sentence naming the topic and the setting, and what to change.
struct DestinationCheck {
    /// The restore's topics.
    var mapping: TopicMapping
    /// What the restore selected, per partition.
    var selections: [Int32: PartitionSelection]
    /// Now, in ms since the epoch.
    var nowMs: Int64

    /// The problems that refuse the restore (empty when none), and warnings that do not.
    func problems(with destination: TopicDescription) -> (refusals: [String], warnings: [String]) {
        var refusals: [String] = []
        let dst = "topic '\(mapping.target)'"
        let chosen = selections.values.filter { $0.count > 0 }
        if let highest = chosen.map(\.partition).max(), Int(highest) >= destination.partitionCount {
            refusals.append("\(dst) has \(destination.partitionCount) partition(s) but the capture holds records of '\(mapping.source)' partition \(highest); give it at least \(highest + 1) partitions (kafka-topics --alter --partitions \(highest + 1)) or restore into another topic")
        }
        guard let configs = destination.configs else {
            let reason = destination.configsUnavailable ?? "the broker did not describe it"
            return (refusals, ["\(dst): its configuration could not be checked (\(reason)); timestamp type, timestamp limits, retention and message size are not verified"])
        }
        let oldest = chosen.compactMap(\.oldestTimestamp).min()
        let newest = chosen.compactMap(\.newestTimestamp).max()
        if configs["message.timestamp.type"] == "LogAppendTime" {
            refusals.append("\(dst) has message.timestamp.type=LogAppendTime: the broker would replace every captured timestamp with its own; set it to CreateTime (kafka-configs --alter --add-config message.timestamp.type=CreateTime) or restore into another topic")
        }
        if let oldest {
            refusals += limit(configs, "message.timestamp.difference.max.ms", exceededBy: max(nowMs - oldest, (newest ?? nowMs) - nowMs), what: "the oldest record is \(ageText(nowMs - oldest)) old")
            refusals += limit(configs, "message.timestamp.before.max.ms", exceededBy: nowMs - oldest, what: "the oldest record is \(ageText(nowMs - oldest)) old")
            if let retention = number(configs["retention.ms"]), retention >= 0, nowMs - oldest > retention {
                refusals.append("\(dst) has retention.ms=\(retention) (\(ageText(retention))) but the oldest record to restore is \(ageText(nowMs - oldest)) old: the broker would delete it as soon as it is written; raise retention.ms above \(nowMs - oldest + 86_400_000) (or -1 to keep records forever), or restore a later window with --from")
            }
        }
        if let newest, newest > nowMs {
            refusals += limit(configs, "message.timestamp.after.max.ms", exceededBy: newest - nowMs, what: "the newest record is \(ageText(newest - nowMs)) in the future")
        }
        let nullKeys = chosen.reduce(0) { $0 + $1.nullKeys }
        if nullKeys > 0, (configs["cleanup.policy"] ?? "").contains("compact") {
            refusals.append("\(dst) is compacted (cleanup.policy=\(configs["cleanup.policy"] ?? "")) and \(nullKeys) record(s) to restore have a null key, which a compacted topic rejects; restore into a topic with cleanup.policy=delete")
        }
        let largest = chosen.map(\.largestRecordBytes).max() ?? 0
        if let maxBytes = number(configs["max.message.bytes"]), largest + 512 > maxBytes {
            refusals.append("\(dst) has max.message.bytes=\(maxBytes) but the largest record to restore holds \(largest) bytes of key, value and headers; raise max.message.bytes above \(largest + 1024)")
        }
        return (refusals, [])
    }

    /// A refusal when `name` is set (not the unlimited maximum) and `amount` ms exceeds it.
    private func limit(_ configs: [String: String], _ name: String, exceededBy amount: Int64, what: String) -> [String] {
        guard let limit = number(configs[name]), limit >= 0, limit < Int64.max, amount > limit else { return [] }
        return ["topic '\(mapping.target)' has \(name)=\(limit) (\(ageText(limit))) and \(what): the broker would reject it; raise \(name) or restore a later window with --from"]
    }

    private func number(_ text: String?) -> Int64? { text.flatMap { Int64($0) } }

    /// A duration in the largest whole unit that fits: `3d`, `5h`, `12m`, `40s`, `250ms`.
    private func ageText(_ ms: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] where ms >= size {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }
}
