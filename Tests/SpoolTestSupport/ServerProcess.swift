import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Stops a server process a test started (noida-db, the schema registry): SIGTERM, then
/// SIGKILL if it is still running after 5 s. Does nothing when it has already exited.
func terminateServer(_ process: Process) {
    guard process.isRunning else { return }
    process.terminate()
    if !waitForExit(process, seconds: 5) {
        kill(process.processIdentifier, SIGKILL)
        _ = waitForExit(process, seconds: 5)
    }
}

/// Waits up to `seconds` for `process` to exit; whether it has. A child that has exited but
/// is not reaped yet (a zombie) counts as exited: Foundation may notice the exit only seconds
/// later, and a test should not wait for that.
func waitForExit(_ process: Process, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && !hasExited(process.processIdentifier) && Date() < deadline { usleep(10_000) }
    return !process.isRunning || hasExited(process.processIdentifier)
}

/// Whether `pid` is gone or a zombie (state `Z` in `/proc/PID/stat`).
private func hasExited(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    guard let close = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}
