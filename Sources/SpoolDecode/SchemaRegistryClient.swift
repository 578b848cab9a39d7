import SpoolModel

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches schemas from a Confluent-compatible Schema Registry over HTTP(S).
///
/// Uses the REST calls every Confluent client uses: `GET /schemas/ids/{id}` (or, for a GUID
/// from a record header, `GET /schemas/guids/{guid}`, Confluent Platform 8) and, for
/// references, `GET /subjects/{subject}/versions/{version}`; for a Protobuf schema also
/// `?format=serialized` (its `FileDescriptorProto`, Confluent Platform 5.5+). Each request has a timeout;
/// network errors, 5xx and 429 answers are retried with doubling waits; TLS is checked against
/// the system's CA bundle. Redirects are not followed and answers are read up to
/// `config.maxResponseBytes` (see `RegistryTransport`). Every wait, for an answer or between
/// attempts, ends within a tenth of a second once `isStopped` returns true. Safe to call from
/// several threads.
public final class SchemaRegistryClient: Sendable {
    /// Where and how.
    public let config: SchemaRegistryConfig
    private let transport: RegistryTransport
    private let isStopped: @Sendable () -> Bool

    /// A client for `config`; `isStopped` (polled while waiting) ends waits early, with
    /// `RegistryError.stopped`, once it returns true.
    public init(config: SchemaRegistryConfig, isStopped: @escaping @Sendable () -> Bool = { false }) {
        self.config = config
        self.isStopped = isStopped
        transport = RegistryTransport(timeout: config.requestTimeout, maxBytes: config.maxResponseBytes)
    }

    deinit { transport.close() }

    /// Whether a stop was asked for: waits for this registry should end now.
    public var stopRequested: Bool { isStopped() }

    /// Checks that the registry answers and accepts the credentials (`GET /subjects`; how long
    /// the list is does not matter).
    ///
    /// Throws `.unauthorized` for refused credentials; any other error means it did not answer
    /// as a registry should (unreachable, an error status, a redirect).
    public func probe() throws(RegistryError) {
        do {
            _ = try getJSON("/subjects", attempts: 1)
        } catch .tooLarge {
            return
        }
    }

    /// The schema `id` and every schema its references need.
    public func fetch(id: Int32, fetchedAt: Int64) throws(RegistryError) -> FetchedSchema {
        try fetch(.id(id), fetchedAt: fetchedAt)
    }

    /// The schema `key` names (`GET /schemas/ids/{id}`, or `GET /schemas/guids/{guid}` for a
    /// GUID from a record header) and every schema its references need.
    public func fetch(_ key: SchemaKey, fetchedAt: Int64) throws(RegistryError) -> FetchedSchema {
        var referenced: [StoredSchema] = []
        let main: StoredSchema
        switch key {
        case .id(let id):
            let answer = try getJSON("/schemas/ids/\(id)", what: "schema id \(id)", notFound: .notFound(url: config.displayURL, id: id))
            main = try stored(answer, key: key, fetchedAt: fetchedAt, referenced: &referenced, depth: 0)
        case .guid(let guid):
            let answer = try getJSON("/schemas/guids/\(guid)", what: "schema guid \(guid)",
                                     notFound: .guidNotFound(url: config.displayURL, guid: guid.description))
            main = try stored(answer, key: key, fetchedAt: fetchedAt, referenced: &referenced, depth: 0)
        }
        return FetchedSchema(main: main, referenced: referenced)
    }

    /// Turns one registry answer into a stored schema, fetching its references (depth first,
    /// so each lands in `referenced` before the schemas that use it).
    private func stored(_ answer: JSONValue, key: SchemaKey, fetchedAt: Int64, referenced: inout [StoredSchema],
                        depth: Int) throws(RegistryError) -> StoredSchema {
        guard let text = answer["schema"]?.stringValue else { throw .badAnswer(url: config.displayURL, reason: "no \"schema\" for \(key)") }
        guard depth < 32 else { throw .badAnswer(url: config.displayURL, reason: "references nested deeper than 32 at \(key)") }
        var references = SchemaReference.parseList(answer["references"]?.jsonText)
        for index in references.indices {
            let reference = references[index]
            let subject = Self.pathComponent(reference.subject)
            let version = try getJSON("/subjects/\(subject)/versions/\(reference.version)",
                                      what: "subject '\(reference.subject)' version \(reference.version) (a reference of \(key))")
            guard let referencedID = version["id"]?.intValue.flatMap({ Int32(exactly: $0) }) else {
                throw .badAnswer(url: config.displayURL, reason: "no id for subject '\(reference.subject)' version \(reference.version)")
            }
            references[index].id = referencedID
            if !referenced.contains(where: { $0.id == referencedID }) {
                let child = try stored(version, key: .id(referencedID), fetchedAt: fetchedAt, referenced: &referenced, depth: depth + 1)
                referenced.append(child)
            }
        }
        let type = answer["schemaType"]?.stringValue ?? "AVRO"
        let serialized = type == "PROTOBUF" ? try serializedDescriptor(key) : nil
        switch key {
        case .id(let id):
            return StoredSchema(registry: config.displayURL, id: id, type: type, text: text,
                                referencesJSON: SchemaReference.listText(references), fetchedAt: fetchedAt, serialized: serialized)
        case .guid(let guid):
            return StoredSchema(registry: config.displayURL, id: 0, type: type, text: text,
                                referencesJSON: SchemaReference.listText(references), fetchedAt: fetchedAt, serialized: serialized,
                                guid: guid.description)
        }
    }

