import KafkaReplay
import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn, so its peak resident memory can be read from
/// wait4's resource usage.
struct ChildProcess {
    let pid: pid_t
    let started: ContinuousClock.Instant

    /// Starts `path` with `arguments`; standard output goes to `stdoutPath` and standard error
    /// to `stderrPath` when given (each file created or truncated).
    init(_ path: String, _ arguments: [String], stdoutPath: String? = nil, stderrPath: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdoutPath {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        if let stderrPath {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        started = ContinuousClock.now
        let rc = posix_spawn(&child, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchError("cannot start \(path): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// Waits for the exit: (exit status, seconds since start, peak resident memory in bytes).
    ///
    /// The peak is the child's own VmHWM, sampled every 10 ms until it exits: wait4's
    /// ru_maxrss would also count the parent's memory that the child shared before exec.
    func wait() -> (status: Int32, seconds: Double, peakBytes: Int64) {
        var status: Int32 = 0
        var peak: Int64 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            peak = max(peak, Self.highWaterMark(pid))
            usleep(10_000)
        }
        let seconds = (ContinuousClock.now - started).seconds
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, seconds, peak)
    }

    /// VmHWM of a live process in bytes (0 when it cannot be read).
    private static func highWaterMark(_ pid: pid_t) -> Int64 {
        statusField("VmHWM:", of: pid)
    }

    /// A kB field of `/proc/PID/status` (VmHWM:, VmRSS:) in bytes; 0 when it cannot be read.
    static func statusField(_ name: String, of pid: pid_t) -> Int64 {
        guard let text = TextFile.read("/proc/\(pid)/status") else { return 0 }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
        return (Int64(line.filter(\.isNumber)) ?? 0) * 1024
    }

    /// The CPU seconds (user + system) the live process has used so far.
    func cpuSeconds() -> Double {
        guard let text = TextFile.read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3, utime 14 and stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Sends a signal.
    func signal(_ number: Int32) { kill(pid, number) }
}

/// A failure of the benchmark itself.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
