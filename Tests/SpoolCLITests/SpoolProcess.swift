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

    /// A process ended while a test waited for something it should have done first.
    struct ProcessEnded: Error, CustomStringConvertible {
        let description: String
    }

    /// A started `spool` whose output goes to files in `directory`.
    final class Running {
        let process = Process()
        let stdoutPath: String
        let stderrPath: String

        /// Starts `executable` (spool unless told) in `directory`, with `environment` added to the
        /// test process's own; its output goes to files in `outputDirectory` (`directory` unless told).
        init(_ arguments: [String], directory: String, executable: String = SpoolProcess.binary, outputDirectory: String? = nil,
             environment: [String: String] = [:]) throws {
            let id = UUID().uuidString
            stdoutPath = (outputDirectory ?? directory) + "/\(id).out"
            stderrPath = (outputDirectory ?? directory) + "/\(id).err"
            _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
            process.standardError = FileHandle(forWritingAtPath: stderrPath)
            process.standardInput = FileHandle.nullDevice
            if !environment.isEmpty {
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
            try process.run()
        }

        /// A process the test left running (it threw early) is killed, so it cannot load later tests.
        deinit {
            if isRunning { kill(process.processIdentifier, SIGKILL) }
        }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        /// The exit status (the exit code, or the number of the signal that ended it) once the
        /// process has ended; `nil` while it runs.
        ///
        /// Asks the kernel (`waitid` with `WNOWAIT`, which leaves reaping to Foundation) as well as
        /// `Process`: on Linux, Foundation notices an exit only when a socket the child inherited
        /// is closed, and a process spawned at the same moment by another thread can inherit that
        /// socket too (swift-corelibs-foundation issue 4795), so `Process.isRunning` can stay true
        /// long after the exit.
        var exitStatus: Int32? {
            let pid = process.processIdentifier
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid {
                return info._sifields._sigchld.si_status
            }
            // Already reaped by Foundation (waitid failed with ECHILD): its status is final.
            return process.isRunning ? nil : process.terminationStatus
        }

        /// Whether the process is still running.
        var isRunning: Bool { exitStatus == nil }

        /// The program and its arguments, for messages.
        var name: String { "\(process.executableURL?.lastPathComponent ?? "?") \(process.arguments ?? [])" }

        /// What the process has written to standard error so far.
        var stderrSoFar: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        /// Waits until `condition` holds, as `SpoolTestSupport.waitUntil` does, but fails at once
        /// when the process has ended and the condition still does not hold (it is checked once
        /// more after the exit is seen, so an exit right after reaching it is not a failure).
        func waitUntil(_ what: @autoclosure () -> String, timeout: Duration = .seconds(60), poll: Duration = .milliseconds(10),
                       _ condition: () throws -> Bool) throws {
            try SpoolTestSupport.waitUntil(what(), timeout: timeout, poll: poll) {
                let ended = exitStatus
                if try condition() { return true }
                if let ended {
                    throw ProcessEnded(description: "\(name) ended with status \(ended) before \(what()); stderr: \(stderrSoFar.suffix(2_000))")
                }
                return false
            }
        }

        /// Every thread's stack of a hung process, when gdb is installed (for the failure message).
        static func backtrace(_ pid: Int32) -> String {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") else { return "(gdb not installed)" }
            let gdb = Process()
            gdb.executableURL = URL(fileURLWithPath: "/usr/bin/gdb")
            gdb.arguments = ["-p", String(pid), "-batch", "-ex", "thread apply all bt 40"]
            let pipe = Pipe()
            gdb.standardOutput = pipe
            gdb.standardError = FileHandle.nullDevice
            guard (try? gdb.run()) != nil else { return "(gdb did not start)" }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            gdb.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            return String(text.split(separator: "\n").filter { $0.hasPrefix("#") || $0.hasPrefix("Thread") }.joined(separator: "\n").prefix(40_000))
        }

        /// Waits for the exit, killing the process after `timeout` seconds (which fails the test).
        func wait(timeout: Double = 90) -> Result {
            var status: Int32
            do {
                status = try waitFor("\(name) exits", timeout: .milliseconds(Int(timeout * 1_000)), poll: .milliseconds(20)) { exitStatus }
            } catch {
                let pid = process.processIdentifier
                let state = SpoolProcess.firstLine(of: "/proc/\(pid)/status", startingWith: "State:") ?? "State: unknown"
                Issue.record("\(name) did not finish in \(timeout) s (\(state)); killed. stderr: \(stderrSoFar.suffix(2_000))\nthreads:\n\(Self.backtrace(pid))")
                kill(process.processIdentifier, SIGKILL)
                status = (try? waitFor("\(name) exits after SIGKILL", timeout: .seconds(10)) { exitStatus }) ?? SIGKILL
            }
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: stdoutPath)
            try? FileManager.default.removeItem(atPath: stderrPath)
            return Result(status: status, stdout: out, stderr: err)
        }
    }

    /// The first line of a small text file (such as one under /proc) that starts with `prefix`.
    static func firstLine(of path: String, startingWith prefix: String) -> String? {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    /// Runs `spool` to completion.
    static func run(_ arguments: [String], directory: String, timeout: Double = 90, environment: [String: String] = [:]) throws -> Result {
        try Running(arguments, directory: directory, environment: environment).wait(timeout: timeout)
    }
}
