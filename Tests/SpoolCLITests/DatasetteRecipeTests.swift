import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@_spi(MockCluster) import KafkaReplay
@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Testing

/// The Datasette recipe of docs/recipes.md, run as written (`datasette` from the test venv, which
/// `scripts/test-venv.sh` pins) against a real capture, on a free loopback port instead of 8001.
@Suite("the Datasette recipe in docs/recipes.md", .serialized, .timeLimit(.minutes(2)))
struct DatasetteRecipeTests {
    /// The port the recipe's commands name; the test replaces it with a free one.
    static let recipePort = "8001"
    /// The recipe's count query (its JSON API), as the recipe spells it.
    static let countPath = "/capture.json?sql=select+count(*)+from+messages&_shape=array"
    /// The recipe's SQL for reading keys and values as text.
    static let textSQL = "select topic, partition, offset, timestamp, CAST(key AS TEXT) AS key, CAST(value AS TEXT) AS value, headers from orders order by timestamp desc"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The recipe's section of docs/recipes.md.
    static func recipe() throws -> String {
        let root = try #require(TestVenv.repoRoot, "the repository root (Package.swift) was not found above \(#filePath)")
        let text = try String(contentsOfFile: root + "/docs/recipes.md", encoding: .utf8)
        let start = try #require(text.range(of: "## Browse a capture with Datasette\n"), "docs/recipes.md has no Datasette recipe")
        let rest = text[start.upperBound...]
        return String(rest[..<(rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex)])
    }

