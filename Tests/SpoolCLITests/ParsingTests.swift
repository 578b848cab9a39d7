@_spi(MockCluster) import SpoolSampleData
import SpoolTestSupport
@_spi(MockCluster) import KafkaReplay
import SpoolIngest
import SpoolStore
import Testing
@testable import SpoolCLI

@Suite("CLI parsing and formatting")
struct ParsingTests {
    @Test func instantsParse() {
        #expect(TimeText.parseInstant("now", nowMs: 123) == 123)
        #expect(TimeText.parseInstant("1700000000000", nowMs: 0) == 1_700_000_000_000)
        #expect(TimeText.parseInstant("1970-01-01T00:00:00Z", nowMs: 0) == 0)
        #expect(TimeText.parseInstant("2026-11-01T00:00:00Z", nowMs: 0) == 1_793_491_200_000)
        #expect(TimeText.parseInstant("2026-11-01", nowMs: 0) == 1_793_491_200_000)
        #expect(TimeText.parseInstant("2026-11-01T02:00:00.250+02:00", nowMs: 0) == 1_793_491_200_250)
        #expect(TimeText.parseInstant("2024-02-29T12:00:00Z", nowMs: 0) == 1_709_208_000_000)
        for bad in ["yesterday", "2026-13-01", "2026-02-30T00:00:00Z", "2026-11-01T00:00:00", "", "12ab"] {
            #expect(TimeText.parseInstant(bad, nowMs: 0) == nil, "\(bad)")
        }
    }

    @Test func isoRoundTrips() {
        for ms: Int64 in [0, 1_793_491_200_000, 1_709_208_000_123, 951_782_400_000, -86_400_000] {
            #expect(TimeText.parseISO8601(TimeText.iso8601(ms)) == ms)
        }
        #expect(TimeText.iso8601(1_793_491_200_250) == "2026-11-01T00:00:00.250Z")
    }

    @Test func durationsParse() {
        #expect(TimeText.parseDuration("2h30m") == 9_000_000)
        #expect(TimeText.parseDuration("1d") == 86_400_000)
        #expect(TimeText.parseDuration("90s") == 90_000)
        #expect(TimeText.parseDuration("500ms") == 500)
        #expect(TimeText.parseDuration("1w2d") == Int64(777_600_000))
        #expect(TimeText.parseDuration("2x") == nil)
        #expect(TimeText.parseDuration("h") == nil)
        #expect(TimeText.durationText(3_723_000) == "1h2m3s")
    }

    @Test func topicSpecsParse() throws {
        #expect(try TopicSpec.parse("orders") == .fromEarliest("orders"))
        #expect(try TopicSpec.parse("orders:latest") == .fromLatest("orders"))
        #expect(try TopicSpec.parse("orders:relative_time:5000") == .fromRelativeTime("orders", ms: 5_000))
        #expect(try TopicSpec.parse("orders:absolute_time:17") == .fromAbsoluteTime("orders", ms: 17))
        #expect(try TopicSpec.parse("orders.v1:-2h30m") == .fromRelativeTime("orders.v1", ms: 9_000_000))
        #expect(try TopicSpec.parse("orders:@2026-11-01T00:00:00Z") == .fromAbsoluteTime("orders", ms: 1_793_491_200_000))
        #expect(try TopicSpec.parse("orders:@1000") == .fromAbsoluteTime("orders", ms: 1_000))
        #expect { try TopicSpec.parse("orders:sometimes") } throws: { "\($0)".contains("unknown policy 'sometimes'") }
        #expect { try TopicSpec.parse("bad name") } throws: { "\($0)".contains("--topic 'bad name'") }
        #expect { try TopicSpec.parse("orders:@soon") } throws: { "\($0)".contains("not a time") }
    }

    @Test func configFilesParse() throws {
        let config = try KafkaConfigFile.parse("# comment\nbootstrap.servers = a:1\n\nsasl.password=x=y\n", source: "f")
        #expect(config == ["bootstrap.servers": "a:1", "sasl.password": "x=y"])
        #expect { try KafkaConfigFile.parse("ok=1\nnot a pair\n", source: "f") } throws: { "\($0)".contains("f line 2") }
    }

