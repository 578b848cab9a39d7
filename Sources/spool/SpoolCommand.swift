import ArgumentParser
import SpoolCLI
#if canImport(Glibc)
import Glibc
#endif

/// The `spool` command: captures Kafka topics into SQLite, exactly once, and queries them.
struct SpoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool",
        abstract: "Capture Kafka topics into SQLite, exactly once, and query them with SQL.",
        discussion: """
            Exit codes: 0 done; 1 verify found problems; 2 usage or configuration error; \
            3 storage error; 4 Kafka or Schema Registry error (unknown topic, out-of-range offset, \
            cluster mismatch, gap refused, registry unreachable in decode); 5 database in use by \
            another writer.
            """,
        version: "0.1.0",
        subcommands: [IngestCommand.self, QueryCommand.self, StatusCommand.self, VerifyCommand.self, DecodeCommand.self, CompactCommand.self, MergeCommand.self, ReplayCommand.self, RestoreCommand.self, DevBrokerCommand.self]
    )
}

@main
enum SpoolMain {
    static func main() {
        do {
            var command = try SpoolCommand.parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch {
            let code = SpoolCommand.exitCode(for: error)
            if code == .success {
                // --help and --version.
                print(SpoolCommand.fullMessage(for: error))
                Glibc.exit(0)
            }
            if code == .validationFailure || isArgumentError(error) {
                printError(SpoolCommand.fullMessage(for: error))
                Glibc.exit(ExitStatus.usage.rawValue)
            }
            printError("spool: error: \(describe(error))")
            Glibc.exit(ExitStatus.forError(error).rawValue)
        }
    }

    /// Whether ArgumentParser itself produced the error (its exit code would be 64).
    private static func isArgumentError(_ error: Error) -> Bool {
        SpoolCommand.exitCode(for: error).rawValue == 64
    }
}

/// Writes a line to standard error, as `TerminalText.safe` shows it (its line breaks kept):
/// messages carry file names, topic names and what SQLite or a broker said.
func printError(_ text: String) {
    let shown = TerminalText.safe(text, keepingLineBreaks: true)
    writeAll(STDERR_FILENO, shown.hasSuffix("\n") ? shown : shown + "\n")
}

/// Writes a notice (news, not an error) to standard error as "spool: TEXT".
func printNotice(_ text: String) {
    printError("spool: \(text)")
}

/// Writes all of `text` to a file descriptor (unbuffered; safe from any thread).
func writeAll(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written <= 0 { return }
        bytes = bytes.dropFirst(written)
    }
}

/// A library error's own sentence, whatever its type.
func describe(_ error: Error) -> String {
    String(describing: error)
}
