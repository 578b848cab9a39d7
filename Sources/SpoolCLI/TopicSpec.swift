import KafkaReplay

/// Parses the CLI's `--topic NAME[:POLICY]` into a validated `SourceTopic`.
///
/// POLICY is `earliest` (the default), `latest`, the seed's `relative_time:MS` and
/// `absolute_time:MS`, or the human forms `-2h30m` (that long before now) and
/// `@2026-11-01T00:00:00Z` (an ISO-8601 instant, or `@` and epoch milliseconds).
public enum TopicSpec {
    /// The problem with a spec, as a sentence that quotes it.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        /// The sentence.
        public var description: String
    }

    /// Parses one spec; throws `ParseError` with the spec and the rule it breaks.
    public static func parse(_ spec: String) throws -> SourceTopic {
        let name: String
        let policyText: String?
        if let colon = spec.firstIndex(of: ":") {
            name = String(spec[..<colon])
            policyText = String(spec[spec.index(after: colon)...])
        } else {
            name = spec
            policyText = nil
        }
        let topic = SourceTopic(name: name, policy: try policy(policyText, spec: spec))
        do {
            try validateSourceTopic(topic)
        } catch let error as ReplayError {
            throw ParseError(description: "--topic '\(spec)': \(error.description)")
        }
        return topic
    }

    private static func policy(_ text: String?, spec: String) throws -> OffsetPolicy {
        guard let text, !text.isEmpty else { return .earliest }
        if let seed = OffsetPolicy(seedSpelling: text) { return seed }
        if text.hasPrefix("-"), let ms = TimeText.parseDuration(String(text.dropFirst())) {
            return .relativeTime(ms: ms)
        }
        if text.hasPrefix("@") {
            let instant = String(text.dropFirst())
            if let ms = TimeText.parseInstant(instant, nowMs: WallClock.nowMs()), instant != "now" { return .absoluteTime(ms: ms) }
            throw ParseError(description: "--topic '\(spec)': '\(instant)' is not a time; write ISO-8601 such as @2026-11-01T00:00:00Z or epoch milliseconds such as @1793491200000")
        }
        throw ParseError(description: "--topic '\(spec)': unknown policy '\(text)'; use earliest, latest, relative_time:MS, absolute_time:MS, -DURATION (e.g. -2h30m) or @TIME (e.g. @2026-11-01T00:00:00Z)")
    }
}
