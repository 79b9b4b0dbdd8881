import Foundation
import GRDB
import GRDBSQLite
import SafeguardCatalogue
import SafeguardCore

/// One verification of a ledger file, in one read transaction (a consistent snapshot), from
/// a trusted prefix to the head (docs/FORMAT.md §9, §9.2, §9.3). Every way of verifying goes
/// through it: `verify` (no prefix), `verify --since-checkpoint` (a kept checkpoint), `verify
/// --state`, `project update` and the checkpoint signer (a kept `AuditState`), `project
/// rebuild` (no prefix). Whatever the prefix, each entry after it gets the same checks:
/// `ChainVerifier` with the event catalogue's rules (`CatalogueRules`, as append applies
/// them), the stored Merkle tree, the indexes, and at the end what the file holds beyond the
/// log. Nothing the file says about itself decides what is true: its schema must be exactly
/// the format's, lookups by an index are checked against the rows, and where each case stands
/// comes from the entries verified (`CaseBook`), never from a query.
final class LedgerVerifier {
    let db: Database
    let path: String
    let version: Int
    let indexes: [EventIndexes.Index]
    var chain: ChainVerifier
    let cases: CaseBook
    /// The prefix's size and root: entries before `from` are not verified again.
    let from: Int64
    let fromRoot: [UInt8]
    /// With a kept state: rows before `from` are read only through an inclusion proof against its root.
    let state: AuditState?
    /// A full verification's index check: the hash of each entry under a key of this run's,
    /// and each index's sum and count, as read from the index and as the rows give it.
    let shortHash: ShortHash?
    private var scans: [EventIndexes.Scan] = []
    private var rowSums: [UInt64]
    private var rowCounts: [Int64]
    /// Sequence numbers at which a re-verification's probes found an id repeated from an earlier row.
    private var pendingDuplicates = Set<Int64>()
    /// Set when a lookup by event id found that the index hid the event.
    private var indexHid = false
    /// The sequence number of the entry being checked (lookups answer for entries before it;
    /// kept apart from `chain`, which is being mutated while its rules ask).
    private var checking: Int64 = 0
    let governanceProved: Int
    /// A copy made without details records (a mirror): missing records are withheld.
    var detailsWithheld = false
    /// No entry may be recorded after it (the verifier's clock and the skew it allows).
    let notAfter: Timestamp?

    /// Lookups by event id (through its index), and of a row's own id (without it).
    private let byID: Statement
    private let ownID: Statement

    private init(db: Database, path: String, version: Int, chain: ChainVerifier, cases: CaseBook, from: Int64, fromRoot: [UInt8],
                 state: AuditState?, full: Bool, governanceProved: Int, notAfter: Timestamp?) throws {
        self.db = db; self.path = path; self.version = version; self.chain = chain; self.cases = cases
        self.from = from; self.fromRoot = fromRoot; self.state = state; self.governanceProved = governanceProved; self.notAfter = notAfter
        indexes = EventIndexes.of(version: version)
        shortHash = full ? ShortHash() : nil
        rowSums = Array(repeating: 0, count: indexes.count)
        rowCounts = Array(repeating: 0, count: indexes.count)
        byID = try db.makeStatement(sql: "SELECT seq, type, case_id, occurred_at, agency FROM events WHERE event_id = ?")
        ownID = try db.makeStatement(sql: "SELECT event_id FROM events NOT INDEXED WHERE seq = ?")
    }

