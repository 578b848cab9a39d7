import Foundation
import SpoolTestSupport
import Synchronization
import Testing
@testable import SpoolDecode

/// `SchemaRegistryClient` against the test registry misbehaving: redirects are not followed
/// (and credentials never reach the redirect's target), answers over the size limit are cut
/// off, and a stop ends a wait for a slow registry at once.
@Suite("Schema Registry client defences", .serialized, .timeLimit(.minutes(2)))
struct SchemaRegistryClientTests {
    private static let smallSchema = #"{"type":"record","name":"Small","fields":[{"name":"n","type":"long"}]}"#

    /// A schema whose text is about `bytes` long (a record with a long doc string).
    static func bigSchema(bytes: Int) -> String {
        #"{"type":"record","name":"Big","doc":"\#(String(repeating: "x", count: bytes))","fields":[{"name":"n","type":"long"}]}"#
    }

    private func client(_ url: String, _ settings: [String: String] = [:],
                        isStopped: @escaping @Sendable () -> Bool = { false }) throws -> SchemaRegistryClient {
        SchemaRegistryClient(config: try SchemaRegistryConfig(url: url, settings: ["max.retries": "0"].merging(settings) { $1 }),
                             isStopped: isStopped)
    }

    @Test func aRedirectIsNotFollowedAndNamesOnlyTheTargetsOrigin() throws {
        let dir = TemporaryDirectory()
        let record = dir.file("target-requests.txt")
        let target = try SchemaRegistryServer(misbehaviour: .init(recordAuthorization: record))
        let moved = try SchemaRegistryServer(misbehaviour: .init(redirectTo: target.url + "/deep/path?token=abc"))
        let credentials = try client(moved.url.replacing("http://", with: "http://alice:url-secret@"))
        let error = #expect(throws: RegistryError.self) { try credentials.probe() }
        #expect(error == .redirected(url: moved.url, status: 302, target: target.url), "\(String(describing: error))")
        let text = error.map(String.init(describing:)) ?? ""
        #expect(text.contains("give the registry's final URL in --schema-registry") && !text.contains("deep") && !text.contains("abc"))
        #expect(!text.contains("url-secret"))
        #expect(!FileManager.default.fileExists(atPath: record), "the redirect target was asked: \(target.logTail)")
    }

    @Test func aRedirectToAnotherSchemeOrToItselfIsTheSameClearError() throws {
        let ftp = try SchemaRegistryServer(misbehaviour: .init(redirectTo: "ftp://127.0.0.1:21/pub"))
        let toFTP = #expect(throws: RegistryError.self) { try client(ftp.url).fetch(id: 1, fetchedAt: 0) }
        #expect(toFTP == .redirected(url: ftp.url, status: 302, target: "ftp://127.0.0.1:21"), "\(String(describing: toFTP))")
        let loop = try SchemaRegistryServer(misbehaviour: .init(redirectTo: "self"))
        let toItself = #expect(throws: RegistryError.self) { try client(loop.url).fetch(id: 1, fetchedAt: 0) }
        #expect(toItself == .redirected(url: loop.url, status: 302, target: loop.url), "\(String(describing: toItself))")
    }

    @Test(arguments: [false, true])
    func anAnswerOverTheLimitIsCutOff(streamed: Bool) throws {
        let registry = try SchemaRegistryServer(misbehaviour: .init(noContentLength: streamed))
        let small = try KafkaTool.registerSchema("small", schema: Self.smallSchema, registry: registry.url).id
        let big = try KafkaTool.registerSchema("big", schema: Self.bigSchema(bytes: 200_000), registry: registry.url).id
        let limited = try client(registry.url, ["max.response.bytes": "100000"])
        #expect(try limited.fetch(id: small, fetchedAt: 0).main.text == Self.smallSchema)
        let error = #expect(throws: RegistryError.self) { try limited.fetch(id: big, fetchedAt: 0) }
        #expect(error == .tooLarge(url: registry.url, what: "schema id \(big)", limit: 100_000), "\(String(describing: error))")
        #expect(error.map { "\($0)".contains("schema id \(big)") && "\($0)".contains("100000 bytes") } == true)
        let roomy = try client(registry.url, ["max.response.bytes": "300000"])
        #expect(try roomy.fetch(id: big, fetchedAt: 0).main.text.count > 200_000)
    }

    @Test func aStopEndsTheWaitForASlowRegistryAtOnce() throws {
        let registry = try SchemaRegistryServer(delayMs: 30_000)
        let id = try KafkaTool.registerSchema("slow", schema: Self.smallSchema, registry: registry.url).id
        let stop = Atomic<Bool>(false)
        let slow = try client(registry.url, ["max.retries": "3", "request.timeout.ms": "20000"]) { stop.load(ordering: .acquiring) }
        let clock = ContinuousClock()
        let started = clock.now
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { stop.store(true, ordering: .releasing) }
        let error = #expect(throws: RegistryError.self) { try slow.fetch(id: id, fetchedAt: 0) }
        #expect(error == .stopped(url: registry.url))
        #expect(clock.now - started < .seconds(2), "the stop took \(clock.now - started)")
    }

    @Test func aMissingProbeEndpointIsAnErrorThatIsNotRefusedCredentials() throws {
        let registry = try SchemaRegistryServer(misbehaviour: .init(missingPath: "/subjects"))
        let error = #expect(throws: RegistryError.self) { try client(registry.url).probe() }
        guard case .badAnswer(let url, let reason) = error else {
            Issue.record("expected .badAnswer, got \(String(describing: error))")
            return
        }
        #expect(url == registry.url && reason.hasPrefix("HTTP 404 for /subjects"), "\(reason)")
    }

    @Test func transportErrorsReadAsSentencesNotNumbers() {
        let codes = [NSURLErrorHTTPTooManyRedirects, NSURLErrorRedirectToNonExistentLocation, NSURLErrorBadServerResponse,
                     NSURLErrorUnsupportedURL, NSURLErrorNetworkConnectionLost, NSURLErrorSecureConnectionFailed,
                     NSURLErrorCancelled, NSURLErrorDNSLookupFailed, NSURLErrorZeroByteResource]
        for code in codes {
            let text = TransportErrorText.reason(for: NSError(domain: NSURLErrorDomain, code: code))
            #expect(!text.contains("\(code)") && !text.contains("network error"), "code \(code): \(text)")
        }
        #expect(TransportErrorText.reason(for: NSError(domain: NSURLErrorDomain, code: NSURLErrorHTTPTooManyRedirects))
            .contains("redirects"))
    }
}
