import SpoolModel

/// Where the Schema Registry is and how to talk to it: the URL (credentials taken out of it)
/// and the `-S key=value` settings.
///
/// Settings: `basic.auth.user.info=USER:PASSWORD` (or credentials in the URL),
/// `bearer.auth.token=TOKEN`, `request.timeout.ms` (per request, default 5000),
/// `max.retries` (default 3), `retry.backoff.ms` (first wait, doubled each time, default 200),
/// `retry.backoff.max.ms` (default 5000), `max.response.bytes` (the longest answer read,
/// default `defaultMaxResponseBytes`). The secrets never appear in `description`, `displayURL`
/// or errors.
public struct SchemaRegistryConfig: Sendable, CustomStringConvertible {
    /// The base URL without credentials or a trailing slash; also the identity stored with schemas.
    public let displayURL: String
    /// The value of the Authorization header, nil for none.
    let authorization: String?
    /// Per-request timeout in seconds.
    public var requestTimeout: Double = 5
    /// Retries after the first attempt, for answers worth retrying (network errors, 5xx, 429).
    public var maxRetries = 3
    /// First wait between attempts, in seconds; doubled after each.
    public var retryBackoff: Double = 0.2
    /// Longest wait between attempts, in seconds.
    public var retryBackoffMax: Double = 5
    /// The longest registry answer read, in bytes: a longer one is cut off and the schema it
    /// carries is refused, so a huge schema cannot fill the memory or the database.
    public var maxResponseBytes = Self.defaultMaxResponseBytes

    /// The default of `max.response.bytes`: 8 MiB, far above any real schema.
    public static let defaultMaxResponseBytes = 8 << 20
    /// The smallest `max.response.bytes` accepted.
    public static let minimumMaxResponseBytes = 1_024

    /// Parses `url` (http or https) and `settings`; throws a message naming the bad part.
    public init(url: String, settings: [String: String]) throws(RegistryError) {
        guard let parsed = ParsedURL(url) else {
            throw .badSetting("--schema-registry '\(ParsedURL.redacted(url))' is not an http:// or https:// URL (e.g. http://localhost:8081)")
        }
        displayURL = parsed.withoutCredentials
        var basic = parsed.userInfo
        var bearer: String?
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "basic.auth.user.info":
                guard value.contains(":") else { throw .badSetting("-S basic.auth.user.info must be USER:PASSWORD") }
                basic = value
            case "bearer.auth.token": bearer = value
            case "basic.auth.credentials.source", "bearer.auth.credentials.source": continue
            case "request.timeout.ms": requestTimeout = try Self.number(key, value) / 1000
            case "max.retries": maxRetries = Int(try Self.number(key, value))
            case "retry.backoff.ms": retryBackoff = try Self.number(key, value) / 1000
            case "retry.backoff.max.ms": retryBackoffMax = try Self.number(key, value) / 1000
            case "max.response.bytes": maxResponseBytes = try Self.byteLimit(key, value)
            default:
                throw .badSetting("-S \(key): unknown registry setting (known: basic.auth.user.info, bearer.auth.token, request.timeout.ms, max.retries, retry.backoff.ms, retry.backoff.max.ms, max.response.bytes)")
            }
        }
        if basic != nil && bearer != nil { throw .badSetting("-S basic.auth.user.info and -S bearer.auth.token: give one of them, not both") }
        if let bearer {
            authorization = "Bearer " + bearer
        } else if let basic {
            authorization = "Basic " + Base64.encode(Array(basic.utf8))
        } else {
            authorization = nil
        }
    }

    /// The URL and whether credentials are set, never the credentials.
    public var description: String { displayURL + (authorization == nil ? "" : " (with credentials)") }

    private static func number(_ key: String, _ value: String) throws(RegistryError) -> Double {
        guard let number = Double(value), number >= 0 else { throw .badSetting("-S \(key)=\(value): expected a number ≥ 0") }
        return number
    }

    private static func byteLimit(_ key: String, _ value: String) throws(RegistryError) -> Int {
        guard let number = Int(value), number >= minimumMaxResponseBytes else {
            throw .badSetting("-S \(key)=\(value): expected a whole number of bytes ≥ \(minimumMaxResponseBytes) (default \(defaultMaxResponseBytes))")
        }
        return number
    }
}

/// An http(s) URL split into what may be shown and the credentials it carried.
struct ParsedURL {
    let withoutCredentials: String
    let userInfo: String?

    init?(_ text: String) {
        let lower = text.lowercased()
        guard let schemeEnd = text.range(of: "://"), lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return nil }
        let scheme = text[..<schemeEnd.lowerBound]
        var rest = text[schemeEnd.upperBound...]
        // Credentials end at the last "@" before any query: a password with an unencoded "/"
        // would otherwise end the host part early and be shown as the URL.
        let queryStart = rest.firstIndex { $0 == "?" || $0 == "#" } ?? rest.endIndex
        if let at = rest[..<queryStart].lastIndex(of: "@") {
            userInfo = String(rest[..<at]).removingPercentEscapes
            rest = rest[rest.index(after: at)...]
        } else {
            userInfo = nil
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty else { return nil }
        rest = rest[authorityEnd...]
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        withoutCredentials = scheme.lowercased() + "://" + authority + rest
    }

    /// `text` with any credentials replaced by `***`, for error messages about a bad URL.
    ///
    /// Without "://" (e.g. `user:pass@host:8081`, `https:/user:pass@host`) there is no telling
    /// where credentials end, so everything before the last "@" is hidden.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else {
            guard let at = text.lastIndex(of: "@") else { return text }
            return "***" + String(text[at...])
        }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        return String(text[..<schemeEnd.upperBound]) + "***" + String(rest[at...])
    }
}

private extension String {
    /// Decodes %XX escapes (credentials in URLs are percent-encoded).
    var removingPercentEscapes: String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
               let high = JSONParser.hexValue(iterator[iterator.startIndex]),
               let low = JSONParser.hexValue(iterator[iterator.startIndex + 1]) {
                bytes.append(UInt8(high << 4 | low))
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
