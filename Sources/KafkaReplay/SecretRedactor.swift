/// Keeps secret configuration values out of logs, errors and status output.
///
/// A property is secret when its name mentions a password, a secret, a private key or an OAuth
/// bearer configuration. `redact(_:)` replaces every occurrence of any secret value in a text.
public struct SecretRedactor: Sendable {
    /// The replacement text for a secret value.
    public static let mask = "[redacted]"

    private let secrets: [String]

    /// Collects the secret values of `config`.
    public init(config: [String: String]) {
        secrets = config.filter { Self.isSecret(key: $0.key) && !$0.value.isEmpty }
            .map(\.value)
            .sorted { $0.count > $1.count }
    }

    /// Whether the librdkafka property `key` holds a secret (`sasl.password`, `ssl.key.password`, ...).
    public static func isSecret(key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered.contains("password") || lowered.contains("secret")
            || lowered == "ssl.key.pem" || lowered == "sasl.oauthbearer.config"
            || lowered.hasSuffix(".private.key") || lowered.contains("private_key")
    }

    /// `text` with every secret value replaced by `mask`.
    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacing(secret, with: Self.mask)
        }
        return result
    }

    /// `config` with the value of every secret property replaced by `mask`, for display.
    public static func masked(_ config: [String: String]) -> [String: String] {
        config.reduce(into: [:]) { $0[$1.key] = isSecret(key: $1.key) ? mask : $1.value }
    }
}
