import KafkaReplay
import Logging
import SpoolModel
import SpoolReplay
import SpoolStore

/// Restores one captured topic into its destination, one Kafka transaction at a time: each
/// transaction carries a run of records of several partitions and, as consumer-group offsets of
/// the restore's group, the next source offset of every partition it advanced. A restarted
/// restore continues from those offsets, so every record lands exactly once.
final class TopicRestorer {
    /// How large a transaction grows before it commits.
    struct Limits {
        /// Records per transaction.
        var records: Int
        /// Seconds per transaction.
        var seconds: Double
        /// Records read from one partition at a time.
        var chunk: Int
    }

    /// Raised inside a transaction when a stop was requested.
    private struct StopRequested: Error {}

    /// Raised by the foreign-record scan at the first record it finds.
    private struct FoundRecord: Error {}

    private let capture: SpoolCapture
    private let mapping: TopicMapping
    private let selections: [Int32: PartitionSelection]
    private let latest: Bool
    private let window: Range<Int64>
    private let limits: Limits
    private let shouldStop: () -> Bool
    private let report: (TopicRestoreOutcome) -> Void
    private let logger: Logger
    private let recorder: RestoreProgressRecorder
    /// Names the capture and window this restore selects, carried in the committed metadata.
    private let selectionID: String
    private(set) var outcome: TopicRestoreOutcome

    /// A restorer of `mapping` over what `selections` chose; `report` is called after every commit.
    init(capture: SpoolCapture, mapping: TopicMapping, restoreID: String, selectionID: String, selections: [Int32: PartitionSelection],
         latest: Bool, window: Range<Int64>, limits: Limits, recorder: RestoreProgressRecorder, logger: Logger,
         shouldStop: @escaping () -> Bool, report: @escaping (TopicRestoreOutcome) -> Void) {
        self.capture = capture
        self.mapping = mapping
        self.selectionID = selectionID
        self.selections = selections
        self.latest = latest
        self.window = window
        self.limits = limits
        self.recorder = recorder
        self.logger = logger
        self.shouldStop = shouldStop
        self.report = report
        outcome = TopicRestoreOutcome(mapping: mapping, restoreID: restoreID)
        outcome.selected = selections.values.reduce(0) { $0 + $1.count }
    }

    /// Fences earlier runs, checks the destination holds only this restore's records, and writes
    /// the rest; returns what it did.
    func run(config: [String: String], destinationPartitions: Int) throws -> TopicRestoreOutcome {
        let producer: TransactionalProducer
        do {
            producer = try TransactionalProducer(config: config, transactionalID: outcome.restoreID, logger: logger)
        } catch let failure as TransactionFailure {
            throw RestoreError.kafka("restoring '\(mapping.source)' into '\(mapping.target)': \(failure.description)")
        }
        producer.learnPartitions(of: mapping.target)
        let reader = try CommittedReader(config: config, group: outcome.restoreID, logger: logger)
        var cursors = try startingCursors(reader, destinationPartitions: destinationPartitions)
        try refuseForeignRecords(reader, cursors: cursors, destinationPartitions: destinationPartitions)
        outcome.alreadyRestored = cursors.values.reduce(0) { $0 + $1.restored }
        defer { recorder.finish() }
        try writeAll(producer, reader: reader, cursors: &cursors)
        return outcome
    }

    // MARK: starting point

    /// Each selected partition's cursor: where the group's committed offset says, or its first
    /// stored offset when this restore never committed it.
    private func startingCursors(_ reader: CommittedReader, destinationPartitions: Int) throws -> [Int32: PartitionCursor] {
        let committed = try reader.committed(topic: mapping.target, partitions: destinationPartitions)
        var cursors: [Int32: PartitionCursor] = [:]
        for (partition, selection) in selections {
            guard let entry = committed[partition] else {
                cursors[partition] = PartitionCursor(next: selection.firstOffset, restored: 0, destinationEnd: -1, selection: selectionID)
                continue
            }
            guard let cursor = PartitionCursor(committedOffset: entry.offset, metadata: entry.metadata) else {
                throw RestoreError.refused("consumer group '\(outcome.restoreID)' has an offset on \(mapping.target)[\(partition)] that spool restore did not commit (metadata '\(entry.metadata.prefix(80))'); give this restore another --restore-id")
            }
            guard cursor.selection == selectionID else {
                throw RestoreError.refused("restore id '\(outcome.restoreID)' already holds progress on \(mapping.target)[\(partition)] for another selection (another capture, or another --from/--until); continuing it would skip records. Give this restore another --restore-id (the destination must then be empty), or rerun the earlier selection")
            }
            cursors[partition] = cursor
        }
        return cursors
    }