    /// The recipe's `datasette serve ...` lines, each as the arguments after `datasette`.
    static func serveCommands(in recipe: String) -> [[String]] {
        recipe.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("datasette serve ") }
            .map { $0.split(separator: " ").dropFirst().map(String.init) }
    }

    /// `arguments` with the recipe's port replaced by `port`; fails unless they bind 127.0.0.1 and name 8001.
    static func onPort(_ arguments: [String], _ port: Int) throws -> [String] {
        let host = try #require(arguments.firstIndex(of: "--host"), "the recipe's \(arguments) gives no --host")
        #expect(arguments.indices.contains(host + 1) && arguments[host + 1] == "127.0.0.1", "the recipe binds \(arguments) to loopback")
        let index = try #require(arguments.firstIndex(of: "--port"), "the recipe's \(arguments) gives no --port")
        try #require(arguments.indices.contains(index + 1) && arguments[index + 1] == recipePort, "the recipe's \(arguments) serves on \(recipePort)")
        var replaced = arguments
        replaced[index + 1] = String(port)
        return replaced
    }

    /// GET `path` from 127.0.0.1:`port`: the status and the body.
    static func get(_ port: Int, _ path: String) async throws -> (status: Int, body: Data) {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"), "\(path) is not a URL path")
        var request = URLRequest(url: url)
        request.timeoutInterval = 15
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// GET `path` and parse its JSON body, failing unless the status is 200.
    static func getJSON(_ port: Int, _ path: String) async throws -> Any {
        let (status, body) = try await get(port, path)
        guard status == 200 else {
            throw Failure(description: "GET \(path) answered \(status): \(String(decoding: body.prefix(2_000), as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: body)
    }

    /// The stored count through the recipe's query.
    static func count(_ port: Int) async throws -> Int? {
        let rows = try await getJSON(port, countPath) as? [[String: Any]]
        return (rows?.first?["count(*)"] as? NSNumber)?.intValue
    }

    /// The names of the tables and views Datasette lists for the capture.
    static func tablesAndViews(_ port: Int) async throws -> (tables: Set<String>, views: Set<String>) {
        let json = try await getJSON(port, "/capture.json")
        let database = try #require(json as? [String: Any], "/capture.json is not an object: \(json)")
        let names = { (key: String) in Set(((database[key] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }) }
        return (names("tables"), names("views"))
    }

    /// Starts `datasette ARGUMENTS` in `directory` and waits until it answers `/capture.json`;
    /// a wait that times out, or a datasette that exits first, fails with its output.
    static func serve(_ arguments: [String], directory: String, executable: String) async throws -> SpoolProcess.Running {
        let datasette = try SpoolProcess.Running(arguments, directory: directory, executable: executable)
        let port = Int(arguments[arguments.firstIndex(of: "--port")! + 1])!
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            if let status = datasette.exitStatus {
                throw Failure(description: "datasette \(arguments) exited with status \(status) before it answered; stderr: \(datasette.stderrSoFar.suffix(3_000))")
            }
            if let answer = try? await get(port, "/capture.json"), answer.status == 200 { return datasette }
            if ContinuousClock.now >= deadline {
                datasette.signal(SIGKILL)
                throw Failure(description: "datasette \(arguments) did not answer http://127.0.0.1:\(port)/capture.json within 60 s; stderr: \(datasette.stderrSoFar.suffix(3_000))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Stops a datasette the test started, with SIGKILL: processes the test runner starts inherit
    /// its blocked signals (SIGTERM and SIGINT among them; see SigBlk in /proc/PID/status), which
    /// Python never unblocks, and a read-only server has nothing to finish.
    static func stop(_ datasette: SpoolProcess.Running) {
        if datasette.isRunning { datasette.signal(SIGKILL) }
        _ = datasette.wait(timeout: 15)
    }

    @Test func theRecipeServesACaptureWhileItIsWrittenThenImmutable() async throws {
        let datasettePath = TestVenv.path + "/bin/datasette"
        try #require(FileManager.default.isExecutableFile(atPath: datasettePath),
                     "\(datasettePath) is missing: run scripts/test-venv.sh (make test does it)")
        let recipe = try Self.recipe()
        #expect(recipe.contains("curl 'http://127.0.0.1:\(Self.recipePort)\(Self.countPath)'"), "the recipe shows the count query the test runs")
        #expect(recipe.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains(Self.textSQL), "the recipe shows the SQL the test runs")
        let commands = Self.serveCommands(in: recipe)
        let live = try #require(commands.first { !$0.contains("--immutable") }, "the recipe has no read-only datasette serve: \(commands)")
        let immutable = try #require(commands.first { $0.contains("--immutable") }, "the recipe has no datasette serve --immutable: \(commands)")
        #expect(commands.count == 2, "\(commands)")

        // A capture that a --follow ingest keeps writing.
        let scenario = try MockScenario()
        let dir = scenario.directory, cluster = scenario.cluster
        try scenario.topic("orders", partitions: 3, perPartition: 500)
        let ingest = try SpoolProcess.Running(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "orders", "--db", "capture.sqlite",
                                               "--follow", "--quiet"], directory: dir.path)
        defer { if ingest.isRunning { ingest.signal(SIGKILL) } }
        try ingest.waitUntil("the ingest stored the first 1,500 records") { storedCount(dir.file("capture.sqlite"), topic: "orders") == 1_500 }

        let datasette = try await Self.serve(try Self.onPort(live, try NoidaBroker.freeLoopbackPort()), directory: dir.path, executable: datasettePath)
        do {
            defer { Self.stop(datasette) }
            let port = Int(datasette.process.arguments![datasette.process.arguments!.firstIndex(of: "--port")! + 1])!
            let (tables, views) = try await Self.tablesAndViews(port)
            for table in ["records", "streams", "partition_state", "runs", "gaps", "progress", "spool_migrations"] {
                #expect(tables.contains(table), "Datasette lists the table \(table): \(tables.sorted())")
            }
            for view in ["messages", "latest", "orders"] {
                #expect(views.contains(view), "Datasette lists the view \(view): \(views.sorted())")
            }
            #expect(try await Self.count(port) == 1_500)

            // The ingest goes on writing; the read-only Datasette sees each commit.
            try cluster.produce(topic: "orders", testMessages(partitions: 3, indices: 500..<600, valueSize: 40)
                .map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp) })
            try ingest.waitUntil("the ingest stored 1,800 records") { storedCount(dir.file("capture.sqlite"), topic: "orders") == 1_800 }
            #expect(try await Self.count(port) == 1_800, "Datasette reads what the running ingest committed since it started")

            // What the recipe says about BLOBs: the views' pages fail (datasette#2601), the rest works.
            #expect(try await Self.get(port, "/capture/messages").status == 500,
                    "the messages view's page no longer fails in this Datasette: update the BLOB note in docs/recipes.md")
            #expect(try await Self.get(port, "/capture/records").status == 200)
            var query = URLComponents()
            query.path = "/capture"
            query.queryItems = [URLQueryItem(name: "sql", value: Self.textSQL)]
            let text = try await Self.get(port, query.string ?? "")
            #expect(text.status == 200)
            #expect(String(decoding: text.body, as: UTF8.self).contains("k2-599"), "the recipe's SQL shows keys as text")
        }

        // Stopped normally, the ingest leaves no -wal file: the recipe's condition for --immutable.
        ingest.signal(SIGTERM)
        let stopped = ingest.wait()
        #expect(stopped.status == 0, "\(stopped.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("capture.sqlite-wal")), "a stopped ingest left capture.sqlite-wal: \(dir.entries)")

        let frozen = try await Self.serve(try Self.onPort(immutable, try NoidaBroker.freeLoopbackPort()), directory: dir.path, executable: datasettePath)
        defer { Self.stop(frozen) }
        let port = Int(frozen.process.arguments![frozen.process.arguments!.firstIndex(of: "--port")! + 1])!
        let (tables, views) = try await Self.tablesAndViews(port)
        #expect(tables.contains("records") && views.contains("messages"), "\(tables.sorted()) \(views.sorted())")
        #expect(try await Self.count(port) == 1_800)
    }
}
