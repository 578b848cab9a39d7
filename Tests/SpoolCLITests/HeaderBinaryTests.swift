@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolStore
import SpoolTestSupport
import Testing

/// Headers through the `spool` binary: exact after `kill -9` and resume, and shown by `query`.
@Suite("spool and record headers", .serialized, .timeLimit(.minutes(3)))
struct HeaderBinaryTests {
    /// Records with a varying mix of headers: none, text, null, empty, binary, duplicates.
    static func records(partitions: Int32, perPartition: Int) -> [MockMessage] {
        var messages: [MockMessage] = []
        for index in 0..<perPartition {
            for partition in 0..<partitions {
                var headers: [MessageHeader] = []
                if index % 4 != 0 { headers.append(MessageHeader(name: "trace", value: Array("t-\(partition)-\(index)".utf8))) }
                if index % 3 == 1 { headers.append(MessageHeader(name: "trace", value: nil)) }
                if index % 5 == 2 { headers.append(MessageHeader(name: "bin", value: [0xFF, UInt8(truncatingIfNeeded: index), 0])) }
                if index % 7 == 3 { headers.append(MessageHeader(name: "empty", value: [])) }
                messages.append(MockMessage(partition: partition, key: Array("k\(index)".utf8), value: Array(repeating: 7, count: 60),
                                            timestamp: 1_700_000_000_000 + Int64(index) * 10 + Int64(partition), headers: headers))
            }
        }
        return messages
    }

    @Test func headersStayExactAcrossKillNineAndResume() throws {
        let scenario = try MockScenario()
        let db = scenario.file("k.sqlite")
        try scenario.cluster.createTopic("k", partitions: 3)
        let produced = Self.records(partitions: 3, perPartition: 20_000)
        try scenario.cluster.produce(topic: "k", produced)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "k", "--db", "k.sqlite", "--batch-size", "300", "--quiet"]
        let kills = try runKilledAt([4_000, 19_000, 41_000], arguments: arguments, directory: scenario.directory.path, db: db, topic: "k")
        #expect(kills >= 2, "the ingest was killed mid-run at least twice")
        let last = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(last.status == 0, "\(last.output)")
        let store = try SpoolStore.openForReading(path: db)
        for partition in Int32(0)..<3 {
            let want = produced.filter { $0.partition == partition }
            let got = try store.messages(topic: "k", partition: partition)
            #expect(got.map(\.offset) == Array(0..<Int64(want.count)), "offsets of k[\(partition)]")
            #expect(got.map(\.headers) == want.map(\.headers), "headers of k[\(partition)]")
        }
        #expect(try store.verify().isSound)
    }

    @Test func queryEmbedsHeadersAsJSONAndShowsThemCompactly() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("q", partitions: 1)
        try scenario.cluster.produce(topic: "q", [
            MockMessage(partition: 0, key: nil, value: nil, timestamp: 1_000,
                        headers: [MessageHeader(name: "trace", value: Array("abc".utf8)), MessageHeader(name: "n", value: nil),
                                  MessageHeader(name: "bin", value: [0, 255])]),
            MockMessage(partition: 0, key: nil, value: nil, timestamp: 1_001),
        ])
        let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "q", "--db", "q.sqlite", "--quiet"],
                                          directory: scenario.directory.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        let jsonl = try SpoolProcess.run(["query", "q.sqlite", "SELECT offset, headers FROM q ORDER BY offset", "--format", "jsonl"],
                                         directory: scenario.directory.path)
        #expect(jsonl.stdout == """
            {"offset":0,"headers":[{"key":"trace","value":"abc"},{"key":"n","value":null},{"key":"bin","value_base64":"AP8="}]}
            {"offset":1,"headers":null}

            """)
        let json = try SpoolProcess.run(["query", "q.sqlite", "SELECT headers FROM q WHERE offset = 0", "--format", "json"], directory: scenario.directory.path)
        #expect(json.stdout == "[\n{\"headers\":[{\"key\":\"trace\",\"value\":\"abc\"},{\"key\":\"n\",\"value\":null},{\"key\":\"bin\",\"value_base64\":\"AP8=\"}]}\n]\n")
        let table = try SpoolProcess.run(["query", "q.sqlite", "SELECT offset, headers FROM q ORDER BY offset"], directory: scenario.directory.path)
        #expect(table.stdout.contains("0       trace=abc, n=NULL, bin=b64:AP8="), "\(table.stdout)")
        // A text column that merely is called headers stays a string.
        let plain = try SpoolProcess.run(["query", "q.sqlite", "SELECT 'not json' AS headers", "--format", "jsonl"], directory: scenario.directory.path)
        #expect(plain.stdout == "{\"headers\":\"not json\"}\n")
        // Filtering by a header with SQLite's JSON functions.
        let filtered = try SpoolProcess.run(["query", "q.sqlite",
                                             "SELECT offset FROM q, json_each(q.headers) AS h WHERE h.value ->> 'key' = 'bin'", "--format", "csv"],
                                            directory: scenario.directory.path)
        #expect(filtered.stdout == "offset\n0\n", "\(filtered.output)")
        let status = try SpoolProcess.run(["status", "q.sqlite", "--format", "json"], directory: scenario.directory.path)
        #expect(status.stdout.contains("\"headers_from_offset\":0"), "\(status.stdout)")
    }
}
