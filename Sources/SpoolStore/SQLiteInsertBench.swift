import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// The physical limit of a capture layout: inserting the bench rows into a fresh SQLite file
/// doing nothing but SQLite's work (bench row (z)).
///
/// The file is set up as `SpoolStore.openForWriting` sets up a new capture (incremental
/// auto-vacuum, WAL, `synchronous=NORMAL`, a 16 MiB page cache, the default page size), unless
/// `Settings` asks for another page size or page cache (the bench's knobs). Each
/// transaction (`BEGIN IMMEDIATE` … `COMMIT`, as the writer) inserts its rows through one
/// persistent prepared INSERT: bind (keys and values `SQLITE_STATIC` from the pre-generated
/// rows), step, reset. Two times are taken: the transactions alone, and the whole job from
/// opening the file to closing it (creating the tables, the transactions, and the checkpoint
/// at close that folds the WAL into the file, as a `spool ingest` run ends); generating the
/// rows is in neither.
package enum SQLiteInsertBench {
    /// A layout of the captured records.
    package enum Layout: String, CaseIterable, Sendable {
        /// `streams (id, topic, partition)` and `records` keyed by `stream id << 44 | offset`.
        case streams
        /// Today's `messages` table with `UNIQUE (topic, partition, offset)`.
        case uniqueIndex
        /// Today's columns with no constraint and no index: appending rows to a rowid table.
        case appendOnly
    }

    /// How a keyed run keeps its latest table (bench row (k)'s SQLite-alone rows).
    package enum KeyedTable: String, CaseIterable, Sendable {
        /// The log alone.
        case logOnly
        /// The log, and per key the row id of its latest record in `latest_keys` (as `--latest`).
        case pointers
        /// No log; per key its latest record's values in `latest_values` (as `--latest-only`).
        case valuesOnly
    }

    /// The file's settings that a run may change from a new capture's.
    package struct Settings: Sendable {
        /// `PRAGMA page_size` before the first table is created; nil keeps SQLite's default (4096).
        package var pageSize: Int?
        /// The page cache in KiB (`PRAGMA cache_size = -N`); Spool's writer uses 16 MiB.
        package var cacheKiB: Int

        package init(pageSize: Int? = nil, cacheKiB: Int = 16_384) {
            self.pageSize = pageSize
            self.cacheKiB = cacheKiB
        }
    }

    /// What one run measured.
    package struct Outcome: Sendable {
        /// Seconds spent in the transactions.
        package let seconds: Double
        /// Seconds from opening the file to closing it, the transactions included.
        package let secondsOpenToClose: Double
        /// Rows inserted.
        package let rows: Int
    }

    /// Creates a SQLite file at `path` (which must not exist) with `layout`'s tables and inserts
    /// every row of `rows`; the connection is closed before returning.
    package static func run(_ layout: Layout, rows: InsertBenchRows, path: String, settings: Settings = Settings()) throws -> Outcome {
        let clock = ContinuousClock()
        let opened = clock.now
        let connection = try createFresh(path, settings)
        defer { connection.close() }
        try connection.execute(schema(layout))
        if let pageSize = settings.pageSize, try connection.text("PRAGMA page_size") != String(pageSize) {
            throw StoreError.storage(path: path, code: 0, message: "SQLite did not take page_size \(pageSize)")
        }
        let streamIDs = layout == .streams ? try insertStreams(rows.partitions, connection) : []
        let seconds = try timeTransactions(layout, rows: rows, streamIDs: streamIDs, connection: connection)
        // The statement is finalized (it lived in timeTransactions), so closing checkpoints now.
        connection.close()
        return Outcome(seconds: seconds, secondsOpenToClose: (clock.now - opened).seconds, rows: rows.count)
    }

    /// Inserts every row through one persistent prepared INSERT; the seconds the transactions took.
    private static func timeTransactions(_ layout: Layout, rows: InsertBenchRows, streamIDs: [Int64],
                                         connection: SQLiteConnection) throws -> Double {
        let insert = try connection.prepare(insertSQL(layout), persistent: true)
        let clock = ContinuousClock()
        let start = clock.now
        try insertAll(rows, layout: layout, streamIDs: streamIDs, statement: insert, connection: connection)
        return (clock.now - start).seconds
    }

    /// Inserts keyed `rows` (`InsertBenchRows(keyed: true)`) into a fresh file at `path` in the
    /// streams layout, keeping the latest table as `table` says and the WAL checkpointed as
    /// Spool's writer does for keyed captures (every 128 MiB). Each transaction ends, as the
    /// writer's do, with the last record of each of its keys applied in key order: a value
    /// replaces the key's entry, a tombstone deletes it. Only the transactions are timed (the
    /// per-transaction sort of the keys included); `secondsOpenToClose` adds the rest.
    package static func runKeyed(_ table: KeyedTable, rows: InsertBenchRows, path: String) throws -> Outcome {
        let clock = ContinuousClock()
        let opened = clock.now
        let connection = try createFresh(path, Settings(pageSize: SpoolStore.pageSize))
        defer { connection.close() }
        try connection.execute(schema(.streams) + latestTables)
        if table != .logOnly { try connection.execute("PRAGMA wal_autocheckpoint = \(128 * 1_048_576 / SpoolStore.pageSize)") }
        let streamIDs = try insertStreams(rows.partitions, connection)
        let seconds = try timeKeyedTransactions(table, rows: rows, streamIDs: streamIDs, connection: connection)
        try checkKeyed(table, rows: rows, connection: connection)
        connection.close()
        return Outcome(seconds: seconds, secondsOpenToClose: (clock.now - opened).seconds, rows: rows.count)
    }

    /// Checks (untimed) that a keyed run stored what it should: every row in the log unless the
    /// log is not kept, and between 1 and 100,000 keys in the table it keeps; throws otherwise,
    /// so a run that did not do the work cannot pass for a fast one.
    private static func checkKeyed(_ table: KeyedTable, rows: InsertBenchRows, connection: SQLiteConnection) throws {
        let logRows = try connection.integer("SELECT count(*) FROM records") ?? -1
        let keys = try connection.integer(table == .valuesOnly ? "SELECT count(*) FROM latest_values" : "SELECT count(*) FROM latest_keys") ?? -1
        let logOK = table == .valuesOnly ? logRows == 0 : logRows == Int64(rows.count)
        let keysOK = table == .logOnly ? keys == 0 : (1...100_000).contains(keys)
        guard logOK, keysOK else {
            throw StoreError.inconsistent(path: connection.path, reason: "the keyed insert bench (\(table.rawValue)) stored \(logRows) log rows "
                + "of \(rows.count) and \(keys) keys")
        }
    }

    /// The keyed tables as migration 13 creates them.
    private static let latestTables = """
        CREATE TABLE latest_values (topic TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, partition INTEGER NOT NULL,
            offset INTEGER NOT NULL, timestamp INTEGER NOT NULL, headers TEXT, key_json TEXT, value_json TEXT, decode_state TEXT,
            PRIMARY KEY (topic, key));
        CREATE TABLE latest_keys (topic TEXT NOT NULL, key BLOB NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (topic, key)) WITHOUT ROWID;
        """

    /// The statements of a keyed run, prepared once: the writer's own (`BatchInserter.KeyedSQL`;
    /// the headers and decoded columns left unbound are NULL, as for records without them).
    private struct KeyedStatements {
        let log: SQLiteStatement
        let upsertPointer: SQLiteStatement
        let deletePointer: SQLiteStatement
        let updateValues: SQLiteStatement
        let insertValues: SQLiteStatement
        let deleteValues: SQLiteStatement

        init(_ connection: SQLiteConnection) throws {
            log = try connection.prepare(insertSQL(.streams), persistent: true)
            upsertPointer = try connection.prepare(BatchInserter.KeyedSQL.upsertPointer, persistent: true)
            deletePointer = try connection.prepare(BatchInserter.KeyedSQL.deletePointer, persistent: true)
            updateValues = try connection.prepare(BatchInserter.KeyedSQL.updateValues, persistent: true)
            insertValues = try connection.prepare(BatchInserter.KeyedSQL.insertValues, persistent: true)
            deleteValues = try connection.prepare(BatchInserter.KeyedSQL.deleteValues, persistent: true)
        }
    }

    /// The timed part of a keyed run; returns its seconds.
    private static func timeKeyedTransactions(_ table: KeyedTable, rows: InsertBenchRows, streamIDs: [Int64],
                                              connection: SQLiteConnection) throws -> Double {
        let statements = try KeyedStatements(connection)
        let clock = ContinuousClock()
        let start = clock.now
        try rows.keys.withUnsafeBytes { keys in
        try rows.values.withUnsafeBytes { values in
            let payloads = BenchPayloads(keys: keys, values: values)
            for transaction in rows.transactions {
                try connection.inTransaction {
                    if table != .valuesOnly {
                        for row in transaction {
                            bind(row, of: rows, payloads: payloads, layout: .streams, streamIDs: streamIDs, topic: "bench", to: statements.log)
                            defer { statements.log.reset() }
                            try statements.log.step()
                        }
                    }
                    guard table != .logOnly else { return }
                    for row in lastPerKey(transaction, payloads) {
                        try applyLatest(row, table, rows: rows, payloads: payloads, streamIDs: streamIDs, statements: statements, connection: connection)
                    }
                }
            }
        }
        }
        return (clock.now - start).seconds
    }

    /// The last row of each key among `transaction`'s rows, in key order.
    private static func lastPerKey(_ transaction: Range<Int>, _ payloads: BenchPayloads) -> [Int] {
        let sorted = transaction.sorted { left, right in
            let order = memcmp(payloads.key(left).baseAddress!, payloads.key(right).baseAddress!, InsertBenchRows.keyLength)
            return order != 0 ? order < 0 : left < right
        }
        return sorted.indices.compactMap { index in
            let isLast = index == sorted.count - 1
                || memcmp(payloads.key(sorted[index]).baseAddress!, payloads.key(sorted[index + 1]).baseAddress!, InsertBenchRows.keyLength) != 0
            return isLast ? sorted[index] : nil
        }
    }

    /// Applies keyed row `row` to the latest table `table` keeps.
    private static func applyLatest(_ row: Int, _ table: KeyedTable, rows: InsertBenchRows, payloads: BenchPayloads, streamIDs: [Int64],
                                    statements: KeyedStatements, connection: SQLiteConnection) throws {
        let topic: StaticString = "bench"
        func run(_ statement: SQLiteStatement, _ bindRest: () -> Void = {}) throws {
            statement.bindStatic(1, text: UnsafeRawPointer(topic.utf8Start).assumingMemoryBound(to: CChar.self), count: topic.utf8CodeUnitCount)
            statement.bindStatic(2, blob: payloads.key(row))
            bindRest()
            defer { statement.reset() }
            try statement.step()
        }
        let tombstone = rows.valueIsNull[row]
        if table == .pointers {
            guard !tombstone else { return try run(statements.deletePointer) }
            let id = StreamDirectory.base(of: streamIDs[Int(rows.partitionOfRow[row])]) | rows.offsets[row]
            return try run(statements.upsertPointer) { statements.upsertPointer.bind(3, id) }
        }
        guard !tombstone else { return try run(statements.deleteValues) }
        for statement in [statements.updateValues, statements.insertValues] {
            try run(statement) {
                statement.bindStatic(3, blob: payloads.value(row))
                statement.bind(4, Int64(rows.partitionOfRow[row]))
                statement.bind(5, rows.offsets[row])
                statement.bind(6, rows.timestamps[row])
            }
            if statement === statements.updateValues, try connection.changes() > 0 { break }
        }
    }

    /// A new SQLite file at `path` (which must not exist) set up as a new capture with `settings`.
    private static func createFresh(_ path: String, _ settings: Settings) throws -> SQLiteConnection {
        guard access(path, F_OK) != 0 else {
            throw StoreError.cannotOpen(path: path, reason: "the file exists; the insert bench writes a fresh file")
        }
        let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
        try configure(connection, settings)
        return connection
    }

    /// The settings `SpoolStore.openForWriting` gives a new file, with `settings`' page size (set
    /// first: a file in WAL mode keeps its page size) and page cache.
    private static func configure(_ connection: SQLiteConnection, _ settings: Settings) throws {
        if let pageSize = settings.pageSize {
            try connection.execute("PRAGMA page_size = \(pageSize)")
        }
        try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        guard try connection.text("PRAGMA journal_mode = WAL")?.lowercased() == "wal" else {
            throw StoreError.storage(path: connection.path, code: 0, message: "SQLite could not switch the file to WAL mode")
        }
        try connection.execute("PRAGMA synchronous = NORMAL")
        try connection.execute("PRAGMA cache_size = -\(settings.cacheKiB)")
    }

    /// The tables of `layout`.
    static func schema(_ layout: Layout) -> String {
        switch layout {
        case .streams:
            return """
                CREATE TABLE streams (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, partition INTEGER NOT NULL, UNIQUE (topic, partition));
                CREATE TABLE records (
                    id INTEGER PRIMARY KEY,
                    key BLOB, value BLOB, timestamp INTEGER NOT NULL, headers TEXT, key_json TEXT, value_json TEXT, decode_state TEXT
                );
                """
        case .uniqueIndex:
            return """
                CREATE TABLE messages (key BLOB, value BLOB, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
                  timestamp INTEGER NOT NULL, headers TEXT, key_json TEXT, value_json TEXT, decode_state TEXT, UNIQUE (topic, partition, offset));
                """
        case .appendOnly:
            return """
                CREATE TABLE messages (key BLOB, value BLOB, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
                  timestamp INTEGER NOT NULL, headers TEXT, key_json TEXT, value_json TEXT, decode_state TEXT);
                """
        }
    }

    /// The INSERT of one row; the columns left unbound (headers, decoded JSON) are NULL.
    static func insertSQL(_ layout: Layout) -> String {
        switch layout {
        case .streams:
            return "INSERT INTO records (id, key, value, timestamp, headers, key_json, value_json, decode_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        case .uniqueIndex, .appendOnly:
            return """
                INSERT INTO messages (key, value, topic, partition, offset, timestamp, headers, key_json, value_json, decode_state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        }
    }

    /// One `streams` row per partition of topic "bench"; returns each partition's stream id.
    private static func insertStreams(_ partitions: Int, _ connection: SQLiteConnection) throws -> [Int64] {
        let insert = try connection.prepare("INSERT INTO streams (topic, partition) VALUES ('bench', ?)")
        return try connection.inTransaction {
            try (0..<partitions).map { partition in
                insert.bind(1, Int64(partition))
                try insert.run()
                return try connection.lastInsertRowID()
            }
        }
    }

    /// The timed part: every transaction of `rows`, each row bound, stepped and reset.
    private static func insertAll(_ rows: InsertBenchRows, layout: Layout, streamIDs: [Int64],
                                  statement: SQLiteStatement, connection: SQLiteConnection) throws {
        let topic: StaticString = "bench"
        try rows.keys.withUnsafeBytes { keys in
        try rows.values.withUnsafeBytes { values in
            let payloads = BenchPayloads(keys: keys, values: values)
            for transaction in rows.transactions {
                try connection.inTransaction {
                    for row in transaction {
                        bind(row, of: rows, payloads: payloads, layout: layout, streamIDs: streamIDs, topic: topic, to: statement)
                        // Reset (which also clears the bindings) before the payloads are given back.
                        defer { statement.reset() }
                        try statement.step()
                    }
                }
            }
        }
        }
    }

    /// The key and value buffers lent for the timed loop.
    private struct BenchPayloads {
        let keys: UnsafeRawBufferPointer
        let values: UnsafeRawBufferPointer

        func key(_ row: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: keys[row * InsertBenchRows.keyLength ..< (row + 1) * InsertBenchRows.keyLength])
        }

        func value(_ row: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: values[row * InsertBenchRows.valueLength ..< (row + 1) * InsertBenchRows.valueLength])
        }
    }

    /// Binds row `row`'s columns for `layout`'s INSERT.
    private static func bind(_ row: Int, of rows: InsertBenchRows, payloads: BenchPayloads, layout: Layout,
                             streamIDs: [Int64], topic: StaticString, to statement: SQLiteStatement) {
        let key = rows.keyIsNull[row] ? nil : payloads.key(row)
        let partition = rows.partitionOfRow[row]
        switch layout {
        case .streams:
            statement.bind(1, StreamDirectory.base(of: streamIDs[Int(partition)]) | rows.offsets[row])
            statement.bindStatic(2, blob: key)
            statement.bindStatic(3, blob: rows.valueIsNull[row] ? nil : payloads.value(row))
            statement.bind(4, rows.timestamps[row])
        case .uniqueIndex, .appendOnly:
            statement.bindStatic(1, blob: key)
            statement.bindStatic(2, blob: payloads.value(row))
            // A string literal's bytes live as long as the process, so binding them without a copy is safe.
            statement.bindStatic(3, text: UnsafeRawPointer(topic.utf8Start).assumingMemoryBound(to: CChar.self), count: topic.utf8CodeUnitCount)
            statement.bind(4, Int64(partition))
            statement.bind(5, rows.offsets[row])
            statement.bind(6, rows.timestamps[row])
        }
    }
}
