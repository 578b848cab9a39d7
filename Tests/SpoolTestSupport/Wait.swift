import Foundation

/// Why a wait in a test failed: what it waited for and for how long.
///
/// Thrown rather than recorded because this target does not link Swift Testing; a test that
/// throws it fails with `description` as its message.
public struct WaitFailed: Error, CustomStringConvertible {
    /// What was awaited (or what should have kept holding), as the test described it.
    public let what: String
    /// The full message.
    public let description: String
}

/// Returns as soon as `condition` holds; throws `WaitFailed` naming `what` once `timeout` has
/// passed without it holding. `condition` is checked at once, then every `poll`, and once more
/// at the deadline; an error it throws ends the wait at once (for example "the process died").
///
/// `what` is evaluated only on failure, so it can describe the state at that moment.
public func waitUntil(_ what: @autoclosure () -> String, timeout: Duration, poll: Duration = .milliseconds(10),
                      _ condition: () throws -> Bool) throws {
    _ = try waitFor(what(), timeout: timeout, poll: poll) { try condition() ? true : nil }
}

/// Returns the first non-nil value of `value`; throws `WaitFailed` naming `what` once `timeout`
/// has passed without one. Polls like `waitUntil`.
public func waitFor<T>(_ what: @autoclosure () -> String, timeout: Duration, poll: Duration = .milliseconds(10),
                       _ value: () throws -> T?) throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if let result = try value() { return result }
        let now = clock.now
        if now >= deadline {
            let text = what()
            throw WaitFailed(what: text, description: "timed out after \(seconds(timeout)) waiting until \(text)")
        }
        pause(min(poll, deadline - now))
    }
}

/// Checks that `condition` keeps holding for the whole of `duration` (checked every `poll`);
/// throws `WaitFailed` naming `what` at the first check where it does not.
///
/// For scenarios whose length is the point (a broker outage of 30 s), not for waiting.
public func requireThroughout(_ what: @autoclosure () -> String, for duration: Duration, poll: Duration = .milliseconds(50),
                              _ condition: () throws -> Bool) throws {
    let clock = ContinuousClock()
    let start = clock.now
    let end = start + duration
    while true {
        guard try condition() else {
            let text = what()
            throw WaitFailed(what: text, description: "\(text) stopped holding after \(seconds(start.duration(to: clock.now))) of \(seconds(duration))")
        }
        let now = clock.now
        if now >= end { return }
        pause(min(poll, end - now))
    }
}

/// A duration as "1.5 s".
private func seconds(_ duration: Duration) -> String {
    let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    return String(format: "%.1f s", value)
}

/// Blocks the calling thread for `duration` (the tests that wait are synchronous).
private func pause(_ duration: Duration) {
    guard duration > .zero else { return }
    let (whole, atto) = duration.components
    var request = timespec(tv_sec: Int(whole), tv_nsec: Int(atto / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
