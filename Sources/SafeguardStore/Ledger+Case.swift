import GRDB
import SafeguardCatalogue
import SafeguardCore

extension Ledger {
    /// The events of one case, in order, parsed (the stored bytes are canonical; `verify`
    /// checks them cryptographically).
    public func caseEvents(_ caseID: String) throws -> [Envelope] {
        var out: [Envelope] = []
        try forEach(Filter(caseID: caseID)) { row in
            out.append(try Envelope(json: JSONParser.parse(row.envelope, mode: .canonical)))
        }
        return out
    }

    /// The policy document in force at the head.
    public func policyDocument() throws -> PolicyDocument {
        guard let doc = try state().policyDocument else { throw LedgerError.sqlite(path: path, message: "the ledger has no policy yet") }
        return try PolicyDocument(json: doc)
    }
}

extension Ledger {
    /// Streams every case's events, case by case (ordered by case id, then sequence number),
    /// up to `seq`: one case in memory at a time, one query for the whole log.
    public func forEachCase(through seq: Int64, _ body: (String, [Envelope]) throws -> Void) throws {
        do {
            try db.read { db in
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT case_id, envelope FROM events WHERE case_id IS NOT NULL AND seq <= ? ORDER BY case_id, seq
                    """, arguments: [seq])
                var current: String? = nil
                var events: [Envelope] = []
                while let r = try rows.next() {
                    let id = try RowReader.text(r, 0, "case_id")
                    if id != current {
                        if let c = current { try body(c, events) }
                        current = id
                        events.removeAll(keepingCapacity: true)
                    }
                    events.append(try Envelope(json: JSONParser.parse(try RowReader.blob(r, 1, "envelope"), mode: .canonical)))
                }
                if let c = current { try body(c, events) }
            }
        } catch let e as DatabaseError { throw Self.map(e, path: path) }
    }
}

extension Ledger {
    /// Streams every stored row with its envelope parsed, in sequence order, WITHOUT checking
    /// signatures or the chain: for benchmarks that measure what is done with verified events.
    /// Figures that anyone quotes must come from a verified pass (`verify`).
    public func forEachUnverified(_ body: (StoredEntry, Envelope) throws -> Void) throws {
        do {
            try db.read { db in
                let rows = try Row.fetchCursor(db, sql: "\(try Self.selectRows(db)) ORDER BY seq")
                while let row = try rows.next() {
                    let entry = try Self.entry(row)
                    try body(entry, try Envelope(json: JSONParser.parse(entry.envelope, mode: .canonical)))
                }
            }
        } catch let e as DatabaseError { throw Self.map(e, path: path) }
    }
}

extension Ledger {
    /// The entries at the given sequence numbers, each checked to be the entry whose entry hash
    /// (hex) is given beside it: for a reader that knows from a verification which entries it
    /// wants and what they were (the read models). Throws if any is missing or changed.
    public func entries(_ wanted: [(seq: Int64, entryHash: String)]) throws -> [(StoredEntry, Envelope)] {
        guard !wanted.isEmpty else { return [] }
        do {
            return try db.read { db in
                let select = try db.cachedStatement(sql: "\(try Self.selectRows(db)) WHERE seq = ?")
                return try wanted.map { w in
                    guard let row = try Row.fetchOne(select, arguments: [w.seq]) else {
                        throw LedgerError.sqlite(path: path, message: "the entry at seq \(w.seq), which the read models were built from, is no longer in the file: run 'safeguard verify'")
                    }
                    let entry = try Self.entry(row)
                    guard Hex.encode(Entry.entryHash(canonical: entry.envelope, signature: entry.signature)) == w.entryHash else {
                        throw LedgerError.sqlite(path: path, message: "the entry at seq \(w.seq) is not the one the read models were built from: the file was changed since; run 'safeguard verify'")
                    }
                    return (entry, try Envelope(json: JSONParser.parse(entry.envelope, mode: .canonical)))
                }
            }
        } catch let e as LedgerError { throw e } catch { throw Self.map(error, path: path) }
    }
}
