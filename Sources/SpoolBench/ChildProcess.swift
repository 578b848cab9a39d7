import KafkaReplay
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn, so its peak resident memory can be read from
/// wait4's resource usage.
struct ChildProcess {
    let pid: pid_t
    let started: ContinuousClock.Instant

    /// Starts `path` with `arguments`; standard output goes to `stdoutPath` when given.
    init(_ path: String, _ arguments: [String], stdoutPath: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdoutPath {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
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
        guard let handle = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(handle) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, handle) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmHWM:") {
                let digits = text.filter(\.isNumber)
                return (Int64(digits) ?? 0) * 1024
            }
        }
        return 0
    }

    /// Sends a signal.
    func signal(_ number: Int32) { kill(pid, number) }
}

/// A failure of the benchmark itself.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