    /// A verifier at `prefix`, having checked that the file's schema is exactly its format's
    /// and that the prefix still holds. Throws `ExtensionRefusal` when the file no longer
    /// holds the prefix, `VerificationFailure` for anything else wrong found on the way.
    static func resume(_ db: Database, path: String, prefix: Ledger.TrustedPrefix, trustAnchor: PublicKey, notAfter: Timestamp?) throws -> LedgerVerifier {
        try Schema.check(db)
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        // Every table's `seq` is its rowid (the schema says so), so nothing lies below 0 unseen.
        if let first = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM events"), first != 0 {
            throw VerificationFailure(seq: 0, eventID: nil, reason: first < 0 ? .outOfOrder(expected: 0, found: first) : .missingEvents(expected: 0, found: first))
        }
        let cases: CaseBook
        var chain: ChainVerifier
        var from: Int64 = 0, root = Merkle.emptyRoot, governance = 0
        var kept: AuditState?
        switch prefix {
        case .none:
            cases = CaseBook()
            chain = ChainVerifier(trustAnchor: trustAnchor, types: EventType.known)
        case .checkpoint(let size, let r):
            let old = try OldEntries.read(db, size: size, root: r, trustAnchor: trustAnchor)
            cases = old.cases
            chain = old.chain
            (from, root, governance) = (size, r, old.governance)
        case .state(let s):
            guard s.head.rootKey == trustAnchor else {
                throw VerificationFailure(seq: 0, eventID: nil, reason: .untrustedRoot(named: s.head.rootKey.keyID, trusted: trustAnchor.keyID))
            }
            guard try db.tableExists("tree_nodes") else { throw Ledger.NoTree() }
            let size = try Ledger.treeSize(db)
            guard size >= s.head.size else { throw Ledger.ExtensionRefusal.truncated(size: size) }
            // The file's tree must still hold the subtrees that make the root verified before.
            guard let tree = MerkleFrontier(size: s.head.size, edge: s.head.edge),
                (try? MerkleFrontier(size: s.head.size) { try TreeStore.node(db, $0, $1) }.edgeHashes) == s.head.edge
            else { throw Ledger.ExtensionRefusal.rewritten(root: s.head.root) }
            var envelopes: [Envelope] = []
            for bytes in s.governance {
                do { envelopes.append(try Envelope(json: JSONParser.parse(bytes, mode: .canonical))) } catch {
                    throw AuditState.Invalid(path: s.path, problem: "a governance record in the state is damaged")
                }
            }
            cases = CaseBook(load: { try s.caseRecord($0) })
            chain = ChainVerifier(resuming: .resumed(governance: envelopes, head: (s.head.size - 1, s.head.headHash), headFormat: s.head.headFormat,
                                                     headRecordedAt: s.head.headRecordedAt),
                                  tree: tree, trustAnchor: trustAnchor, types: EventType.known)
            (from, root, governance, kept) = (s.head.size, s.head.root, s.governance.count, s)
        }
        let v = try LedgerVerifier(db: db, path: path, version: version, chain: chain, cases: cases, from: from, fromRoot: root, state: kept,
                                   full: from == 0, governanceProved: governance, notAfter: notAfter)
        v.chain.rules = CatalogueRules(view: VerifiedView(cases: cases) { [weak v] id in v?.earlierEvent(id) })
        return v
    }

    // MARK: - Earlier events, for the catalogue's rules

    /// The earlier event with id `id`, found through the event-id index and read from its row.
    /// A full verification proves at the end that the index holds exactly the rows' ids, so a
    /// stale index can mislead a lookup only in a run that then fails; a re-verification, which
    /// cannot prove that, reads the row's own id again without the index. When the index hides
    /// an event, the rows are searched without it and the index is reported.
    func earlierEvent(_ id: String) -> EventSummary? {
        let before = checking
        if let last = lastLookup, last.before == before, sameBytes(last.id, id) { return last.found }
        let found = lookUp(id, before: before)
        lastLookup = (id, before, found)
        return found
    }

    /// The last lookup: a rule that checks a reference and then its date asks twice.
    private var lastLookup: (id: String, before: Int64, found: EventSummary?)?

    private func lookUp(_ id: String, before: Int64) -> EventSummary? {
        if let r = byIDRow(id), r.seq < before {
            if let state, r.seq < from {
                if let e = try? proved(r.seq, size: state.head.size, root: state.head.root), sameBytes(e.eventID, id) { return EventSummary(e) }
            } else if shortHash != nil || (try? String.fetchOne(ownID, arguments: [r.seq])).map({ sameBytes($0, id) }) == true {
                return r.summary
            }
        }
        if (try? Int64.fetchOne(db, sql: "SELECT seq FROM events NOT INDEXED WHERE event_id = ? AND seq < ? LIMIT 1", arguments: [id, before])) != nil {
            indexHid = true
        }
        return nil
    }

    /// The row the event-id index gives for `id`, through the C API (one per reference checked).
    private func byIDRow(_ id: String) -> (seq: Int64, summary: EventSummary)? {
        let h = byID.sqliteStatement
        defer { sqlite3_reset(h); sqlite3_clear_bindings(h) }
        var id = id
        let bound = id.withUTF8 { p in
            sqlite3_bind_text(h, 1, UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(p.count), LedgerVerifier.transient)
        }
        guard bound == SQLITE_OK, sqlite3_step(h) == SQLITE_ROW else { return nil }
        func text(_ i: Int32) -> String? {
            guard sqlite3_column_type(h, i) == SQLITE_TEXT, let p = sqlite3_column_text(h, i) else { return nil }
            return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(h, i))), as: UTF8.self)
        }
        guard sqlite3_column_type(h, 0) == SQLITE_INTEGER, let type = text(1), let at = text(3).flatMap(Timestamp.init(canonical:)), let agency = text(4) else { return nil }
        return (sqlite3_column_int64(h, 0), EventSummary(type: type, caseID: text(2), occurredAt: at, agency: agency))
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The envelope of the entry at `seq`, proved by an inclusion proof against `root`, the
    /// root of the tree of `size` entries (otherwise the file does not hold that tree: REWRITTEN).
    func proved(_ seq: Int64, size: Int64, root: [UInt8]) throws -> Envelope {
        guard let r = try Row.fetchOne(db, sql: "SELECT envelope, signature FROM events WHERE seq = ?", arguments: [seq]) else {
            throw Ledger.ExtensionRefusal.rewritten(root: root)
        }
        let envelope = try RowReader.blob(r, 0, "envelope"), signature = try RowReader.blob(r, 1, "signature")
        let leaf = Entry.entryHash(canonical: envelope, signature: signature)
        let proof = try Merkle.inclusionProof(index: seq, size: size) { try TreeStore.node(db, $0, $1) }
        guard (try? Merkle.verifyInclusion(index: seq, size: size, leafHash: leaf, proof: proof, root: root)) != nil,
            let e = try? Envelope(json: JSONParser.parse(envelope, mode: .canonical))
        else { throw Ledger.ExtensionRefusal.rewritten(root: root) }
        return e
    }

    // MARK: - The walk

    /// Verifies every entry from the prefix to the head, passing each (once its signature
    /// holds) to `release`; then what the file holds beyond the entries. With `threads` > 1,
    /// each entry's own work (`ChainVerifier.prepare`, its index hashes) is done on that many
    /// cores a batch ahead of the walk, and the Ed25519 checks after it (`SignatureBatches`).
    /// The walk itself (links, keys, rules, the tree) is sequential. A failure found by the
    /// walk is reported only if no earlier signature failed, so the first failure is the one
    /// a single thread would report.
    func run(threads: Int, release: @escaping ((StoredEntry, Envelope)) throws -> Void) throws -> VerificationSummary {
        let full = shortHash != nil
        if let h = shortHash {
            scans = try indexes.map { try EventIndexes.scan(db, $0, h) }
            chain.duplicateEventIDAt = try confirmedRepeat(scans[0].repeats)
        }
        let hasTree = try db.tableExists("tree_nodes")
        let tree = hasTree ? TreeCheck(db, from: from) : nil
        let rows = try Row.fetchCursor(db, sql: "\(try Ledger.selectRows(db, probes: full ? nil : indexes)) WHERE seq >= ? ORDER BY seq", arguments: [from])
        let indexes = self.indexes, shortHash = self.shortHash, withheld = detailsWithheld
        let source = PreparedRows(rows, threads: threads, probes: !full) { entry in
            var entry = entry
            entry.detailsWithheld = withheld
            return (ChainVerifier.prepare(entry, types: EventType.known), shortHash.map { EventIndexes.hashes(entry, indexes, $0) } ?? [])
        }
        let batches = threads > 1 ? SignatureBatches<(StoredEntry, Envelope)>(threads: threads, release: release) : nil
        func failing(_ f: VerificationFailure) -> VerificationFailure { batches?.firstBadSignature() ?? f }
        while let item = try source.next() {
            let entry: StoredEntry, work: (ChainVerifier.Prepared, [UInt64]), probe: EventIndexes.Probe?
            switch item {
            case .entry(let e, let w, let p): (entry, work, probe) = (e, w, p)
            case .malformed(let column):
                throw failing(VerificationFailure(seq: chain.state.nextSeq, eventID: nil, reason: .malformedRow(column: column)))
            case .failed(let error): throw error
            }
            checking = chain.state.nextSeq
            var indexProblem: VerificationFailure.Reason?
            if let probe { indexProblem = try probed(entry, probe) }
            if pendingDuplicates.contains(entry.seq) { chain.duplicateEventIDAt = entry.seq }
            if let state, try state.contains(eventID: entry.eventID) { chain.duplicateEventIDAt = entry.seq }
            let checked: (envelope: Envelope, signature: PendingSignature?)
            do throws(VerificationFailure) {
                checked = try chain.verify(entry, prepared: work.0, deferSignature: batches != nil)
            } catch {
                if indexHid, case .rule = error.reason {
                    throw failing(VerificationFailure(seq: error.seq, eventID: error.eventID, reason: .indexMismatch(EventIndexes.eventIDs.name)))
                }
                throw failing(error)
            }
            // The stored tree (check 15), after this entry's own signature (check 9).
            let laterFailure = { (reason: VerificationFailure.Reason) in
                failing(checked.signature.flatMap { $0.holds() ? nil : $0.failure } ?? VerificationFailure(seq: entry.seq, eventID: nil, reason: reason))
            }
            if let tree, try !tree.matches(chain.completedNodes) { throw laterFailure(.treeMismatch) }
            if let indexProblem { throw laterFailure(indexProblem) }
            if let notAfter, checked.envelope.recordedAt > notAfter {
                throw laterFailure(.recordedAfterClock(recorded: checked.envelope.recordedAt, clock: notAfter))
            }
            for (i, h) in work.1.enumerated() where !(indexes[i].partial && entry.caseID == nil) {
                rowSums[i] &+= h
                rowCounts[i] += 1
            }
            if let batches, let signature = checked.signature {
                try batches.add((entry, checked.envelope), signature)
            } else {
                try release((entry, checked.envelope))
            }
        }
        try batches?.finish()
        if let failure = cases.loadFailure { throw failure }
        var summary = try chain.finish()
        let size = chain.state.nextSeq
        let last = max(size - 1, 0)
        if hasTree, try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM tree_nodes") != MerkleFrontier.nodeCount(size: size) {
            throw VerificationFailure(seq: last, eventID: nil, reason: .treeMismatch)
        }
        // Every details record belongs to an event (each event's own was checked with it).
        if try Ledger.hasDetails(db), let stray = try Int64.fetchOne(db, sql: "SELECT seq FROM details WHERE seq < 0 OR seq >= ? ORDER BY seq LIMIT 1", arguments: [size]) {
            throw VerificationFailure(seq: stray, eventID: nil, reason: .detailsMismatch("a details record is stored for seq \(stray), which holds no event"))
        }
        try checkErasures(last: last)
        for (i, index) in indexes.enumerated() where full && (scans[i].count != rowCounts[i] || scans[i].sum != rowSums[i]) {
            throw VerificationFailure(seq: last, eventID: nil, reason: .indexMismatch(index.name))
        }
        if from > 0 {
            // The new tree extends the old one: by construction, and by the proof an auditor would ask for.
            let proof = try Merkle.consistencyProof(old: from, new: size) { try TreeStore.node(db, $0, $1) }
            do { try Merkle.verifyConsistency(old: from, new: size, oldRoot: fromRoot, newRoot: summary.treeRoot, proof: proof) } catch {
                throw VerificationFailure(seq: last, eventID: nil, reason: .treeMismatch)
            }
        }
        summary.cases = full ? try Int64.fetchOne(db, sql: "SELECT COUNT(DISTINCT case_id) FROM events INDEXED BY events_by_case WHERE case_id IS NOT NULL") ?? 0 : 0
        return summary
    }

    /// An erasure stays done (docs/FORMAT.md §3.6, §9 check 14): no details record of an event
    /// of a case a retention review destroyed, and no wrapped copy of its key, is in the file —
    /// rows put back from a copy made before (the trigger dropped and made again) would let
    /// anyone with an agency key read them again. The cases are those the verified entries
    /// destroyed (with a kept state: those this run read, and each case a copy names).
    private func checkErasures(last: Int64) throws {
        if try db.tableExists("case_keys") {
            for c in try String.fetchAll(db, sql: "SELECT DISTINCT case_id FROM case_keys") {
                if let at = cases.record(c)?.destroyedAt {
                    throw VerificationFailure(seq: last, eventID: nil, reason: .detailsMismatch(
                        "the file holds a wrapped key of case \(c), whose details a retention review recorded at \(at) destroyed: the rows were put back; restore the file from a verified copy made after the erasure"))
                }
            }
        }
        let destroyed = cases.destroyedCases
        guard !destroyed.isEmpty, try Ledger.hasDetails(db) else { return }
        let rows = try Row.fetchCursor(db, sql: "SELECT details.seq, events.case_id FROM details JOIN events ON events.seq = details.seq WHERE events.case_id IS NOT NULL ORDER BY details.seq")
        while let row = try rows.next() {
            guard let c = row[1] as String?, destroyed.contains(c), let seq = row[0] as Int64? else { continue }
            throw VerificationFailure(seq: seq, eventID: nil, reason: .detailsMismatch(
                "the details record of this event of case \(c) is in the file, but a retention review destroyed that case's details: the rows were put back; restore the file from a verified copy made after the erasure"))
        }
    }

    /// Of pairs of entries the event-id index gives the same id, the first sequence number at
    /// which the rows themselves repeat an id (nil if none do; if the index gave a pair the
    /// rows do not, its sum will not match theirs).
    private func confirmedRepeat(_ pairs: [(Int64, Int64)]) throws -> Int64? {
        var first: Int64?
        for (a, b) in pairs {
            let ids = try String.fetchAll(db, sql: "SELECT event_id FROM events WHERE seq IN (?, ?)", arguments: [a, b])
            if ids.count == 2, sameBytes(ids[0], ids[1]) { first = min(first ?? max(a, b), max(a, b)) }
        }
        return first
    }

    /// What a re-verification's probes say of a new row: a repeated id (noted for check 13),
    /// or an index that does not hold the row's entry.
    private func probed(_ entry: StoredEntry, _ probe: EventIndexes.Probe) throws -> VerificationFailure.Reason? {
        var problem: VerificationFailure.Reason?
        if probe.idAt != entry.seq {
            if let p = probe.idAt, let other = try String.fetchOne(db, sql: "SELECT event_id FROM events WHERE seq = ?", arguments: [p]),
                sameBytes(other, entry.eventID) {
                if p < entry.seq { chain.duplicateEventIDAt = entry.seq } else { pendingDuplicates.insert(p) }
            } else {
                problem = .indexMismatch(EventIndexes.eventIDs.name)
            }
        }
        if !probe.indexed { problem = problem ?? .indexMismatch(indexes.dropFirst().map(\.name).joined(separator: ", ")) }
        return problem
    }
}

