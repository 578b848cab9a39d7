/// The rows `SQLiteInsertBench` inserts, generated up front so that generating them is not timed.
///
/// The bench data's shape (`spool dev-broker --shape bench`): record `i` is in partition
/// `i % partitions` at offset `i / partitions`, its key is `key-` and `i` in 12 digits (16 bytes;
/// every 10th key NULL), its value 100 bytes of JSON (`{"seq":i,"payload":"…"}`), its timestamp
/// `1_700_000_000_000 + i` ms. Records arrive in index order, `rowsPerTransaction` at a time (a
/// released batch); inside each transaction the rows are grouped by partition in offset order,
/// as Spool's writer groups a batch. The rows are stored in that insertion order in flat arrays
/// (keys 16 bytes apart, values 100 bytes apart), so the timed loop allocates nothing.
///
/// Keyed rows follow `--shape bench-keyed` instead: record `i`'s key is one of 100,000
/// (`key-` and a multiplicative hash of `i` modulo 100,000 in 12 digits; none NULL), its
/// partition that key number modulo `partitions` (offsets counted per partition), and every
/// 20th value (`i % 20 == 7`) NULL, a tombstone.
package struct InsertBenchRows {
    /// Bytes in every non-NULL key.
    package static let keyLength = 16
    /// Bytes in every value.
    package static let valueLength = 100
    /// The first record's timestamp, in milliseconds since the epoch.
    package static let firstTimestamp: Int64 = 1_700_000_000_000

    /// How many rows there are.
    package let count: Int
    /// How many partitions the rows spread over.
    package let partitions: Int
    /// Rows per transaction (the size of a released batch).
    package let rowsPerTransaction: Int
    /// Whether the rows have the keyed shape.
    package let keyed: Bool
    /// Row `r`'s key is `keys[r * keyLength ..< (r + 1) * keyLength]` unless `keyIsNull[r]`.
    private(set) var keys: [UInt8] = []
    private(set) var keyIsNull: [Bool] = []
    /// Row `r`'s value is `values[r * valueLength ..< (r + 1) * valueLength]`.
    private(set) var values: [UInt8] = []
    /// Whether row `r` is a tombstone (its value NULL; keyed rows only).
    private(set) var valueIsNull: [Bool] = []
    private(set) var partitionOfRow: [Int32] = []
    private(set) var offsets: [Int64] = []
    private(set) var timestamps: [Int64] = []

    /// Generates `count` rows over `partitions` partitions, `rowsPerTransaction` per
    /// transaction, in the bench shape or (`keyed`) the keyed bench shape.
    package init(count: Int, partitions: Int, rowsPerTransaction: Int, keyed: Bool = false) {
        self.count = max(count, 0)
        self.partitions = max(partitions, 1)
        self.rowsPerTransaction = max(rowsPerTransaction, 1)
        self.keyed = keyed
        reserve()
        if keyed {
            nextOffsets = Array(repeating: 0, count: self.partitions)
        }
        for start in stride(from: 0, to: self.count, by: self.rowsPerTransaction) {
            appendTransaction(records: start..<min(self.count, start + self.rowsPerTransaction))
        }
    }

    /// The row ranges of each transaction, in order.
    var transactions: [Range<Int>] {
        stride(from: 0, to: count, by: rowsPerTransaction).map { $0..<min(count, $0 + rowsPerTransaction) }
    }

    private mutating func reserve() {
        keys.reserveCapacity(count * Self.keyLength)
        keyIsNull.reserveCapacity(count)
        valueIsNull.reserveCapacity(count)
        values.reserveCapacity(count * Self.valueLength)
        partitionOfRow.reserveCapacity(count)
        offsets.reserveCapacity(count)
        timestamps.reserveCapacity(count)
    }

    /// Appends the records with indexes in `records`, partition by partition, each in offset order.
    private mutating func appendTransaction(records: Range<Int>) {
        if keyed {
            let byPartition = records.sorted { (Self.keyNumber($0) % partitions, $0) < (Self.keyNumber($1) % partitions, $1) }
            for index in byPartition { appendKeyedRecord(index) }
            return
        }
        for partition in 0..<partitions {
            var index = records.lowerBound + (partition - records.lowerBound % partitions + partitions) % partitions
            while index < records.upperBound {
                appendRecord(index)
                index += partitions
            }
        }
    }

    private mutating func appendRecord(_ index: Int) {
        partitionOfRow.append(Int32(index % partitions))
        offsets.append(Int64(index / partitions))
        timestamps.append(Self.firstTimestamp + Int64(index))
        keyIsNull.append(index % 10 == 9)
        valueIsNull.append(false)
        keys.append(contentsOf: "key-".utf8)
        appendDigits(of: index, width: 12, to: &keys)
        appendValue(index)
    }

    /// Each partition's next offset while keyed rows are generated.
    private var nextOffsets: [Int64] = []

    /// The key number of keyed record `index` (as `--shape bench-keyed` draws it).
    private static func keyNumber(_ index: Int) -> Int {
        Int(((UInt64(index) &* 0x9E37_79B9_7F4A_7C15) >> 32) % 100_000)
    }

    private mutating func appendKeyedRecord(_ index: Int) {
        let number = Self.keyNumber(index)
        let partition = number % partitions
        partitionOfRow.append(Int32(partition))
        offsets.append(nextOffsets[partition])
        nextOffsets[partition] += 1
        timestamps.append(Self.firstTimestamp + Int64(index))
        keyIsNull.append(false)
        valueIsNull.append(index % 20 == 7)
        keys.append(contentsOf: "key-".utf8)
        appendDigits(of: number, width: 12, to: &keys)
        appendValue(index)
    }

    /// `{"seq":INDEX,"payload":"` then letters up to 98 bytes, then `"}`, as the bench shape.
    private mutating func appendValue(_ index: Int) {
        let start = values.count
        values.append(contentsOf: "{\"seq\":".utf8)
        appendDigits(of: index, width: 0, to: &values)
        values.append(contentsOf: ",\"payload\":\"".utf8)
        while values.count - start < Self.valueLength - 2 {
            values.append(UInt8(ascii: "a") + UInt8(truncatingIfNeeded: (index &+ (values.count - start)) % 26))
        }
        values.append(contentsOf: "\"}".utf8)
    }

    /// Appends `number`'s decimal digits, padded with zeros on the left to `width`.
    private func appendDigits(of number: Int, width: Int, to bytes: inout [UInt8]) {
        var digits: [UInt8] = []
        var rest = number
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        while digits.count < width { digits.append(UInt8(ascii: "0")) }
        bytes.append(contentsOf: digits.reversed())
    }
}
