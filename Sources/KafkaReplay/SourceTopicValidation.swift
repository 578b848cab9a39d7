/// Checks a source topic against Kafka's topic-name rules and the policy's time rules.
///
/// A valid name has 1 to 249 characters, all from `[A-Za-z0-9._-]`, and is neither `.` nor `..`.
/// Times must not be negative. The thrown `ReplayError.invalidTopic` says which rule failed.
public func validateSourceTopic(_ topic: SourceTopic) throws {
    let name = topic.name
    func fail(_ reason: String) -> ReplayError { .invalidTopic(name: name, reason: reason) }
    if name.isEmpty { throw fail("a topic name must have at least 1 character") }
    if name.utf8.count > 249 {
        throw fail("a topic name has at most 249 characters, this one has \(name.utf8.count)")
    }
    if name == "." || name == ".." { throw fail("a topic name cannot be '.' or '..'") }
    for scalar in name.unicodeScalars {
        let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
            || (scalar >= "0" && scalar <= "9") || scalar == "." || scalar == "_" || scalar == "-"
        if !ok {
            throw fail("'\(scalar.escaped(asASCII: true))' is not allowed; use only letters, digits, '.', '_' and '-'")
        }
    }
    switch topic.policy {
    case .relativeTime(let ms) where ms < 0:
        throw fail("relative_time must not be negative (got \(ms) ms); it counts milliseconds before now")
    case .absoluteTime(let ms) where ms < 0:
        throw fail("absolute_time must not be negative (got \(ms)); it is a Unix time in milliseconds")
    default:
        break
    }
}
