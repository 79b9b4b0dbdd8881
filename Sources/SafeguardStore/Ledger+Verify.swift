import GRDB
import SafeguardCore

extension Ledger {
    /// Verifies the whole ledger against `trustAnchor` in one read transaction (a consistent
    /// snapshot), streaming rows through `ChainVerifier`. Throws `VerificationFailure` for the
    /// first problem; `progress` is called every `every` events.
    public func verify(trustAnchor: PublicKey, every: Int64 = 10_000, progress: (Int64) -> Void = { _ in }) throws -> VerificationSummary {
        var verifier = ChainVerifier(trustAnchor: trustAnchor)
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
                    try verifier.verify(Self.entry(row))
                    n += 1
                    if n % every == 0 { progress(n) }
                }
            }
        } catch let failure as VerificationFailure {
            throw failure
        } catch {
            throw Self.map(error, path: path)
        }
        return try verifier.finish()
    }
}
