import ArgumentParser
import SpoolCLI
import SpoolDecode
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// `spool verify`: an offline audit of a database.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Audit a database: integrity, duplicates, partition state against rows, offset order; lists gaps.",
        discussion: "Exits 1 when a problem is found, 0 when the database is sound (recorded gaps are listed, not problems)."
    )

    @Argument(help: ArgumentHelp("The database file; or a folder of shard files, or several files (each audited, then their coverage).", valueName: "file"))
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name the database file (or a folder of shard files)") }
    }

    func run() throws {
        var info = stat()
        let file = files.joined(separator: " ")
        if files.count == 1, stat(file, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR { return try audit(file) }
        let paths = try ShardFiles.expand(files, excluding: "")
        // First: files that are not one capture's shards are refused before any is audited.
        let coverage = try ShardCoverage(paths: paths)
        var failed = 0
        for path in paths {
            do { try audit(path) } catch let exit as ExitCode where exit.rawValue == ExitStatus.problemsFound.rawValue { failed += 1 }
        }
        for problem in coverage.problems { print("problem: \(TerminalText.safe(problem))") }
        if coverage.problems.isEmpty { print("coverage: complete (\(paths.count) shard files)") }
        if failed > 0 || !coverage.problems.isEmpty {
            printError("spool: verify found problems in \(TerminalText.safe(file)): \(failed) file(s) with problems, \(coverage.problems.count) coverage problem(s)")
            throw ExitCode(ExitStatus.problemsFound.rawValue)
        }
    }

    /// Audits one file; exits 1 (by throwing) when it has problems.
    private func audit(_ file: String) throws {
        let report = try SpoolStore.audit(path: file, framedRowSQL: ConfluentFrame.sqlCondition)
        print(report.countsKnown ? "\(TerminalText.safe(file)): \(ByteText.count(report.messageCount)) messages in \(report.partitionCount) partitions"
              : "\(TerminalText.safe(file)): damaged; the audit could not read it whole")
        for gap in report.gaps {
            print("gap: \(TerminalText.safe(gap.topic))[\(gap.partition)] offsets \(gap.firstMissingOffset)...\(gap.lastMissingOffset) deleted by retention (\(gap.accepted ? "accepted" : "refused"))")
        }
        if report.rowsStoredBeforeHeaders > 0 {
            print("note: \(ByteText.count(report.rowsStoredBeforeHeaders)) messages were stored before this database kept headers; their headers column is NULL whether or not they had any (spool status shows where header capture began per partition)")
        }
        if report.isSound {
            print("ok: no problems found")
            return
        }
        for problem in report.problems { print("problem: \(TerminalText.safe(problem))") }
        printError("spool: verify found \(report.problems.count) problem(s) in \(TerminalText.safe(file))")
        throw ExitCode(ExitStatus.problemsFound.rawValue)
    }
}