    /// Refuses when a destination partition holds committed records this restore did not write,
    /// or fewer than it wrote (the topic was deleted and recreated, or truncated).
    private func refuseForeignRecords(_ reader: CommittedReader, cursors: [Int32: PartitionCursor], destinationPartitions: Int) throws {
        let watermarks = try reader.watermarks(topic: mapping.target, partitions: destinationPartitions)
        for partition in 0..<Int32(destinationPartitions) {
            let tp = TopicPartition(topic: mapping.target, partition: partition)
            guard let marks = watermarks[partition] else { continue }
            var start = marks.low
            if let end = cursors[partition]?.destinationEnd, end >= 0 {
                guard marks.high >= end else {
                    throw RestoreError.refused("\(tp) ends at offset \(marks.high) but restore '\(outcome.restoreID)' committed records up to offset \(end): the topic was deleted and recreated or truncated since. To restore it again from the start, pass a new --restore-id")
                }
                start = max(start, end)
            }
            guard marks.high > start else { continue }
            var foreign: Int64?
            do {
                _ = try reader.scan(tp, from: start) { record in
                    foreign = record.offset
                    throw FoundRecord()
                }
            } catch is FoundRecord {}
            if let foreign {
                throw RestoreError.refused(foreignRecordsSentence(tp, offset: foreign))
            }
        }
    }

    /// The refusal for a destination partition holding a record this restore did not write.
    private func foreignRecordsSentence(_ tp: TopicPartition, offset: Int64) -> String {
        var text = "\(tp) holds records this restore did not write (the first at offset \(offset)); restore into an empty topic, or delete and recreate '\(mapping.target)' first"
        if let recorded = recorder.recordedRestored(restoreID: outcome.restoreID, partition: tp.partition), recorded > 0 {
            text += ". The capture records that restore '\(outcome.restoreID)' wrote \(recorded) record(s) there, but the brokers keep no committed progress for it (consumer group '\(outcome.restoreID)'): they do not keep transactional offsets (librdkafka's mock cluster does not), or the group's offsets expired (offsets.retention.minutes, 7 days by default after the last run), so which records are there cannot be proven"
        }
        return text
    }

    // MARK: writing

    /// Commits transactions until every partition is read or a stop is requested; an abortable
    /// failure rolls the transaction back and redoes it from the last commit (five tries).
    private func writeAll(_ producer: TransactionalProducer, reader: CommittedReader, cursors: inout [Int32: PartitionCursor]) throws {
        var committed = cursors
        var failuresInARow = 0
        var progressChecked = false
        while cursors.values.contains(where: { !$0.finished }) {
            if shouldStop() { outcome.stopped = true; return }
            do {
                let tally = try oneTransaction(producer, cursors: &cursors, committed: committed)
                outcome.outsideWindow += tally.outsideWindow
                guard tally.committed else { continue }
                outcome.written += tally.written
                outcome.untimed += tally.untimed
                outcome.transactions += 1
                failuresInARow = 0
                if !progressChecked {
                    progressChecked = true
                    checkProgressKept(reader, cursors: cursors, committed: committed)
                }
                committed = cursors
                recorder.record(cursors: cursors, outcome: outcome, selections: selections)
                report(outcome)
            } catch is StopRequested {
                try rollBack(producer)
                cursors = committed
                outcome.stopped = true
                return
            } catch TransactionFailure.abortable(let text) {
                try rollBack(producer)
                cursors = committed
                failuresInARow += 1
                outcome.retries += 1
                // Authorization does not come back by retrying.
                guard failuresInARow < 5, !text.contains("AUTHORIZATION") else {
                    let times = failuresInARow == 1 ? "" : " (\(failuresInARow) transactions in a row failed; this is the last)"
                    throw RestoreError.kafka("restoring '\(mapping.source)' into '\(mapping.target)': \(text)\(times). Nothing of the failed transactions is visible to read_committed readers. \(advice(for: text))")
                }
                logger.warning("restoring '\(mapping.source)' into '\(mapping.target)': \(text); the transaction was rolled back and is redone")
            } catch TransactionFailure.fatal(let text) {
                throw RestoreError.kafka("restoring '\(mapping.source)' into '\(mapping.target)': \(text). \(advice(for: text))")
            } catch {
                // The capture could not be read (or Kafka failed outside a transaction call): what
                // this transaction sent is rolled back before the error ends the restore.
                try rollBack(producer)
                throw error
            }
        }
    }

