import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

extension Ledger {
    /// The events of one case, in order, each checked before it counts: its entry hash computed
    /// again from its envelope and signature, its envelope of its row's seq and case, and its
    /// signature verified under a key the log's governance enrolled (itself checked: `state()`).
    /// A row signed by no enrolled key, or altered since it was signed, is refused, not shown.
    /// Read through the case index, so that it stays quick on a large log: an index left stale to
    /// hide a row is found by `verify` (`index_mismatch`) and `doctor` (`integrity_check`), and
    /// the rules across the whole log are `verify`'s part.
    public func caseEvents(_ caseID: String) throws -> [Envelope] {
        try signedEvents("WHERE case_id = ?", [caseID.databaseValue], what: "of case \(caseID)") { $0.caseID == caseID }
    }

    /// The events of type `type` whose signed bytes contain `text` (a case id, event id or
    /// reference, which canonical JSON writes as it is), in order, each checked as `caseEvents`
    /// checks them: what one case's rules need of other cases' records, without reading them
    /// all. The text only narrows the search; the caller reads the facts.
    public func events(ofType type: String, mentioning text: String) throws -> [Envelope] {
        try signedEvents("WHERE type = ? AND instr(events.envelope, ?) > 0", [type.databaseValue, Data(text.utf8).databaseValue], what: "") { $0.type == type }
    }

    private func signedEvents(_ filter: String, _ arguments: [DatabaseValue], what: String, belongs: (Envelope) -> Bool) throws -> [Envelope] {
        do {
            return try db.read { db in
                let state = try Self.state(db, path: path)
                let rows = try Row.fetchCursor(db, sql: "\(try Self.selectRows(db)) \(filter) ORDER BY seq", arguments: StatementArguments(arguments))
                var out: [Envelope] = []
                while let row = try rows.next() {
                    let entry = try Self.entry(row)
                    guard let e = try? Envelope(json: JSONParser.parse(entry.envelope, mode: .canonical)), e.seq == entry.seq, belongs(e),
                        Entry.entryHash(canonical: entry.envelope, signature: entry.signature) == entry.entryHash,
                        let key = state.registry[e.actor.keyID]?.publicKey,
                        state.signaturesHold(e, signedBytes: entry.envelope, signature: entry.signature, actorKey: key)
                    else {
                        throw LedgerError.altered(path: path, what: "the record at seq \(entry.seq)\(what.isEmpty ? "" : " " + what) is not an entry signed by an enrolled key")
                    }
                    out.append(e)
                }
                return out
            }
        } catch let e as LedgerError { throw e } catch { throw Self.map(error, path: path) }
    }

    /// The policy document in force at the head.
    public func policyDocument() throws -> PolicyDocument {
        guard let doc = try state().policyDocument else { throw LedgerError.sqlite(path: path, message: "the ledger has no policy yet") }
        return try PolicyDocument(json: doc)
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
        try checkedRows(wanted, select: { db in "\(try Self.selectRows(db)) WHERE seq = ?" }) { row in
            let entry = try Self.entry(row)
            return (entry.envelope, entry.signature, { envelope in (entry, envelope) })
        }
    }

    /// The envelopes of `wanted` alone (what the rules read: no details record, no other
    /// column), each checked, as `entries` does, to be the entry the read models were built from.
    public func envelopes(_ wanted: [(seq: Int64, entryHash: String)]) throws -> [Envelope] {
        let limit = Entry.maxCanonicalBytes
        return try checkedRows(wanted, select: { _ in
            "SELECT CASE WHEN length(envelope) > \(limit) THEN x'' ELSE envelope END, CASE WHEN length(signature) > 128 THEN x'' ELSE signature END FROM events WHERE seq = ?"
        }) { row in
            (try RowReader.blob(row, 0, "envelope"), try RowReader.blob(row, 1, "signature"), { $0 })
        }
    }

    /// Reads each of `wanted` by seq with `select`, checks that its envelope and signature make
    /// the entry hash the read models recorded, and decodes the envelope.
    private func checkedRows<T>(_ wanted: [(seq: Int64, entryHash: String)], select sql: (Database) throws -> String,
                                _ read: (Row) throws -> (envelope: [UInt8], signature: [UInt8], make: (Envelope) -> T)) throws -> [T] {
        guard !wanted.isEmpty else { return [] }
        do {
            return try db.read { db in
                let select = try db.cachedStatement(sql: try sql(db))
                var out: [T] = []
                out.reserveCapacity(wanted.count)
                for w in wanted {
                    guard let row = try Row.fetchOne(select, arguments: [w.seq]) else {
                        throw LedgerError.sqlite(path: path, message: "the entry at seq \(w.seq), which the read models were built from, is no longer in the file: run 'safeguard verify'")
                    }
                    let r = try read(row)
                    guard Hex.encode(Entry.entryHash(canonical: r.envelope, signature: r.signature)) == w.entryHash else {
                        throw LedgerError.sqlite(path: path, message: "the entry at seq \(w.seq) is not the one the read models were built from: the file was changed since; run 'safeguard verify'")
                    }
                    out.append(r.make(try Envelope(json: JSONParser.parse(r.envelope, mode: .canonical))))
                }
                return out
            }
        } catch let e as LedgerError { throw e } catch { throw Self.map(error, path: path) }
    }
}