extension Ledger {
    /// A file from before the Merkle tree (format 1) can only be verified in full.
    struct NoTree: Error, CustomStringConvertible {
        var description: String { "this ledger file has no Merkle tree yet: verify it in full, or open it for writing once to add the tree" }
    }
}

/// The entries before a kept checkpoint, read once and hashed, not verified again (docs/FORMAT.md
/// §9.2): their tree must have the checkpoint's root, each row's copy columns must match its
/// bytes and the event-id index must give each row for its id (both are used for lookups
/// later), and the governance and case entries among them are decoded, for the rules the new
/// entries are checked against.
enum OldEntries {
    struct Read {
        let chain: ChainVerifier
        let cases: CaseBook
        let governance: Int
    }

    static let governanceTypes = Set(LogType.logGovernance.map { Array($0.utf8) })
    static let caseTypes = Set(CaseBook.typesRead.map { Array($0.utf8) })
    static let retentionReview = Array("governance.retention_review".utf8)

    static func read(_ db: Database, size: Int64, root: [UInt8], trustAnchor: PublicKey) throws -> Read {
        guard size > 0 else { throw Ledger.ExtensionRefusal.rewritten(root: root) }
        guard try db.tableExists("tree_nodes") else { throw Ledger.NoTree() }
        let head = try Ledger.treeSize(db)
        guard head >= size else { throw Ledger.ExtensionRefusal.truncated(size: head) }
        var frontier = MerkleFrontier()
        var governance: [Envelope] = []
        let cases = CaseBook()
        var last: (hash: [UInt8], format: Int64?, recordedAt: Timestamp?) = (Entry.zeroHash, nil, nil)
        // Reported after the root: a changed entry (REWRITTEN) says more than a changed column,
        // a changed details record or a changed stored subtree (all of which the checkpoint's
        // root does not cover, and a full verification would report).
        var columnFailure: VerificationFailure?
        var awaitingErasure: [String: Int64] = [:]
        let limit = Entry.maxCanonicalBytes
        func text(_ c: String) -> String { "CASE WHEN length(events.\(c)) > 128 THEN x'00' ELSE events.\(c) END" }
        let hasDetails = try db.tableExists("details")
        let old = try Row.fetchCursor(db, sql: """
            SELECT events.seq, CASE WHEN length(events.envelope) > \(limit) THEN x'' ELSE events.envelope END,
                   CASE WHEN length(events.signature) > 128 THEN x'' ELSE events.signature END,
                   \(["type", "event_id", "case_id", "agency", "key_id", "occurred_at", "recorded_at"].map(text).joined(separator: ", ")),
                   CASE WHEN length(events.entry_hash) > 64 THEN x'' ELSE events.entry_hash END,
                   (SELECT i.seq FROM events i INDEXED BY \(EventIndexes.eventIDs.name) WHERE i.event_id = events.event_id),
                   \(hasDetails ? """
                   CASE WHEN length(details.salt) > 64 THEN x'' ELSE details.salt END,
                   CASE WHEN length(details.body) > \(limit) THEN NULL ELSE details.body END, details.seq IS NOT NULL
                   """ : "NULL, NULL, 0")
            FROM events \(hasDetails ? "LEFT JOIN details ON details.seq = events.seq" : "") WHERE events.seq < ? ORDER BY events.seq
            """, arguments: [size])
        let tree = TreeCheck(db, from: 0)
        var records: Int64 = 0
        while let row = try old.next() {
            let seq = try RowReader.integer(row, 0, "seq")
            guard seq == frontier.size else { throw Ledger.ExtensionRefusal.rewritten(root: frontier.root) }
            let envelope = try RowReader.blob(row, 1, "envelope"), signature = try RowReader.blob(row, 2, "signature")
            let leaf = Entry.entryHash(canonical: envelope, signature: signature)
            let completed = frontier.append(leaf)
            if columnFailure == nil, try !tree.matches(completed) {
                columnFailure = VerificationFailure(seq: seq, eventID: nil, reason: .treeMismatch)
            }
            // The details record its envelope's digest commits to (format 2), or none (format 1).
            let hasRecord = (row[14] as Bool?) == true
            if hasRecord { records += 1 }
            if columnFailure == nil {
                let digest = CanonicalScan.member("details_digest", of: envelope[...]).map { String(decoding: $0, as: UTF8.self) }
                var problem: String?
                switch (digest, hasRecord) {
                case (nil, true): problem = "a details record is stored for a format 1 event, whose details are inside its envelope"
                case (_?, false):
                    // Erased, if a retention review destroyed the case's details later (here or
                    // in the part verified next: the chain holds the case until it sees one).
                    if let c = CanonicalScan.member("case_id", of: envelope[...]).map({ String(decoding: $0, as: UTF8.self) }) {
                        if awaitingErasure[c] == nil { awaitingErasure[c] = seq }
                    } else {
                        problem = "the event's details record is missing"
                    }
                case (let d?, true):
                    let salt = (try? RowReader.blob(row, 12, "salt")) ?? [], body = (row[13] as Data?).map { [UInt8]($0) }
                    if body == nil || salt.count != SealedDetails.saltSize || Hex.encode(SealedDetails(salt: salt, body: body!).digest) != d {
                        problem = "the details record is not the one the event's details_digest commits to"
                    }
                default: break
                }
                if let problem { columnFailure = VerificationFailure(seq: seq, eventID: nil, reason: .detailsMismatch(problem)) }
            }
            let bytes = envelope[...]
            let actor = CanonicalScan.member("actor", of: bytes)
            let type = CanonicalScan.member("type", of: bytes)
            func text(_ i: Int, _ name: String) throws -> [UInt8]? { (try RowReader.optionalText(row, i, name)).map { Array($0.utf8) } }
            for (column, stored, found) in [
                ("type", try text(3, "type"), type.map(Array.init)),
                ("event_id", try text(4, "event_id"), CanonicalScan.member("event_id", of: bytes).map(Array.init)),
                ("case_id", try text(5, "case_id"), CanonicalScan.member("case_id", of: bytes).map(Array.init)),
                ("agency", try text(6, "agency"), actor.flatMap { CanonicalScan.member("agency", of: $0) }.map(Array.init)),
                ("key_id", try text(7, "key_id"), actor.flatMap { CanonicalScan.member("key_id", of: $0) }.map(Array.init)),
                ("occurred_at", try text(8, "occurred_at"), CanonicalScan.member("occurred_at", of: bytes).map(Array.init)),
                ("recorded_at", try text(9, "recorded_at"), CanonicalScan.member("recorded_at", of: bytes).map(Array.init)),
                ("entry_hash", try RowReader.blob(row, 10, "entry_hash"), leaf),
            ] where found != stored && columnFailure == nil {
                columnFailure = VerificationFailure(seq: seq, eventID: nil, reason: .columnMismatch(column: column))
            }
            if (row[11] as Int64?) != seq, columnFailure == nil {
                columnFailure = VerificationFailure(seq: seq, eventID: nil, reason: .indexMismatch(EventIndexes.eventIDs.name))
            }
            if let type, Array(type) == Self.retentionReview, let e = try? Envelope(json: JSONParser.parse(envelope, mode: .canonical)),
                let c = ChainVerifier.destroyedCase(e) {
                awaitingErasure[c] = nil
            }
            if let type, governanceTypes.contains(Array(type)) || caseTypes.contains(Array(type)) {
                let e = try Envelope(json: JSONParser.parse(envelope, mode: .canonical))
                if governanceTypes.contains(Array(type)) { governance.append(e) } else { cases.accept(e) }
            }
            if seq == size - 1 {
                last = (leaf, CanonicalScan.member("format", of: bytes).flatMap { Int64(String(decoding: $0, as: UTF8.self)) },
                        CanonicalScan.member("recorded_at", of: bytes).flatMap { Timestamp(canonical: String(decoding: $0, as: UTF8.self)) })
            }
        }
        guard frontier.size == size else { throw Ledger.ExtensionRefusal.truncated(size: head) }
        guard frontier.root == root else { throw Ledger.ExtensionRefusal.rewritten(root: frontier.root) }
        if let columnFailure { throw columnFailure }
        // No details record beside the old entries but theirs (one at seq -7, say).
        if hasDetails, let stray = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM details WHERE seq < ?", arguments: [size]),
            try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM details WHERE seq < ?", arguments: [size]) != records {
            throw VerificationFailure(seq: stray, eventID: nil, reason: .detailsMismatch("a details record is stored where there is no event of this log to hold it"))
        }
        let genesis = governance.first.flatMap { $0.seq == 0 ? try? LedgerState.genesisInfo($0) : nil }
        guard let genesis, genesis.rootPublicKey == trustAnchor else {
            throw VerificationFailure(seq: 0, eventID: nil, reason: .untrustedRoot(named: genesis?.rootPublicKey.keyID ?? "(no genesis)", trusted: trustAnchor.keyID))
        }
        let state = LedgerState.resumed(governance: governance, head: (size - 1, last.hash), headFormat: last.format, headRecordedAt: last.recordedAt)
        var chain = ChainVerifier(resuming: state, tree: frontier, trustAnchor: trustAnchor, types: EventType.known)
        for (c, seq) in awaitingErasure { chain.awaitErasure(of: c, from: seq) }
        return Read(chain: chain, cases: cases, governance: governance.count)
    }
}
