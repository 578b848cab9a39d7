import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// One GET to the registry at a time per caller, over a shared `URLSession`, with the rules
/// Spool keeps towards every registry:
///
/// - Redirects are never followed (the 3xx answer is returned as it is), so the Authorization
///   header never reaches another server, and a redirect loop cannot happen.
/// - An answer is read up to `maxBytes`: a longer one (by its Content-Length, or as it streams
///   in) is cut off at once, so a huge answer costs no more memory than the limit.
/// - An authentication challenge is declined, so refused credentials end the request at once.
/// - The wait for an answer is polled in short slices and ends as soon as `isStopped` says so.
///
/// `@unchecked Sendable`: its only mutable state, the exchanges in flight, is behind a `Mutex`;
/// URLSession calls the delegate methods on its own serial queue.
final class RegistryTransport: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// A complete answer (any status).
    struct Answer {
        var status: Int
        var body: Data
        /// The Location header of a redirect, resolved against the request's URL.
        var location: URL?
    }

    /// What arrived so far for one task.
    private struct Exchange {
        let done: DispatchSemaphore
        var status: Int?
        var location: URL?
        var body = Data()
        var cutOff = false
        var challenged = false
        var error: Error?
    }

    private let maxBytes: Int
    private let exchanges = Mutex<[Int: Exchange]>([:])
    private let session = Mutex<URLSession?>(nil)

    /// A transport whose requests time out after `timeout` seconds and whose answers are read
    /// up to `maxBytes`.
    init(timeout: Double, maxBytes: Int) {
        self.maxBytes = maxBytes
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpMaximumConnectionsPerHost = 2
        configuration.httpShouldSetCookies = false
        session.withLock { $0 = URLSession(configuration: configuration, delegate: self, delegateQueue: nil) }
    }

    /// Ends the session (the session keeps its delegate, this object, until then).
    func close() {
        session.withLock { session in
            session?.invalidateAndCancel()
            session = nil
        }
    }

    /// How a request ended, when it did not end with a whole answer.
    enum Failure: Error {
        /// The answer is longer than `maxBytes`.
        case tooLarge
        /// The server asked for credentials (a challenge) and the request was declined.
        case challenged
        /// No answer within `deadline`.
        case noAnswer
        /// `isStopped` said so while waiting.
        case stopped
        /// A transport error (its `TransportErrorText` reason).
        case transport(String)
    }

    /// Sends `request` and waits for the whole answer, at most `deadline` seconds.
    func get(_ request: URLRequest, deadline: Double, isStopped: () -> Bool) -> Result<Answer, Failure> {
        guard let task = session.withLock({ $0?.dataTask(with: request) }) else { return .failure(.transport("the client is closed")) }
        let done = DispatchSemaphore(value: 0)
        let id = task.taskIdentifier
        exchanges.withLock { $0[id] = Exchange(done: done) }
        defer { exchanges.withLock { $0[id] = nil } }
        task.resume()
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(Int(deadline * 1_000))
        while done.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if isStopped() {
                task.cancel()
                return .failure(.stopped)
            }
            if clock.now >= end {
                task.cancel()
                return .failure(.noAnswer)
            }
        }
        return exchanges.withLock { $0[id] }.map(Self.outcome) ?? .failure(.transport("the answer was lost"))
    }

    private static func outcome(_ exchange: Exchange) -> Result<Answer, Failure> {
        if exchange.cutOff { return .failure(.tooLarge) }
        if let status = exchange.status, status == 401 || status == 403 || (300..<400).contains(status) {
            return .success(Answer(status: status, body: exchange.body, location: exchange.location))
        }
        if exchange.challenged { return .failure(.challenged) }
        if let error = exchange.error { return .failure(.transport(TransportErrorText.reason(for: error))) }
        guard let status = exchange.status else { return .failure(.transport("no HTTP answer")) }
        return .success(Answer(status: status, body: exchange.body, location: exchange.location))
    }

    private func update(_ task: URLSessionTask, _ change: (inout Exchange) -> Void) {
        exchanges.withLock { all in
            if var exchange = all[task.taskIdentifier] {
                change(&exchange)
                all[task.taskIdentifier] = exchange
            }
        }
    }

    // MARK: URLSession delegate

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        let tooLong = response.expectedContentLength > Int64(maxBytes)
        update(dataTask) { exchange in
            exchange.status = http?.statusCode
            exchange.location = Self.location(of: http, request: dataTask.currentRequest)
            exchange.cutOff = tooLong
        }
        completionHandler(tooLong ? .cancel : .allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        var tooLong = false
        update(dataTask) { exchange in
            guard !exchange.cutOff else { return }
            if exchange.body.count + data.count > maxBytes {
                exchange.cutOff = true
                exchange.body = Data()
                tooLong = true
            } else {
                exchange.body.append(data)
            }
        }
        if tooLong { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        update(task) { exchange in
            exchange.status = response.statusCode
            exchange.location = request.url ?? Self.location(of: response, request: task.currentRequest)
        }
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                    completionHandler: @escaping @Sendable (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        let method = challenge.protectionSpace.authenticationMethod
        if method == NSURLAuthenticationMethodHTTPBasic || method == NSURLAuthenticationMethodDefault {
            update(task) { $0.challenged = true }
            completionHandler(.cancelAuthenticationChallenge, nil)
        } else {
            completionHandler(.performDefaultHandling, nil)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        var done: DispatchSemaphore?
        update(task) { exchange in
            if exchange.status == nil, let http = task.response as? HTTPURLResponse {
                exchange.status = http.statusCode
                exchange.location = Self.location(of: http, request: task.currentRequest)
            }
            exchange.error = error
            done = exchange.done
        }
        done?.signal()
    }

    /// The Location header of `response`, resolved against the request's URL.
    private static func location(of response: HTTPURLResponse?, request: URLRequest?) -> URL? {
        guard let text = response?.value(forHTTPHeaderField: "Location") else { return nil }
        return URL(string: text, relativeTo: request?.url)?.absoluteURL
    }
}
