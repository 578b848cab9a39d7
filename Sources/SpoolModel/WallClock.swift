#if canImport(Glibc)
import Glibc
#endif

/// The wall clock, in the unit every Spool timestamp uses.
package enum WallClock {
    /// The current time in milliseconds since the Unix epoch, UTC.
    package static func nowMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a short remaining wait is not lost.
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }

    /// The duration in seconds, as a Double.
    package var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
