internal import CSQLite

extension SQLiteConnection {
    /// Runs `body` while SQLite asks `shouldStop` every `steps` virtual-machine steps of every
    /// statement `body` runs on this connection (those a VACUUM runs inside itself included).
    /// Once `shouldStop` returns true, the running statement ends with SQLITE_INTERRUPT, which
    /// rolls its transaction back, and so does every later one in `body`.
    ///
    /// Returns what `body` returns, or nil when the stop interrupted it (that error is not
    /// rethrown; any other is). `body` runs on this thread and the handler is removed when it
    /// returns; the context pointer handed to SQLite does not outlive this call. Replaces any
    /// progress handler of this connection for the time.
    ///
    /// Related SQLite documentation: https://www.sqlite.org/c3ref/progress_handler.html
    func interruptible<R>(every steps: Int32 = 1_000, stopWhen shouldStop: @escaping () -> Bool, _ body: () throws -> R) throws -> R? {
        let stop = ProgressStop(shouldStop)
        return try withExtendedLifetime(stop) {
            try withHandle { sqlite3_progress_handler($0, steps, progressStopCallback, Unmanaged.passUnretained(stop).toOpaque()) }
            defer { _ = try? withHandle { sqlite3_progress_handler($0, 0, nil, nil) } }
            do {
                return try body()
            } catch let error as StoreError where stop.fired {
                guard case .storage(_, let code, _) = error, code & 0xff == SQLITE_INTERRUPT else { throw error }
                return nil
            }
        }
    }
}

/// The state behind `SQLiteConnection.interruptible`'s progress handler.
private final class ProgressStop {
    let shouldStop: () -> Bool
    /// Whether the handler has asked SQLite to interrupt.
    var fired = false

    init(_ shouldStop: @escaping () -> Bool) { self.shouldStop = shouldStop }
}

/// SQLite's progress callback for `interruptible`: non-zero interrupts the running statement.
/// `context` is the `ProgressStop` that `interruptible` keeps alive while the handler is set.
private func progressStopCallback(_ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    let stop = Unmanaged<ProgressStop>.fromOpaque(context).takeUnretainedValue()
    if !stop.fired && stop.shouldStop() { stop.fired = true }
    return stop.fired ? 1 : 0
}
