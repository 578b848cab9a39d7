/// How far one partition of a restore got: the next source offset to read, and what the
/// committed offset's metadata carries so a restarted restore knows where its records end.
struct PartitionCursor: Equatable {
    /// The next source (captured) offset to restore.
    var next: Int64
    /// Records restored into the destination partition so far (all runs).
    var restored: Int64
    /// The destination offset after the last restored record; -1 before the first.
    var destinationEnd: Int64
    /// Whether every stored record of the partition has been read.
    var finished = false

    /// Which selection (capture cluster and window) the progress belongs to; a cursor read back
    /// with another one is not this restore's.
    var selection: String = ""

    /// The metadata committed with the offset: `spool-restore/1 end=E restored=N sel=S`.
    var metadata: String { "spool-restore/1 end=\(destinationEnd) restored=\(restored) sel=\(selection)" }

    /// A cursor from a committed offset and its metadata; nil when the metadata is not Spool's.
    init?(committedOffset: Int64, metadata: String) {
        var fields: [String: Substring] = [:]
        let words = metadata.split(separator: " ")
        guard words.first == "spool-restore/1" else { return nil }
        for word in words.dropFirst() {
            let pair = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if pair.count == 2 { fields[String(pair[0])] = pair[1] }
        }
        guard let end = fields["end"].flatMap({ Int64($0) }), let restored = fields["restored"].flatMap({ Int64($0) }) else { return nil }
        self.init(next: committedOffset, restored: restored, destinationEnd: end)
        selection = fields["sel"].map(String.init) ?? ""
    }

    /// A cursor at `next` with `restored` records ending at `destinationEnd`, of `selection`.
    init(next: Int64, restored: Int64, destinationEnd: Int64, selection: String = "") {
        self.next = next
        self.restored = restored
        self.destinationEnd = destinationEnd
        self.selection = selection
    }
}
