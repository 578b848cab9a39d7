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
    func wait() -> (status: Int32, seconds: Double, peakBytes: Int64) {
        var status: Int32 = 0
        var usage = rusage()
        wait4(pid, &status, 0, &usage)
        let seconds = (ContinuousClock.now - started).seconds
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, seconds, Int64(usage.ru_maxrss) * 1024)
    }

    /// Sends a signal.
    func signal(_ number: Int32) { kill(pid, number) }
}

/// A failure of the benchmark itself.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
