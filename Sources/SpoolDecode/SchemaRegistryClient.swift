import SpoolModel

import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// Fetches schemas from a Confluent-compatible Schema Registry over HTTP(S).
///
/// Uses the REST calls every Confluent client uses: `GET /schemas/ids/{id}` and, for
/// references, `GET /subjects/{subject}/versions/{version}`. Each request has a timeout;
/// network errors, 5xx and 429 answers are retried with doubling waits; TLS is checked against
/// the system's CA bundle. Safe to call from several threads.
public final class SchemaRegistryClient: Sendable {
    /// Where and how.
    public let config: SchemaRegistryConfig
    private let session: URLSession
    private let challenges = ChallengeRecorder()

    /// A client for `config`.
    public init(config: SchemaRegistryConfig) {
        self.config = config
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = config.requestTimeout
        configuration.timeoutIntervalForResource = config.requestTimeout
        configuration.httpMaximumConnectionsPerHost = 2
        session = URLSession(configuration: configuration, delegate: challenges, delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    /// Checks that the registry answers and accepts the credentials (`GET /subjects`).
    ///
    /// Throws `.unauthorized` for refused credentials; `.unavailable` when it cannot be reached.
    public func probe() throws(RegistryError) {
        _ = try getJSON("/subjects", attempts: 1)
    }

    /// The schema `id` and every schema its references need.
    public func fetch(id: Int32, fetchedAt: Int64) throws(RegistryError) -> FetchedSchema {
        let answer = try getJSON("/schemas/ids/\(id)", notFoundID: id)
        var referenced: [StoredSchema] = []
        let main = try stored(answer, id: id, fetchedAt: fetchedAt, referenced: &referenced, depth: 0)
        return FetchedSchema(main: main, referenced: referenced)
    }

    /// Turns one registry answer into a stored schema, fetching its references (depth first,
    /// so each lands in `referenced` before the schemas that use it).
    private func stored(_ answer: JSONValue, id: Int32, fetchedAt: Int64, referenced: inout [StoredSchema],
                        depth: Int) throws(RegistryError) -> StoredSchema {
        guard let text = answer["schema"]?.stringValue else { throw .badAnswer(url: config.displayURL, reason: "no \"schema\" for id \(id)") }
        guard depth < 32 else { throw .badAnswer(url: config.displayURL, reason: "references nested deeper than 32 at id \(id)") }
        var references = SchemaReference.parseList(answer["references"]?.jsonText)
        for index in references.indices {
            let reference = references[index]
            let subject = Self.pathComponent(reference.subject)
            let version = try getJSON("/subjects/\(subject)/versions/\(reference.version)")
            guard let referencedID = version["id"]?.intValue.flatMap({ Int32(exactly: $0) }) else {
                throw .badAnswer(url: config.displayURL, reason: "no id for subject '\(reference.subject)' version \(reference.version)")
            }
            references[index].id = referencedID
            if !referenced.contains(where: { $0.id == referencedID }) {
                let child = try stored(version, id: referencedID, fetchedAt: fetchedAt, referenced: &referenced, depth: depth + 1)
                referenced.append(child)
            }
        }
        return StoredSchema(registry: config.displayURL, id: id, type: answer["schemaType"]?.stringValue ?? "AVRO", text: text,
                            referencesJSON: SchemaReference.listText(references), fetchedAt: fetchedAt)
    }

    /// GETs `path` and parses the JSON answer, retrying what is worth retrying.
    private func getJSON(_ path: String, notFoundID: Int32? = nil, attempts: Int? = nil) throws(RegistryError) -> JSONValue {
        let total = attempts ?? config.maxRetries + 1
        var wait = config.retryBackoff
        var attempt = 1
        while true {
            do {
                return try getOnce(path, notFoundID: notFoundID)
            } catch {
                guard case .unavailable = error, attempt < total else { throw error }
                Thread.sleep(forTimeInterval: wait)
                wait = min(wait * 2, config.retryBackoffMax)
                attempt += 1
            }
        }
    }

    private func getOnce(_ path: String, notFoundID: Int32?) throws(RegistryError) -> JSONValue {
        let url = config.displayURL
        guard let target = URL(string: url + path) else { throw .badSetting("cannot form a URL from \(url)\(path)") }
        var request = URLRequest(url: target, timeoutInterval: config.requestTimeout)
        request.setValue("application/vnd.schemaregistry.v1+json, application/json", forHTTPHeaderField: "Accept")
        if let authorization = config.authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        let (status, body) = try send(request)
        switch status {
        case 200..<300:
            do {
                return try JSONValue(parsing: String(decoding: body, as: UTF8.self))
            } catch {
                throw .badAnswer(url: url, reason: "\(path): \(error)")
            }
        case 401, 403: throw .unauthorized(url: url, status: status)
        case 404 where notFoundID != nil: throw .notFound(url: url, id: notFoundID!)
        case 429, 500...: throw .unavailable(url: url, reason: "HTTP \(status) for \(path)")
        default: throw .badAnswer(url: url, reason: "HTTP \(status) for \(path): \(String(decoding: body.prefix(300), as: UTF8.self))")
        }
    }

    private func send(_ request: URLRequest) throws(RegistryError) -> (Int, Data) {
        let result = Mutex<Result<(Int, Data), RegistryError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let url = config.displayURL
        let challenges = self.challenges
        let task = session.dataTask(with: request) { data, response, error in
            let outcome: Result<(Int, Data), RegistryError>
            if let http = response as? HTTPURLResponse, http.statusCode == 401 || http.statusCode == 403 {
                outcome = .success((http.statusCode, data ?? Data()))
            } else if error != nil, challenges.wasChallenged(url: request.url) {
                outcome = .failure(.unauthorized(url: url, status: 401))
            } else if let error {
                outcome = .failure(.unavailable(url: url, reason: Self.describe(error)))
            } else if let http = response as? HTTPURLResponse {
                outcome = .success((http.statusCode, data ?? Data()))
            } else {
                outcome = .failure(.unavailable(url: url, reason: "no HTTP response"))
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + config.requestTimeout + 1) == .timedOut {
            task.cancel()
            throw .unavailable(url: url, reason: "no answer within \(config.requestTimeout) s")
        }
        guard let outcome = result.withLock({ $0 }) else { throw .unavailable(url: url, reason: "no answer") }
        return try outcome.get()
    }

    /// Answers HTTP authentication challenges (a 401 with `WWW-Authenticate`) by declining
    /// them, so the request ends at once as refused credentials instead of waiting for a
    /// delegate. `@unchecked Sendable`: its only state is behind a `Mutex`.
    private final class ChallengeRecorder: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        private let challenged = Mutex<Set<String>>([])

        func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                        completionHandler: @escaping @Sendable (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
            let method = challenge.protectionSpace.authenticationMethod
            if method == NSURLAuthenticationMethodHTTPBasic || method == NSURLAuthenticationMethodDefault, let url = task.originalRequest?.url {
                challenged.withLock { _ = $0.insert(url.absoluteString) }
                completionHandler(.cancelAuthenticationChallenge, nil)
            } else {
                completionHandler(.performDefaultHandling, nil)
            }
        }

        func wasChallenged(url: URL?) -> Bool {
            guard let url else { return false }
            return challenged.withLock { $0.contains(url.absoluteString) }
        }
    }

    /// A short reason for a transport error, without the URL (which could carry credentials).
    private static func describe(_ error: Error) -> String {
        let nsError = error as NSError
        switch nsError.code {
        case NSURLErrorTimedOut: return "timed out"
        case NSURLErrorCannotConnectToHost: return "connection refused"
        case NSURLErrorCannotFindHost: return "host not found"
        case NSURLErrorSecureConnectionFailed, NSURLErrorServerCertificateUntrusted, NSURLErrorServerCertificateHasBadDate,
             NSURLErrorServerCertificateNotYetValid, NSURLErrorServerCertificateHasUnknownRoot:
            return "TLS failed (the certificate is not trusted by the system CA bundle)"
        default: return "network error \(nsError.code)"
        }
    }

    /// Percent-encodes a subject for use as one path segment.
    private static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }
}
