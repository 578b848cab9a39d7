import SpoolIngest

/// Parses librdkafka properties given as `key=value` lines (`--config-file`) or `-X key=value`.
public enum KafkaConfigFile {
    /// A line that is not `key=value`, naming where it is.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        /// The sentence.
        public var description: String
    }

    /// Parses file contents: blank lines and lines starting with `#` are skipped.
    public static func parse(_ text: String, source: String) throws -> [String: String] {
        var config: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let (key, value) = try pair(line, place: "\(source) line \(number + 1)")
            config[key] = value
        }
        return config
    }

    /// Parses one `key=value`.
    public static func pair(_ text: String, place: String) throws -> (String, String) {
        guard let equals = text.firstIndex(of: "=") else {
            throw ParseError(description: "\(place): expected key=value, got '\(text.split(separator: " ").first ?? "")…'")
        }
        let key = String(text[..<equals]).trimmingWhitespace()
        let value = String(text[text.index(after: equals)...]).trimmingWhitespace()
        guard !key.isEmpty else { throw ParseError(description: "\(place): the property name before '=' is empty") }
        return (key, value)
    }
}
