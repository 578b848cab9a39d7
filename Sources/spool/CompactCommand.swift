import ArgumentParser
import SpoolCLI
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// `spool compact`: rewrite a database so it gives freed pages back (incremental auto-vacuum).
struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Rewrite a database so the space retention frees goes back to the file system.",
        discussion: """
            Files created by Spool before retention existed reuse freed pages but never shrink. \
            compact rewrites the file once with SQLite's VACUUM and incremental auto-vacuum on; \
            from then on retention shrinks it as it removes records. The rewrite is atomic (an \
            interruption leaves the file as it was) and needs free disk space of about twice the \
            size of the database (SQLite's temporary copy in $TMPDIR or /var/tmp, and the WAL). It takes the writer lock: stop the ingest first.

            SIGINT or SIGTERM stops the rewrite within about a second: SQLite rolls it back, \
            "compact stopped: FILE is unchanged" is printed and the exit code is 0, as for an \
            ingest or merge stopped on request; run it again to convert the file. A signal that \
            comes after the rewrite committed lets it finish (it is then reported as compacted).

            Exit codes: 0 done, or stopped on request; 2 usage; 3 storage (e.g. not enough free \
            space); 5 database in use.
            """
    )

    @Argument(help: ArgumentHelp("The database file.", valueName: "file"))
    var file: String

    @Flag(name: .long, help: "No summary; errors only.")
    var quiet = false

    func run() throws {
        guard access(file, F_OK) == 0 else {
            throw ValidationError("\(file): no such database; give the file spool ingest wrote")
        }
        installStopHandlers(announce: false)
        let store = try SpoolStore.openForWriting(path: file, upgradeNotice: { printNotice($0) })
        defer { store.close() }
        let outcome = try store.compact(stop: { stopRequested.isStopped })
        if quiet { return }
        let name = TerminalText.safe(file)
        if outcome.stopped {
            print("compact stopped: \(name) is unchanged; run spool compact \(name) again to convert it")
        } else {
            print("compacted \(name): \(ByteText.format(outcome.before)) -> \(ByteText.format(outcome.after)); freed pages now go back to the file system")
        }
    }
}
