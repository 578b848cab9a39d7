/// Why `spool query` refused or stopped a query.
public enum QueryError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The statement would write, attach, load code or change settings.
    case refused(reason: String)
    /// More than one statement was given.
    case multipleStatements
    /// SQLite could not compile or run the statement.
    case invalid(message: String)
    /// The query ran longer than the time limit.
    case timeLimit(seconds: Double)
    /// The query needed more memory (or a larger value) than allowed.
    case memoryLimit(message: String)

    /// A sentence saying what happened and what to do.
    public var description: String {
        switch self {
        case .refused(let reason):
            return "query refused: \(reason); spool query only reads (SELECT, WITH, EXPLAIN and read-only PRAGMAs)"
        case .multipleStatements:
            return "query refused: give exactly one statement (found more after the first ';')"
        case .invalid(let message):
            return "query failed: \(message)"
        case .timeLimit(let seconds):
            return "query stopped: it ran longer than the \(seconds) s limit; narrow it, or raise --timeout"
        case .memoryLimit(let message):
            return "query stopped: it needed more memory than allowed (\(message)); narrow it, or raise --max-memory"
        }
    }
}