    /// Aborts the open transaction (none open is fine); when the abort itself fails the restore
    /// ends: a new run fences this producer, which aborts the transaction for it.
    private func rollBack(_ producer: TransactionalProducer) throws {
        do {
            try producer.abort()
        } catch let failure as TransactionFailure {
            let text = failure.description
            // Fenced: the newer run aborted this transaction already and goes on with the restore.
            let next = text.contains("FENCED") || text.contains("EPOCH")
                ? advice(for: text)
                : "run the same command again: it fences this run and the broker aborts the transaction, so none of its records become visible"
            throw RestoreError.kafka("restoring '\(mapping.source)' into '\(mapping.target)': the transaction could not be rolled back (\(text)); \(next)")
        }
    }

    /// What to do about a failure that ended the restore, from librdkafka's words for it.
    private func advice(for text: String) -> String {
        if text.contains("AUTHORIZATION") {
            return "Check the credentials and ACLs: a restore needs Write and Describe on topic '\(mapping.target)', Write and Describe on transactional id '\(outcome.restoreID)', and Read on consumer group '\(outcome.restoreID)'; then run the same command again"
        }
        if text.contains("FENCED") || text.contains("EPOCH") {
            return "Another spool restore with id '\(outcome.restoreID)' started and fenced this one; it continues the restore"
        }
        return "Run the same command again to continue where the last committed transaction ended"
    }

    /// What one transaction wrote, and what it read past outside the window.
    private struct Tally {
        var written: Int64 = 0
        var untimed: Int64 = 0
        var outsideWindow: Int64 = 0
        /// Whether it sent anything and committed (false: only records outside the window).
        var committed = false
    }

    /// Sends one transaction's records and commits them with the partitions' progress; when
    /// there was nothing to send the cursors still advance past records outside the window.
    private func oneTransaction(_ producer: TransactionalProducer, cursors: inout [Int32: PartitionCursor],
                                committed: [Int32: PartitionCursor]) throws -> Tally {
        var tally = Tally()
        var began = false
        let clock = ContinuousClock()
        let started = clock.now
        let budget = Duration.milliseconds(Int64(limits.seconds * 1000))
        var sent = 0
        while sent < limits.records && started.duration(to: clock.now) < budget {
            var readAny = false
            for partition in cursors.keys.sorted() where cursors[partition]?.finished == false {
                if shouldStop() { throw StopRequested() }
                let limit = min(limits.chunk, limits.records - sent)
                guard limit > 0 else { break }
                var cursor = cursors[partition]!
                let handed = try capture.withStoredRecords(of: TopicPartition(topic: mapping.source, partition: partition),
                                                           from: cursor.next, limit: limit, latest: latest) { record in
                    cursor.next = record.offset + 1
                    guard window.contains(record.timestamp) else {
                        tally.outsideWindow += 1
                        return
                    }
                    if !began {
                        try producer.begin()
                        began = true
                    }
                    let reproducible = RecordDigest.isReproducible(record.timestamp)
                    try producer.send(record, topic: mapping.target, partition: partition, timestampMs: reproducible ? record.timestamp : 0)
                    if !reproducible { tally.untimed += 1 }
                    tally.written += 1
                    cursor.restored += 1
                    sent += 1
                }
                if handed < limit { cursor.finished = true }
                readAny = readAny || handed > 0
                cursors[partition] = cursor
                producer.serveDeliveries()
            }
            if !readAny { break }
        }
        guard began else { return tally }
        try producer.flush()
        for (partition, end) in producer.deliveredEnds() { cursors[partition]?.destinationEnd = end }
        var offsets: [Int32: (offset: Int64, metadata: String)] = [:]
        for (partition, cursor) in cursors where cursor != committed[partition] {
            offsets[partition] = (cursor.next, cursor.metadata)
        }
        if shouldStop() { throw StopRequested() }
        try producer.commit(offsets: offsets, topic: mapping.target, group: outcome.restoreID)
        tally.committed = true
        return tally
    }

    /// After the first commit: warns when the brokers did not keep the committed progress
    /// (librdkafka's mock cluster accepts transactional offsets without storing them).
    private func checkProgressKept(_ reader: CommittedReader, cursors: [Int32: PartitionCursor], committed: [Int32: PartitionCursor]) {
        guard let partition = cursors.keys.sorted().first(where: { cursors[$0] != committed[$0] }) else { return }
        let kept: CommittedOffset?
        do {
            kept = try reader.committed(topic: mapping.target, partitions: Int(partition) + 1)[partition]
        } catch {
            logger.warning("could not read back this restore's committed progress to check it was kept: \(error)")
            return
        }
        guard kept?.offset != cursors[partition]?.next else { return }
        let warning = "the brokers did not keep this restore's committed progress (consumer group '\(outcome.restoreID)', offset of \(mapping.target)[\(partition)]): if it is interrupted, running it again refuses instead of continuing, because the records already written cannot be proven"
        // Said once, in the summary (a log line too would print it twice).
        outcome.warnings.append(warning)
    }
}
