/// The text of `spool replay`'s progress line and closing summary (both go to standard error).
public enum ReplayProgressText {
    /// Why a replay ended.
    public enum Ending: Equatable, Sendable {
        /// A bounded replay reached its end: every partition caught up.
        case caughtUp
        /// `--limit` records were written.
        case limit
        /// SIGINT or SIGTERM.
        case stopRequested
        /// The reader of standard output closed it (`| head`).
        case outputClosed
    }

    /// One line: records written, rate, partitions live, records held back for order.
    public static func line(written: Int64, rate: Double, livePartitions: Int, partitions: Int, held: Int, elapsedSeconds: Double) -> String {
        "\(ByteText.count(written)) records replayed, \(ByteText.count(Int64(rate))) rec/s, \(livePartitions)/\(partitions) partitions live, "
            + "\(ByteText.count(Int64(held))) held, \(TimeText.durationText(Int64(elapsedSeconds * 1000))) elapsed"
    }

    /// The closing summary line.
    public static func summary(written: Int64, elapsedSeconds: Double, ending: Ending) -> String {
        let rate = elapsedSeconds > 0 ? Double(written) / elapsedSeconds : 0
        let why: String
        switch ending {
        case .caughtUp: why = "every partition caught up"
        case .limit: why = "--limit reached"
        case .stopRequested: why = "stopped on request; the same command replays the same records again from the start"
        case .outputClosed: why = "the output was closed"
        }
        return "replayed \(ByteText.count(written)) record\(written == 1 ? "" : "s") in \(ByteText.oneDecimal(elapsedSeconds)) s "
            + "(\(ByteText.count(Int64(rate))) rec/s); \(why)\n"
    }
}