    /// The base64 `FileDescriptorProto` of the Protobuf schema `key` names (`?format=serialized`),
    /// nil when the registry does not serialize (an older registry answers an error or the
    /// text): then the text is decoded from.
    private func serializedDescriptor(_ key: SchemaKey) throws(RegistryError) -> String? {
        let path = switch key {
        case .id(let id): "/schemas/ids/\(id)?format=serialized"
        case .guid(let guid): "/schemas/guids/\(guid)?format=serialized"
        }
        let answer: JSONValue
        do {
            answer = try getJSON(path, what: "\(key) (serialized)")
        } catch .badAnswer {
            return nil
        }
        guard let text = answer["schema"]?.stringValue, let bytes = Data(base64Encoded: text), !bytes.isEmpty else { return nil }
        return text
    }

    /// GETs `path` and parses the JSON answer, retrying what is worth retrying; `what` names
    /// what was asked for in errors.
    private func getJSON(_ path: String, what: String? = nil, notFound: RegistryError? = nil,
                         attempts: Int? = nil) throws(RegistryError) -> JSONValue {
        let total = attempts ?? config.maxRetries + 1
        var wait = config.retryBackoff
        var attempt = 1
        while true {
            do {
                return try getOnce(path, what: what ?? path, notFound: notFound)
            } catch {
                guard error.isTransient, attempt < total else { throw error }
                try pause(wait)
                wait = min(wait * 2, config.retryBackoffMax)
                attempt += 1
            }
        }
    }

    /// Waits `seconds` between attempts, in slices, ending early with `.stopped` on a stop.
    private func pause(_ seconds: Double) throws(RegistryError) {
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(Int(seconds * 1_000))
        while clock.now < end {
            if isStopped() { throw .stopped(url: config.displayURL) }
            Thread.sleep(forTimeInterval: min(0.05, max(0, (end - clock.now).seconds)))
        }
        if isStopped() { throw .stopped(url: config.displayURL) }
    }

    private func getOnce(_ path: String, what: String, notFound: RegistryError?) throws(RegistryError) -> JSONValue {
        let url = config.displayURL
        guard let target = URL(string: url + path) else { throw .badSetting("cannot form a URL from \(url)\(path)") }
        var request = URLRequest(url: target, timeoutInterval: config.requestTimeout)
        request.setValue("application/vnd.schemaregistry.v1+json, application/json", forHTTPHeaderField: "Accept")
        if let authorization = config.authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        let answer = try send(request, what: what)
        switch answer.status {
        case 200..<300:
            do {
                return try JSONValue(parsing: String(decoding: answer.body, as: UTF8.self))
            } catch {
                throw .badAnswer(url: url, reason: "\(path): \(error)")
            }
        case 300..<400: throw .redirected(url: url, status: answer.status, target: Self.origin(of: answer.location))
        case 401, 403: throw .unauthorized(url: url, status: answer.status)
        case 404 where notFound != nil: throw notFound!
        case 429, 500...: throw .unavailable(url: url, reason: "HTTP \(answer.status) for \(path)")
        default: throw .badAnswer(url: url, reason: "HTTP \(answer.status) for \(path): \(Self.excerpt(answer.body))")
        }
    }

    private func send(_ request: URLRequest, what: String) throws(RegistryError) -> RegistryTransport.Answer {
        let url = config.displayURL
        switch transport.get(request, deadline: config.requestTimeout + 1, isStopped: isStopped) {
        case .success(let answer): return answer
        case .failure(.tooLarge): throw .tooLarge(url: url, what: what, limit: config.maxResponseBytes)
        case .failure(.challenged): throw .unauthorized(url: url, status: 401)
        case .failure(.stopped): throw .stopped(url: url)
        case .failure(.noAnswer): throw .unavailable(url: url, reason: "no answer within \(config.requestTimeout) s")
        case .failure(.transport(let reason)): throw .unavailable(url: url, reason: reason)
        }
    }

    /// `scheme://host[:port]` of a redirect's target: never its path, query or credentials.
    static func origin(of location: URL?) -> String {
        guard let location, let scheme = location.scheme, let host = location.host, !host.isEmpty else {
            return "a Location that is not a URL"
        }
        return scheme.lowercased() + "://" + host + (location.port.map { ":\($0)" } ?? "")
    }

    /// The start of an error answer's body, as text on one line, for messages.
    private static func excerpt(_ body: Data) -> String {
        String(decoding: body.prefix(300), as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// Percent-encodes a subject for use as one path segment.
    private static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }
}
