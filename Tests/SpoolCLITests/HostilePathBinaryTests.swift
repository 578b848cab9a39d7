import Foundation
@_spi(MockCluster) import KafkaReplay
@testable import SpoolStore
@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Testing

/// Issue 19 through the binary: a path that aliases a database (however spelled or linked) is
/// refused before anything is written, and nothing is claimed that did not happen.
@Suite("spool refuses paths that alias a database", .serialized, .timeLimit(.minutes(3)))
struct HostilePathBinaryTests {
    /// A captured database `e.sqlite` (4 partitions × 300 records) in a fresh folder.
    struct Captured {
        let dir = TemporaryDirectory()
        let cluster: MockKafkaCluster
        var db: String { dir.file("e.sqlite") }

        init() throws {
            cluster = try MockKafkaCluster(logger: quietLogger())
            try cluster.createTopic("t", partitions: 4)
            try MockScenario.produce(into: cluster, topic: "t", partitions: 4, indices: 0..<300)
            let first = try SpoolProcess.run(ingest("e.sqlite"), directory: dir.path)
            try #require(first.status == 0, "\(first.output)")
        }

        func ingest(_ db: String, _ more: [String] = []) -> [String] {
            ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "t", "--db", db, "--quiet"] + more
        }

        /// The database's bytes and its row count, to prove nothing changed.
        func snapshot() -> (Data?, Int64) {
            (FileManager.default.contents(atPath: db), storedCount(db, topic: "t"))
        }
    }

    @Test func metricsFileSpelledAsTheDatabaseOrItsCompanionIsRefused() throws {
        let captured = try Captured()
        let dir = captured.dir
        try FileManager.default.createDirectory(atPath: dir.file("sub"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.prom"), withDestinationPath: "e.sqlite")
        try FileManager.default.createSymbolicLink(atPath: dir.file("wal.prom"), withDestinationPath: dir.file("e.sqlite-wal"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("sublink"), withDestinationPath: "sub")
        try FileManager.default.linkItem(atPath: captured.db, toPath: dir.file("hard.prom"))
        let spellings: [(String, String)] = [
            ("e.sqlite", "is the database e.sqlite itself"),
            ("./sub/../e.sqlite", "is the database e.sqlite itself"),
            (dir.file("e.sqlite"), "is the database e.sqlite itself"),
            ("sublink/../e.sqlite", "is the database e.sqlite itself"),
            ("e.sqlite-wal", "-wal file"),
            ("sub/../e.sqlite-shm", "-shm file"),
            ("e.sqlite-journal", "-journal file"),
            ("link.prom", "is the database e.sqlite itself"),
            ("wal.prom", "-wal file"),  // a dangling link to where the WAL will be
            ("hard.prom", "is the database e.sqlite itself"),
        ]
        for (spelling, expected) in spellings {
            let before = captured.snapshot()
            let result = try SpoolProcess.run(captured.ingest("e.sqlite", ["--metrics-file", spelling]), directory: dir.path)
            #expect(result.status == 2, "--metrics-file \(spelling): \(result.output)")
            #expect(result.stderr.contains("--metrics-file \(spelling)") && result.stderr.contains(expected)
                    && result.stderr.contains("nothing was written"), "\(spelling): \(result.stderr)")
            #expect(!result.stderr.contains("untouched"), "\(spelling): \(result.stderr)")
            let after = captured.snapshot()
            #expect(after.0 == before.0 && after.1 == 1_200, "\(spelling): the database changed")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("e.sqlite-journal")), "no journal file was made")
        let verify = try SpoolProcess.run(["verify", "e.sqlite"], directory: dir.path)
        #expect(verify.status == 0, "\(verify.output)")
    }

    @Test func badMetricsAndDatabasePathsSayWhatIsWrong() throws {
        let captured = try Captured()
        let dir = captured.dir
        try FileManager.default.createDirectory(atPath: dir.file("folder"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir.file("sub"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir.file("d.sqlite"), withIntermediateDirectories: false)
        let cases: [([String], String)] = [
            (captured.ingest("new.sqlite", ["--metrics-file", "folder/"]), "--metrics-file folder/: is a folder; give a file path such as folder/spool.prom"),
            (captured.ingest("new.sqlite", ["--metrics-file", "folder"]), "--metrics-file folder: is a folder"),
            (captured.ingest("new.sqlite", ["--metrics-file", "nowhere/"]), "ends in '/', so it names a folder"),
            (captured.ingest("new.sqlite", ["--metrics-file", "nowhere/m.prom"]), "the folder nowhere does not exist"),
            (captured.ingest("d.sqlite"), "--db d.sqlite is a folder; give a database file such as d.sqlite/capture.sqlite"),
            (captured.ingest("e.sqlite-wal"), "--db e.sqlite-wal is the -wal file SQLite keeps for e.sqlite, not a database"),
            (["compact", "e.sqlite-shm"], "is the -shm file SQLite keeps for e.sqlite"),
            // Any database, not only the command's own: another capture, or the dev broker's bootstrap file.
            (captured.ingest("new.sqlite", ["--metrics-file", "e.sqlite"]), "--metrics-file e.sqlite is an SQLite database, which this would overwrite"),
            (captured.ingest("new.sqlite", ["--metrics-file", "sub/../e.sqlite"]), "--metrics-file sub/../e.sqlite is an SQLite database, which this would overwrite"),
            (["dev-broker", "--bootstrap-file", "e.sqlite"], "--bootstrap-file e.sqlite is an SQLite database, which this would overwrite"),
            (["dev-broker", "--bootstrap-file", "e.sqlite-wal"], "--bootstrap-file e.sqlite-wal is the -wal file SQLite keeps for the database e.sqlite"),
            (["decode", "e.sqlite-wal", "--schema-registry", "http://127.0.0.1:9"], "is the -wal file SQLite keeps for e.sqlite"),
        ]
        // A connection of the test's own keeps the -wal and -shm files in place meanwhile.
        let holder = try SQLiteConnection(path: captured.db, readOnly: false, create: false)
        defer { holder.close() }
        _ = try holder.integer("SELECT count(*) FROM messages")
        try #require(FileManager.default.fileExists(atPath: captured.db + "-shm"), "the -shm file exists")
        for (arguments, expected) in cases {
            let before = captured.snapshot()
            let result = try SpoolProcess.run(arguments, directory: dir.path)
            #expect(result.status == 2 && result.stderr.contains(expected), "\(arguments): \(result.output)")
            #expect(!result.stderr.contains("Not a directory") && !result.stderr.contains("disk I/O"), "\(arguments): \(result.stderr)")
            #expect(captured.snapshot().0 == before.0, "\(arguments): the database changed")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("new.sqlite")), "a refused ingest created no database")
    }

    @Test func aForeignFileIsNamedAndLeftAsItWas() throws {
        let dir = TemporaryDirectory()
        let other = dir.file("other.sqlite")
        do {
            let connection = try SQLiteConnection(path: other, readOnly: false, create: true)
            try connection.execute("PRAGMA journal_mode = WAL; CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1)")
            // Kept open meanwhile: the row sits in the WAL, not yet in the main file.
            let main = FileManager.default.contents(atPath: other)
            let wal = FileManager.default.contents(atPath: other + "-wal")
            let result = try SpoolProcess.run(["ingest", "--brokers", "127.0.0.1:9", "--topic", "t", "--db", "other.sqlite"], directory: dir.path)
            #expect(result.status == 3 && result.stderr.contains("other.sqlite is not a Spool database") && result.stderr.contains("Spool did not change it"),
                    "\(result.output)")
            #expect(FileManager.default.contents(atPath: other) == main, "the main file was changed (a checkpoint?)")
            #expect(FileManager.default.contents(atPath: other + "-wal") == wal, "the WAL was changed")
            connection.close()
        }
    }
}
