/// The rows `SQLiteInsertBench` inserts, generated up front so that generating them is not timed.
///
/// The bench data's shape (`spool dev-broker --shape bench`): record `i` is in partition
/// `i % partitions` at offset `i / partitions`, its key is `key-` and `i` in 12 digits (16 bytes;
/// every 10th key NULL), its value 100 bytes of JSON (`{"seq":i,"payload":"…"}`), its timestamp
/// `1_700_000_000_000 + i` ms. Records arrive in index order, `rowsPerTransaction` at a time (a
/// released batch); inside each transaction the rows are grouped by partition in offset order,
/// as Spool's writer groups a batch. The rows are stored in that insertion order in flat arrays
/// (keys 16 bytes apart, values 100 bytes apart), so the timed loop allocates nothing.
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
    /// Row `r`'s key is `keys[r * keyLength ..< (r + 1) * keyLength]` unless `keyIsNull[r]`.
    private(set) var keys: [UInt8] = []
    private(set) var keyIsNull: [Bool] = []
    /// Row `r`'s value is `values[r * valueLength ..< (r + 1) * valueLength]`.
    private(set) var values: [UInt8] = []
    private(set) var partitionOfRow: [Int32] = []
    private(set) var offsets: [Int64] = []
    private(set) var timestamps: [Int64] = []

    /// Generates `count` rows over `partitions` partitions, `rowsPerTransaction` per transaction.
    package init(count: Int, partitions: Int, rowsPerTransaction: Int) {
        self.count = max(count, 0)
        self.partitions = max(partitions, 1)
        self.rowsPerTransaction = max(rowsPerTransaction, 1)
        reserve()
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
        values.reserveCapacity(count * Self.valueLength)
        partitionOfRow.reserveCapacity(count)
        offsets.reserveCapacity(count)
        timestamps.reserveCapacity(count)
    }

    /// Appends the records with indexes in `records`, partition by partition, each in offset order.
    private mutating func appendTransaction(records: Range<Int>) {
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
        keys.append(contentsOf: "key-".utf8)
        appendDigits(of: index, width: 12, to: &keys)
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
