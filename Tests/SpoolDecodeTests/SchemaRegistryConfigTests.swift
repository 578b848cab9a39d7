import SpoolModel
import Testing
@testable import SpoolDecode

@Suite("Schema Registry URL and -S settings")
struct SchemaRegistryConfigTests {
    private static let secret = "hunter2"

    private func config(_ url: String, _ settings: [String: String] = [:],
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> SchemaRegistryConfig {
        do {
            return try SchemaRegistryConfig(url: url, settings: settings)
        } catch {
            Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    private func failure(_ url: String, _ settings: [String: String] = [:],
                         sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        do {
            let accepted = try SchemaRegistryConfig(url: url, settings: settings)
            Issue.record("expected an error, got \(accepted)", sourceLocation: sourceLocation)
            return nil
        } catch {
            guard case .badSetting(let text) = error else {
                Issue.record("expected .badSetting, got \(error)", sourceLocation: sourceLocation)
                return nil
            }
            #expect(error.description == text, sourceLocation: sourceLocation)
            #expect(!text.contains(Self.secret), "leaks the secret: \(text)", sourceLocation: sourceLocation)
            return text
        }
    }

    // MARK: URLs

    @Test func plainURL() throws {
        let plain = try config("http://localhost:8081")
        #expect(plain.displayURL == "http://localhost:8081")
        #expect(plain.description == "http://localhost:8081")
        #expect(plain.authorization == nil)
        #expect(plain.requestTimeout == 5)
        #expect(plain.maxRetries == 3)
        #expect(plain.retryBackoff == 0.2)
        #expect(plain.retryBackoffMax == 5)
        #expect(plain.maxResponseBytes == 8 * 1_024 * 1_024)
    }

    @Test func trailingSlashesAreRemoved() throws {
        #expect(try config("http://localhost:8081/").displayURL == "http://localhost:8081")
        #expect(try config("https://registry.example.com///").displayURL == "https://registry.example.com")
        #expect(try config("http://proxy:80/registry/api//").displayURL == "http://proxy:80/registry/api")
    }

    @Test func schemeIsLowercased() throws {
        #expect(try config("HTTPS://Registry.example.com:443").displayURL == "https://Registry.example.com:443")
    }

    @Test func credentialsInTheURLAreTakenOut() throws {
        let withCredentials = try config("https://alice:\(Self.secret)@registry.example.com:8081/")
        #expect(withCredentials.displayURL == "https://registry.example.com:8081")
        #expect(withCredentials.description == "https://registry.example.com:8081 (with credentials)")
        #expect(!withCredentials.description.contains(Self.secret))
        #expect(!withCredentials.description.contains("alice"))
        #expect(withCredentials.authorization == "Basic " + Base64.encode(Array("alice:\(Self.secret)".utf8)))
        #expect(withCredentials.authorization == "Basic YWxpY2U6aHVudGVyMg==")
    }

    @Test func aPasswordWithAnUnencodedSlashIsStillTakenOut() throws {
        let config = try SchemaRegistryConfig(url: "http://alice:pa/ss@registry:8081/base/", settings: [:])
        #expect(config.displayURL == "http://registry:8081/base")
        #expect(!config.description.contains("pa/ss") && config.description.contains("with credentials"))
    }

    @Test func percentEncodedCredentialsAreDecoded() throws {
        let encoded = try config("http://al%40ce:p%3Ass%2Fw%zz@host:8081/x")
        #expect(encoded.displayURL == "http://host:8081/x")
        #expect(encoded.authorization == "Basic " + Base64.encode(Array("al@ce:p:ss/w%zz".utf8)))
    }

    /// An "@" before any query is read as the end of credentials, even in the path: hiding too
    /// much is safe, showing a password with an unencoded "/" is not. A path "@" is written %40.
    @Test func anAtSignInThePathIsReadAsTheEndOfCredentials() throws {
        let url = try config("http://host:8081/a@b")
        #expect(url.displayURL == "http://b")
        #expect(url.authorization != nil)
        let encoded = try config("http://host:8081/a%40b")
        #expect(encoded.displayURL == "http://host:8081/a%40b")
        #expect(encoded.authorization == nil)
    }

    @Test func everyRegistryErrorNamesOnlyTheDisplayURL() throws {
        let withCredentials = try config("https://alice:\(Self.secret)@registry.example.com")
        let url = withCredentials.displayURL
        let errors: [RegistryError] = [
            .unauthorized(url: url, status: 401), .notFound(url: url, id: 7),
            .unavailable(url: url, reason: "timed out"), .badAnswer(url: url, reason: "HTTP 418"),
        ]
        for error in errors {
            #expect(error.description.contains("https://registry.example.com"), "\(error)")
            #expect(!error.description.contains(Self.secret), "\(error)")
            #expect(!error.description.contains("alice"), "\(error)")
        }
        #expect(RegistryError.notFound(url: url, id: 7).description == "schema id 7 is not in schema registry https://registry.example.com")
        #expect(RegistryError.unauthorized(url: url, status: 403).description.contains("HTTP 403"))
    }

    @Test(arguments: [
        "ftp://alice:hunter2@host:21", "localhost:8081", "alice:hunter2@localhost:8081", "http://", "http://alice:hunter2@",
        "http://alice:hunter2@/path", "file:///etc/passwd", "", "https:/alice:hunter2@host",
    ])
    func nonHTTPURLIsRejectedWithoutEchoingThePassword(url: String) {
        let text = failure(url)
        #expect(text?.contains("is not an http:// or https:// URL") == true, "\(text ?? "")")
    }

    @Test func rejectedURLIsShownRedacted() {
        #expect(failure("ftp://alice:hunter2@host:21/x")?.hasPrefix("--schema-registry 'ftp://***@host:21/x' is not") == true)
        #expect(failure("localhost:8081")?.hasPrefix("--schema-registry 'localhost:8081' is not") == true)
    }

    // MARK: settings

    @Test func basicAuthSetting() throws {
        let basic = try config("http://localhost:8081", ["basic.auth.user.info": "bob:\(Self.secret)", "basic.auth.credentials.source": "USER_INFO"])
        #expect(basic.authorization == "Basic " + Base64.encode(Array("bob:\(Self.secret)".utf8)))
        #expect(basic.description == "http://localhost:8081 (with credentials)")
    }

    @Test func basicAuthSettingOverridesURLCredentials() throws {
        let both = try config("http://alice:old@localhost:8081", ["basic.auth.user.info": "bob:new"])
        #expect(both.authorization == "Basic " + Base64.encode(Array("bob:new".utf8)))
    }

    @Test func bearerToken() throws {
        let bearer = try config("http://localhost:8081", ["bearer.auth.token": Self.secret, "bearer.auth.credentials.source": "STATIC_TOKEN"])
        #expect(bearer.authorization == "Bearer \(Self.secret)")
        #expect(bearer.description == "http://localhost:8081 (with credentials)")
    }

    @Test func basicAuthWithoutColon() {
        #expect(failure("http://localhost:8081", ["basic.auth.user.info": Self.secret]) == "-S basic.auth.user.info must be USER:PASSWORD")
    }

    @Test func unknownSettingIsNamed() {
        let text = failure("http://localhost:8081", ["basic.auth.password": Self.secret])
        #expect(text?.hasPrefix("-S basic.auth.password: unknown registry setting") == true, "\(text ?? "")")
    }

    @Test func basicAndBearerTogetherIsAnError() {
        let text = failure("http://localhost:8081", ["basic.auth.user.info": "bob:\(Self.secret)", "bearer.auth.token": Self.secret])
        #expect(text == "-S basic.auth.user.info and -S bearer.auth.token: give one of them, not both")
        let fromURL = failure("http://bob:\(Self.secret)@localhost:8081", ["bearer.auth.token": Self.secret])
        #expect(fromURL == text)
    }

    @Test func numericSettings() throws {
        let tuned = try config("http://localhost:8081", [
            "request.timeout.ms": "2500", "max.retries": "0", "retry.backoff.ms": "50", "retry.backoff.max.ms": "1000",
        ])
        #expect(tuned.requestTimeout == 2.5)
        #expect(tuned.maxRetries == 0)
        #expect(tuned.retryBackoff == 0.05)
        #expect(tuned.retryBackoffMax == 1)
        #expect(tuned.authorization == nil)
    }

    @Test func responseSizeLimit() throws {
        #expect(try config("http://localhost:8081", ["max.response.bytes": "4096"]).maxResponseBytes == 4_096)
        #expect(failure("http://localhost:8081", ["max.response.bytes": "1023"])
            == "-S max.response.bytes=1023: expected a whole number of bytes ≥ 1024 (default 8388608)")
        #expect(failure("http://localhost:8081", ["max.response.bytes": "8MiB"])?.hasPrefix("-S max.response.bytes=8MiB: expected") == true)
    }

    @Test(arguments: ["request.timeout.ms", "max.retries", "retry.backoff.ms", "retry.backoff.max.ms"])
    func badNumbersAreRejected(key: String) {
        #expect(failure("http://localhost:8081", [key: "soon"]) == "-S \(key)=soon: expected a number ≥ 0")
        #expect(failure("http://localhost:8081", [key: "-1"]) == "-S \(key)=-1: expected a number ≥ 0")
    }

    // MARK: ParsedURL

    @Test func parsedURLParts() {
        let parsed = ParsedURL("https://u:p@h:1/a/")
        #expect(parsed?.withoutCredentials == "https://h:1/a")
        #expect(parsed?.userInfo == "u:p")
        #expect(ParsedURL("http://h")?.userInfo == nil)
        #expect(ParsedURL("http://a@b@h")?.userInfo == "a@b")
        #expect(ParsedURL("http://a@b@h")?.withoutCredentials == "http://h")
        #expect(ParsedURL("mailto:x@y") == nil)
    }

    @Test func redactedHidesUserInfo() {
        #expect(ParsedURL.redacted("ftp://u:p@h/x") == "ftp://***@h/x")
        #expect(ParsedURL.redacted("ftp://h/x@y") == "ftp://h/x@y")
        #expect(!ParsedURL.redacted("u:\(Self.secret)@h:8081").contains(Self.secret))
    }
}
