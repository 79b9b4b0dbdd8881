import GRDB
import SafeguardCore

extension Ledger {
    /// Verifies the whole ledger against `trustAnchor` in one read transaction (a consistent
    /// snapshot), streaming rows through `ChainVerifier`. Throws `VerificationFailure` for the
    /// first problem; `progress` is called every `every` events.
    public func verify(trustAnchor: PublicKey, every: Int64 = 10_000, progress: (Int64) -> Void = { _ in }) throws -> VerificationSummary {
        var verifier = ChainVerifier(trustAnchor: trustAnchor)
        var cases: Int64 = 0
        do {
            try db.read { db in
                // Event ids must be unique; SQLite finds the first repeat without our holding every id.
                verifier.duplicateEventIDAt = try Int64.fetchOne(db, sql: """
                    SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY seq) AS n FROM events)
                    WHERE n > 1 ORDER BY seq LIMIT 1
                    """)
                let rows = try Row.fetchCursor(db, sql: "SELECT \(Self.columns) FROM events ORDER BY seq")
                var n: Int64 = 0
                while let row = try rows.next() {
                    let entry: StoredEntry
                    do { entry = try Self.entry(row) } catch let m as RowReader.Malformed {
                        throw VerificationFailure(seq: verifier.state.nextSeq, eventID: nil, reason: .malformedRow(column: m.column))
                    }
                    try verifier.verify(entry)
                    n += 1
                    if n % every == 0 { progress(n) }
                }
                // The copy columns are verified by now, so SQL may count cases for the summary.
                cases = try Int64.fetchOne(db, sql: "SELECT COUNT(DISTINCT case_id) FROM events") ?? 0
            }
        } catch let failure as VerificationFailure {
            throw failure
        } catch {
            throw Self.map(error, path: path)
        }
        var summary = try verifier.finish()
        summary.cases = cases
        return summary
    }
}
