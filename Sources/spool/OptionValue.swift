import ArgumentParser
import SpoolCLI

/// A fixed time given to `--until` or `--from`: ISO-8601 (such as 2026-11-01T00:00:00Z) or
/// epoch milliseconds, the text kept for messages. Not `now`: a bounded run ends at a time that
/// does not move when it is run again.
struct FixedTime: ExpressibleByArgument {
    /// The time in Unix milliseconds.
    let ms: Int64

    /// Nil for anything else, which ArgumentParser reports naming the option and its help.
    init?(argument: String) {
        guard argument != "now", let ms = TimeText.parseInstant(argument, nowMs: 0) else { return nil }
        self.ms = ms
        self.text = argument
    }

    /// The time as it was given.
    let text: String
}

extension Double {
    /// The number as people type it, for "got ..." in option errors: `-1` rather than `-1.0`.
    var argumentText: String {
        isFinite && self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}
