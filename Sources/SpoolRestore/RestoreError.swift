/// Why a restore refused to start or stopped, as a sentence that names the topic, partition or
/// setting and says what to change.
public enum RestoreError: Error, CustomStringConvertible, Sendable {
    /// A flag or topic mapping is wrong (exit 2).
    case usage(String)
    /// The destination is not fit to receive the records, or Kafka failed (exit 4).
    case refused(String)
    /// The restore was fenced or could not go on (exit 4).
    case kafka(String)

    /// The sentence.
    public var description: String {
        switch self {
        case .usage(let text), .refused(let text), .kafka(let text): return text
        }
    }
}
