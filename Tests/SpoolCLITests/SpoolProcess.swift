import Foundation
import KafkaReplay
import SpoolTestSupport
import Testing

/// Runs the built `spool` binary (it sits next to the test bundle in the build folder).
enum SpoolProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    static var binary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("spool").path
    }

    /// A started `spool` whose output goes to files in `directory`.
    final class Running {
        let process = Process()
        let stdoutPath: String
        let stderrPath: String

        init(_ arguments: [String], directory: String) throws {
            let id = UUID().uuidString
            stdoutPath = directory + "/\(id).out"
            stderrPath = directory + "/\(id).err"
            _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: SpoolProcess.binary)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
            process.standardError = FileHandle(forWritingAtPath: stderrPath)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        /// Every thread's stack of a hung process, when gdb is installed (for the failure message).
        static func backtrace(_ pid: Int32) -> String {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") else { return "(gdb not installed)" }
            let gdb = Process()
            gdb.executableURL = URL(fileURLWithPath: "/usr/bin/gdb")
            gdb.arguments = ["-p", String(pid), "-batch", "-ex", "thread apply all bt 12"]
            let pipe = Pipe()
            gdb.standardOutput = pipe
            gdb.standardError = FileHandle.nullDevice
            guard (try? gdb.run()) != nil else { return "(gdb did not start)" }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            gdb.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            return String(text.split(separator: "\n").filter { $0.hasPrefix("#") || $0.hasPrefix("Thread") }.joined(separator: "\n").prefix(12_000))
        }

        /// Waits for the exit, killing the process after `timeout` seconds.
        func wait(timeout: Double = 90) -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                let stderrSoFar = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
                Issue.record("spool \(process.arguments ?? []) did not finish in \(timeout) s; killed. stderr: \(stderrSoFar.suffix(2_000))\nthreads:\n\(Self.backtrace(process.processIdentifier))")
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            process.waitUntilExit()
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: stdoutPath)
            try? FileManager.default.removeItem(atPath: stderrPath)
            return Result(status: process.terminationStatus, stdout: out, stderr: err)
        }
    }

    /// Runs `spool` to completion.
    static func run(_ arguments: [String], directory: String, timeout: Double = 90) throws -> Result {
        try Running(arguments, directory: directory).wait(timeout: timeout)
    }
}
