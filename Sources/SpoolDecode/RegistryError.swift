/// Why the registry could not give a schema.
///
/// Every case names the registry by its URL without credentials; none carries a secret.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A bad URL or `-S` setting (exit 2).
    case badSetting(String)
    /// The registry refused the credentials (401/403).
    case unauthorized(url: String, status: Int)
    /// The registry has no such schema id (404): records using it cannot be decoded.
    case notFound(url: String, id: Int32)
    /// The registry has no schema with this GUID (404; GUIDs come from record headers).
    case guidNotFound(url: String, guid: String)
    /// Not reachable, too slow, or an error worth trying again later.
    case unavailable(url: String, reason: String)
    /// An answer that is not what a Confluent registry sends.
    case badAnswer(url: String, reason: String)
    /// The registry answered with a redirect (3xx), which Spool does not follow so that the
    /// credentials never reach another server. `target` is the Location's origin
    /// (`scheme://host:port`, never its path, query or credentials).
    case redirected(url: String, status: Int, target: String)
    /// An answer longer than the limit (`-S max.response.bytes`); `what` names what was asked
    /// for, e.g. "schema id 7".
    case tooLarge(url: String, what: String, limit: Int)
    /// A stop was asked for (SIGINT/SIGTERM) while waiting for the registry.
    case stopped(url: String)

    /// A sentence naming the registry (never its credentials) and what to do.
    public var description: String {
        switch self {
        case .badSetting(let text): text
        case .unauthorized(let url, let status):
            "schema registry \(url) refused the credentials (HTTP \(status)); check -S basic.auth.user.info or -S bearer.auth.token"
        case .notFound(let url, let id): "schema id \(id) is not in schema registry \(url)"
        case .guidNotFound(let url, let guid):
            "schema guid \(guid) is not in schema registry \(url) (it needs GET /schemas/guids, Confluent Platform 8 or later)"
        case .unavailable(let url, let reason): "schema registry \(url) is unavailable: \(reason)"
        case .badAnswer(let url, let reason): "schema registry \(url) gave an unexpected answer: \(reason)"
        case .redirected(let url, let status, let target):
            "schema registry \(url) answered HTTP \(status), a redirect to \(target); Spool does not follow redirects "
                + "(the credentials must not go to another server): give the registry's final URL in --schema-registry"
        case .tooLarge(let url, let what, let limit):
            "schema registry \(url): the answer for \(what) is larger than the limit of \(limit) bytes "
                + "(raise it with -S max.response.bytes=N if the schema is really that big)"
        case .stopped(let url): "stopped on request while waiting for schema registry \(url)"
        }
    }

    /// Whether asking again later may succeed (the registry was down, slow or busy).
    var isTransient: Bool {
        if case .unavailable = self { return true }
        return false
    }
}
