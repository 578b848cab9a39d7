import SpoolStore
import SpoolTestSupport
import Testing

/// A numeric option given a negative (or non-finite) number gets its own sentence with the
/// range and the value, not ArgumentParser's "Missing value" for a value that looks like a flag.
@Suite("Numeric option values through the spool binary", .timeLimit(.minutes(2)))
struct OptionValueBinaryTests {
    static let ingest = ["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders"]
    static let query = ["query", "x.sqlite", "SELECT 1"]

    @Test(arguments: [
        (["status", "x.sqlite", "--watch", "--interval", "-1"], "--interval must be from 0.5 to 60 seconds (got -1)"),
        (["status", "x.sqlite", "--watch", "--interval=-1"], "--interval must be from 0.5 to 60 seconds (got -1)"),
        (["status", "x.sqlite", "--interval", "-0.25", "--watch"], "--interval must be from 0.5 to 60 seconds (got -0.25)"),
        (["status", "x.sqlite", "--watch", "--interval", "nan"], "--interval must be from 0.5 to 60 seconds (got nan)"),
        (ingest + ["--metrics-interval", "-1"], "--metrics-interval must be between 1 and 3600 seconds (got -1)"),
        (ingest + ["--batch-size", "-5"], "--batch-size must be at least 1 (got -5)"),
        (query + ["--timeout", "-1"], "--timeout must be more than 0 and at most 1000000 seconds (got -1)"),
        (query + ["--timeout=-0.5"], "--timeout must be more than 0 and at most 1000000 seconds (got -0.5)"),
        (query + ["--timeout", "inf"], "--timeout must be more than 0 and at most 1000000 seconds (got inf)"),
        (query + ["--timeout", "nan"], "--timeout must be more than 0 and at most 1000000 seconds (got nan)"),
        (query + ["--max-memory", "-1"], "--max-memory must be from 16 to 1048576 MiB (got -1)"),
        (query + ["--max-memory", "9223372036854775807"], "--max-memory must be from 16 to 1048576 MiB (got 9223372036854775807)"),
        (["merge", "a.sqlite", "b.sqlite", "--db", "x.sqlite", "--chunk-size", "-1"], "--chunk-size must be at least 1 (got -1)"),
        (["decode", "x.sqlite", "--schema-registry", "http://127.0.0.1:1", "--chunk-size", "-3"], "--chunk-size must be at least 1 (got -3)"),
        (["dev-broker", "--brokers", "-1"], "--brokers must be at least 1 (got -1)"),
        (["dev-broker", "--messages", "-10"], "--messages must not be negative (got -10)"),
    ])
    func negativeNumbersAreNamedWithTheirRange(arguments: [String], message: String) throws {
        let dir = TemporaryDirectory()
        let result = try SpoolProcess.run(arguments, directory: dir.path, timeout: 30)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("Missing value"), "\(result.stderr)")
        #expect(!dir.entries.contains("x.sqlite"), "a refused command created the database")
    }

    static let restore = ["restore", "c.sqlite", "--brokers", "127.0.0.1:1", "--topic", "t"]

    @Test(arguments: [
        (restore + ["--from", "yesterday"], "The value 'yesterday' is invalid for '--from <time>'"),
        (restore + ["--until", "now"], "The value 'now' is invalid for '--until <time>'"),
        (restore + ["--from", "2026-11-02T00:00:00Z", "--until", "2026-11-01T00:00:00Z"],
         "--from must be before --until (got 2026-11-02T00:00:00Z and 2026-11-01T00:00:00Z)"),
        (restore + ["--from", "1700000000000", "--until", "1700000000000"], "--from must be before --until (got 1700000000000 and 1700000000000)"),
        (ingest + ["--until", "later"], "The value 'later' is invalid for '--until <time>'"),
        (ingest + ["--cutoff", "soon"], "The value 'soon' is invalid for '--cutoff <time>'"),
    ])
    func timesThatAreNotTimesAreNamed(arguments: [String], message: String) throws {
        let dir = TemporaryDirectory()
        try SpoolStore.openForWriting(path: dir.file("c.sqlite")).close()
        let result = try SpoolProcess.run(arguments, directory: dir.path, timeout: 30)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!dir.entries.contains("x.sqlite"), "a refused ingest created its database")
    }

    @Test func valuesInRangeAreStillTakenAfterTheirOptions() throws {
        let dir = TemporaryDirectory()
        try SpoolStore.openForWriting(path: dir.file("e.sqlite")).close()
        let result = try SpoolProcess.run(["query", "e.sqlite", "SELECT 7 AS n", "--timeout", "0.5", "--max-memory=64", "--format", "csv"],
                                          directory: dir.path)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "n\n7\n")
    }
}
