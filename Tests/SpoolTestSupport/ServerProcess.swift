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

/// Waits up to `seconds` for `process` to exit; whether it has.
func waitForExit(_ process: Process, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    return !process.isRunning
}
