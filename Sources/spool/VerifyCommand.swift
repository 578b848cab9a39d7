import ArgumentParser
import SpoolCLI
import SpoolStore

/// `spool verify`: an offline audit of a database.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Audit a database: integrity, duplicates, partition state against rows, offset order; lists gaps.",
        discussion: "Exits 1 when a problem is found, 0 when the database is sound (recorded gaps are listed, not problems)."
    )

    @Argument(help: ArgumentHelp("The database file.", valueName: "file"))
    var file: String

    func run() throws {
        let store = try SpoolStore.openForReading(path: file)
        defer { store.close() }
        let report = try store.verify()
        print("\(file): \(ByteText.count(report.messageCount)) messages in \(report.partitionCount) partitions")
        for gap in report.gaps {
            print("gap: \(gap.topic)[\(gap.partition)] offsets \(gap.firstMissingOffset)...\(gap.lastMissingOffset) deleted by retention (\(gap.accepted ? "accepted" : "refused"))")
        }
        if report.rowsStoredBeforeHeaders > 0 {
            print("note: \(ByteText.count(report.rowsStoredBeforeHeaders)) messages were stored before this database kept headers; their headers column is NULL whether or not they had any (spool status shows where header capture began per partition)")
        }
        if report.isSound {
            print("ok: no problems found")
            return
        }
        for problem in report.problems { print("problem: \(problem)") }
        printError("spool: verify found \(report.problems.count) problem(s) in \(file)")
        throw ExitCode(ExitStatus.problemsFound.rawValue)
    }
}
