import SpoolModel

extension SpoolStore {
    /// Audits the file at `path` (see `verify(framedRowSQL:)`). A file SQLite cannot read as a database, or
    /// whose damage stops the audit part way, is reported as problems (with SQLite's integrity
    /// findings), not thrown: damage is what an audit is for. A readable file of another
    /// application, a missing file or a newer schema still throw.
    public static func audit(path: String, framedRowSQL: (@Sendable (_ withHeaders: Bool) -> String)? = nil) throws -> VerifyReport {
        let store: SpoolStore
        do {
            store = try openForReading(path: path)
        } catch let error as StoreError where error.isDamage {
            return VerifyReport(problems: ["SQLite cannot read \(path) as a Spool database: \(error.damageText)"], gaps: [],
                                messageCount: 0, partitionCount: 0, rowsStoredBeforeHeaders: 0, countsKnown: false)
        }
        defer { store.close() }
        do {
            return try store.verify(framedRowSQL: framedRowSQL)
        } catch let error as StoreError where error.isDamage {
            let findings: [String]
            do {
                findings = try store.integrityFindings(limit: 20).map { "integrity check: \($0)" }
            } catch {
                findings = ["SQLite's integrity check cannot run either: \((error as? StoreError)?.damageText ?? String(describing: error))"]
            }
            return VerifyReport(problems: ["the audit stopped: \(error.damageText)"] + findings,
                                gaps: [], messageCount: 0, partitionCount: 0, rowsStoredBeforeHeaders: 0, countsKnown: false)
        }
    }

    /// SQLite's quick check of the whole file: throws `StoreError.storage` naming this file and
    /// the first findings when any page is damaged.
    ///
    /// Related SQLite documentation: https://www.sqlite.org/pragma.html#pragma_quick_check
    func requireUndamaged() throws {
        let findings = try integrityFindings(limit: 3, quick: true)
        guard findings.isEmpty else {
            throw StoreError.storage(path: path, code: 11, message: "the database is damaged (\(findings.joined(separator: "; ")))")
        }
    }

    /// What SQLite's integrity check (or quick check) finds, at most `limit` lines; empty when sound.
    func integrityFindings(limit: Int, quick: Bool = false) throws -> [String] {
        let check = try connection.prepare("PRAGMA \(quick ? "quick_check" : "integrity_check")(\(limit))")
        var findings: [String] = []
        while try check.step() {
            let line = check.text(0) ?? ""
            if line != "ok" { findings.append(line) }
        }
        return findings
    }

    /// Audits the database in one read transaction (a consistent snapshot, even during ingest):
    /// SQLite's integrity check, no duplicate (topic, partition, offset), partition state agreeing
    /// with the stored rows, offsets only increasing in insertion order; gaps are listed.
    /// `framedRowSQL` is the decode layer's condition for a row with something to decode
    /// (`ConfluentFrame.sqlCondition`); with it, a decode state on any other row is a problem.
    public func verify(framedRowSQL: (@Sendable (_ withHeaders: Bool) -> String)? = nil) throws -> VerifyReport {
        try CaptureVerifier(store: self, framedRowSQL: framedRowSQL).run()
    }
}