    @Test func blobsRender() {
        #expect(BlobStyle.text.render(Array("héllo".utf8)).0 == "héllo")
        #expect(BlobStyle.text.render([0xff, 0x00]).0 == "ff00")
        #expect(BlobStyle.hex.render(Array("ab".utf8)).0 == "6162")
        #expect(BlobStyle.base64.render(Array("any carnal pleas".utf8)).0 == "YW55IGNhcm5hbCBwbGVhcw==")
        #expect(BlobStyle.base64.render(Array("any carnal pleasu".utf8)).0 == "YW55IGNhcm5hbCBwbGVhc3U=")
        #expect(BlobStyle.base64.render(Array("any carnal pleasur".utf8)).0 == "YW55IGNhcm5hbCBwbGVhc3Vy")
    }

    @Test func queryFormatsRender() {
        func render(_ format: OutputFormat) -> String {
            var text = ""
            var formatter = QueryOutputFormatter(format: format, blobs: .text) { text += $0 }
            formatter.begin(columns: ["key", "timestamp", "n"])
            formatter.add([.blob(Array("k,1".utf8)), .integer(1_793_491_200_000), .null])
            formatter.add([.null, .integer(5), .real(1.5)])
            formatter.end()
            return text
        }
        #expect(render(.csv) == "key,timestamp,n\n\"k,1\",1793491200000,\n,5,1.5\n")
        #expect(render(.jsonl) == "{\"key\":\"k,1\",\"timestamp\":1793491200000,\"n\":null}\n{\"key\":null,\"timestamp\":5,\"n\":1.5}\n")
        #expect(render(.json) == "[\n{\"key\":\"k,1\",\"timestamp\":1793491200000,\"n\":null},\n{\"key\":null,\"timestamp\":5,\"n\":1.5}\n]\n")
        let table = render(.table)
        #expect(table.contains("1793491200000 (2026-11-01T00:00:00.000Z)"))
        #expect(table.contains("NULL"))
        #expect(table.hasSuffix("(2 rows)\n"))
        #expect(JSONText.string("a\"b\\\n\u{01}") == "\"a\\\"b\\\\\\n\\u0001\"")
    }

    @Test func sampleDataLooksReal() {
        let messages = SampleData.messages(topic: "orders", partitions: 3, count: 300, nowMs: 1_800_000_000_000)
        #expect(messages.count == 300)
        #expect(messages.contains { $0.key == nil })
        #expect(messages.contains { $0.value == nil })
        #expect(Set(messages.map(\.partition)) == [0, 1, 2])
        for p in Int32(0)..<3 {
            let stamps = messages.filter { $0.partition == p }.map(\.timestamp)
            #expect(stamps == stamps.sorted())
        }
        #expect(messages.allSatisfy { $0.timestamp > 1_800_000_000_000 - 4 * 86_400_000 && $0.timestamp <= 1_800_000_000_000 })
        #expect(String(decoding: messages[0].value ?? [], as: UTF8.self).hasPrefix("{\"id\":0,"))
    }

    @Test func errorsMapToExitCodes() {
        #expect(ExitStatus.forError(ReplayError.unknownTopic(name: "x")) == .kafka)
        #expect(ExitStatus.forError(ReplayError.invalidTopic(name: "x", reason: "y")) == .usage)
        #expect(ExitStatus.forError(IngestError.gapRefused(topic: "t", partition: 0, storedNextOffset: 1, earliestOffset: 5)) == .kafka)
        #expect(ExitStatus.forError(StoreError.inUse(path: "p", holder: nil)) == .inUse)
        #expect(ExitStatus.forError(StoreError.notSpoolDatabase(path: "p", reason: "r")) == .storage)
        #expect(ExitStatus.forError(QueryError.multipleStatements) == .usage)
    }
}
