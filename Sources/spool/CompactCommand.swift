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

            Exit codes: 0 done; 2 usage; 3 storage (e.g. not enough free space); 5 database in use.
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
        let store = try SpoolStore.openForWriting(path: file)
        defer { store.close() }
        let sizes = try store.compact()
        if !quiet {
            print("compacted \(file): \(ByteText.format(sizes.before)) -> \(ByteText.format(sizes.after)); freed pages now go back to the file system")
        }
    }
}
