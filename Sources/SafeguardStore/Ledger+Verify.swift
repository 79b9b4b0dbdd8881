import Dispatch
import GRDB
import SafeguardCore

extension Ledger {
    /// Verifies the whole ledger against `trustAnchor` in one read transaction (a consistent
    /// snapshot), streaming rows through `ChainVerifier`. Throws `VerificationFailure` for the
    /// first problem; `progress` is called every `every` events. With `threads` > 1, the
    /// Ed25519 checks run on that many cores beside the chain walk (`SignatureBatches`); the
    /// result, and the first failure reported, are the same.
    public func verify(trustAnchor: PublicKey, threads: Int = 1, every: Int64 = 10_000, progress: (Int64) -> Void = { _ in },
                       onEntry: (StoredEntry, Envelope) throws -> Void = { _, _ in }) throws -> VerificationSummary {
        var verifier = ChainVerifier(trustAnchor: trustAnchor)
        var cases: Int64 = 0
        do {
            try withoutActuallyEscaping(onEntry) { onEntry in
            try withoutActuallyEscaping(progress) { progress in
            try db.read { db in
                // Event ids must be unique; SQLite finds the first repeat without our holding every id.
                verifier.duplicateEventIDAt = try Int64.fetchOne(db, sql: """
                    SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY seq) AS n FROM events)
                    WHERE n > 1 ORDER BY seq LIMIT 1
                    """)
                let rows = try Row.fetchCursor(db, sql: "\(try Self.selectRows(db)) ORDER BY seq")
                var n: Int64 = 0
                let tree = try hasTree(db) ? TreeCheck(db) : nil
                let release = { (item: (StoredEntry, Envelope)) throws in
                    try onEntry(item.0, item.1)
                    n += 1
                    if n % every == 0 { progress(n) }
                }
                // Every stored subtree must be the one the entries give (proofs read them).
                try Self.walk(rows, &verifier, threads: threads, subtreesHold: { _, completed in try tree?.matches(completed) ?? true }, release: release)
                // The copy columns are verified by now, so SQL may count cases for the summary.
                cases = try Int64.fetchOne(db, sql: "SELECT COUNT(DISTINCT case_id) FROM events") ?? 0
                // And it holds nothing else.
                if let tree, try !tree.exhausted() {
                    throw VerificationFailure(seq: max(n - 1, 0), eventID: nil, reason: .treeMismatch)
                }
                // Every details record belongs to an event (each event's own was checked with it).
                if try Self.hasDetails(db), let stray = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM details WHERE seq NOT IN (SELECT seq FROM events)") {
                    throw VerificationFailure(seq: stray, eventID: nil, reason: .detailsMismatch("a details record is stored for seq \(stray), which holds no event"))
                }
            }
            }
            }
        } catch let failure as VerificationFailure {
            throw failure
        } catch let e as LedgerError {
            throw e
        } catch where !(error is DatabaseError) {
            throw error
        } catch {
            throw Self.map(error, path: path)
        }
        var summary = try verifier.finish()
        summary.cases = cases
        // Events signed with a key in the window its revocation says it was compromised: they
        // verify (the key was enrolled then), and are listed for review. The copy columns are
        // verified by now, so SQL may select them.
        do { summary.flagged = try db.read { db in try Self.flagged(db, verifier.state.registry) } } catch { throw Self.map(error, path: path) }
        return summary
    }

    /// The events signed with a key from the point its revocation says it was compromised or
    /// lost until the revocation (docs/FORMAT.md §8.4), in order.
    static func flagged(_ db: Database, _ registry: KeyRegistry) throws -> [FlaggedEvent] {
        var out: [FlaggedEvent] = []
        for record in registry.ordered {
            guard let since = record.compromisedSince, let revoked = record.revokedAt else { continue }
            for r in try Row.fetchAll(db, sql: "SELECT seq, event_id, type, case_id FROM events WHERE key_id = ? AND seq >= ? AND seq < ? ORDER BY seq",
                                      arguments: [record.keyID, since, revoked]) {
                out.append(FlaggedEvent(seq: try RowReader.integer(r, 0, "seq"), eventID: try RowReader.text(r, 1, "event_id"),
                                        type: try RowReader.text(r, 2, "type"), caseID: try RowReader.optionalText(r, 3, "case_id"),
                                        keyID: record.keyID, compromisedSince: since, revokedAt: revoked))
            }
        }
        return out.sorted { $0.seq < $1.seq }
    }
}

extension Ledger {
    /// Verifies the entries after `seq` (whose entry hash must still be `hash`) against the
    /// registry and policy as they stood at `seq`, passing each to `onEntry`. This is what an
    /// incremental reader checks: the new tail extends the head it saw before.
    public func verifyTail(after seq: Int64, hash: [UInt8], trustAnchor: PublicKey,
                           onEntry: (StoredEntry, Envelope) throws -> Void) throws {
        do {
            try db.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT entry_hash, envelope FROM events WHERE seq = ?", arguments: [seq]),
                    try RowReader.blob(row, 0, "entry_hash") == hash
                else {
                    throw VerificationFailure(seq: seq, eventID: nil, reason: .entryHashMismatch(stored: "(changed or missing)", computed: Hex.encode(hash)))
                }
                var governance: [Envelope] = []
                let g = try Row.fetchCursor(db, sql: "SELECT envelope FROM events WHERE seq <= ? AND type IN (?, ?, ?, ?) ORDER BY seq",
                                            arguments: [seq, EventType.genesis, EventType.keyEnrolled, EventType.keyRevoked, EventType.policySet])
                while let r = try g.next() {
                    governance.append(try Envelope(json: JSONParser.parse(try RowReader.blob(r, 0, "envelope"), mode: .canonical)))
                }
                // The format of the event at `seq`, so that a later one of a lower format is refused, as a full pass would.
                let headFormat = (try? JSONParser.parse(try RowReader.blob(row, 1, "envelope"), mode: .canonical))?["format"]?.integerValue
                var verifier = ChainVerifier(resuming: .resumed(governance: governance, head: (seq, hash), headFormat: headFormat), trustAnchor: trustAnchor)
                let rows = try Row.fetchCursor(db, sql: "\(try Self.selectRows(db)) WHERE seq > ? ORDER BY seq", arguments: [seq])
                while let r = try rows.next() {
                    let entry: StoredEntry
                    do { entry = try Self.entry(r) } catch let m as RowReader.Malformed {
                        throw VerificationFailure(seq: verifier.state.nextSeq, eventID: nil, reason: .malformedRow(column: m.column))
                    }
                    try onEntry(entry, try verifier.verify(entry))
                }
            }
        } catch let failure as VerificationFailure {
            throw failure
        } catch let e as DatabaseError {
            throw Self.map(e, path: path)
        }
    }
}

extension Ledger {
    /// Walks `rows` through `verifier` in order. With `threads` > 1, each entry's own work
    /// (decoding, hashing, its details record: `ChainVerifier.prepare`) is done on that many
    /// cores a batch ahead of the walk (`PreparedRows`), and the Ed25519 checks after it
    /// (`SignatureBatches`); each entry is released once its signature holds. The walk itself
    /// (links, keys, rules, the tree) stays sequential. A failure found by the walk is reported
    /// only if no earlier signature failed, so the first failure is the one a single thread
    /// would report. `subtreesHold` checks the stored Merkle tree after each entry, given the
    /// subtrees the verifier completed.
    static func walk(_ rows: RowCursor, _ verifier: inout ChainVerifier, threads: Int,
                     subtreesHold: (StoredEntry, [(level: Int, index: Int64, hash: [UInt8])]) throws -> Bool,
                     release: @escaping ((StoredEntry, Envelope)) throws -> Void) throws {
        let batches = threads > 1 ? SignatureBatches<(StoredEntry, Envelope)>(threads: threads, release: release) : nil
        let source = PreparedRows(rows, threads: threads)
        func failing(_ f: VerificationFailure) -> VerificationFailure { batches?.firstBadSignature() ?? f }
        while let item = try source.next() {
            let entry: StoredEntry, prepared: ChainVerifier.Prepared
            switch item {
            case .entry(let e, let p): (entry, prepared) = (e, p)
            case .malformed(let column):
                throw failing(VerificationFailure(seq: verifier.state.nextSeq, eventID: nil, reason: .malformedRow(column: column)))
            case .failed(let error): throw error
            }
            let checked: (envelope: Envelope, signature: PendingSignature?)
            do throws(VerificationFailure) { checked = try verifier.verify(entry, prepared: prepared, deferSignature: batches != nil) } catch { throw failing(error) }
            if !(try subtreesHold(entry, verifier.completedNodes)) {
                // The tree check comes after this entry's own signature (check 9 before 15).
                throw failing(checked.signature.flatMap { $0.holds() ? nil : $0.failure }
                              ?? VerificationFailure(seq: entry.seq, eventID: nil, reason: .treeMismatch))
            }
            if let batches, let signature = checked.signature {
                try batches.add((entry, checked.envelope), signature)
            } else {
                try release((entry, checked.envelope))
            }
        }
        try batches?.finish()
    }
}

/// The rows of a cursor, each with its `ChainVerifier.prepare` done: with one thread, as each
/// row is read; with more, a batch at a time on that many cores, the next batch prepared while
/// the caller walks the current one. Reading stops at the first row that cannot be decoded or
/// the first read error, which come out in their place, after the rows before them.
final class PreparedRows {
    enum Item {
        case entry(StoredEntry, ChainVerifier.Prepared)
        case malformed(column: String)
        case failed(Error)
    }

    private let rows: RowCursor
    private let threads: Int
    private let batchSize: Int
    private var current: [Item] = []
    private var position = 0
    private var inflight: Batch?
    private var ended = false

    /// A batch being prepared: its entries, then what stopped the reading, if anything.
    private final class Batch {
        let entries: [StoredEntry]
        let stop: Item?
        let prepared: UnsafeMutableBufferPointer<ChainVerifier.Prepared?>
        let work: SharedWork

        init(entries: [StoredEntry], stop: Item?, threads: Int) {
            self.entries = entries
            self.stop = stop
            prepared = .allocate(capacity: entries.count)
            prepared.initialize(repeating: nil)
            nonisolated(unsafe) let out = prepared
            let work = entries
            self.work = SharedWork(count: entries.count, helpers: threads - 1) { range in
                for i in range { out[i] = ChainVerifier.prepare(work[i]) }
            }
        }

        /// Joins in, then the entries with their preparation, then the stop.
        func items() -> [Item] {
            work.wait()
            var out = zip(entries, prepared).map { Item.entry($0, $1!) }
            if let stop { out.append(stop) }
            return out
        }

        deinit {
            work.wait()
            prepared.deinitialize()
            prepared.deallocate()
        }
    }

    init(_ rows: RowCursor, threads: Int, batchSize: Int = _defaultBatchSize) {
        self.rows = rows
        self.threads = max(1, threads)
        self.batchSize = max(1, batchSize)
    }

    func next() throws -> Item? {
        if threads == 1 {
            guard !ended, let row = try rows.next() else { return nil }
            do {
                let entry = try Ledger.entry(row)
                return .entry(entry, ChainVerifier.prepare(entry))
            } catch let m as RowReader.Malformed {
                ended = true
                return .malformed(column: m.column)
            }
        }
        if position == current.count {
            if inflight == nil { inflight = read() }
            guard let batch = inflight else { return nil }
            current = batch.items()
            position = 0
            inflight = read()
            if current.isEmpty { return nil }
        }
        defer { position += 1 }
        return current[position]
    }

    /// Reads the next batch and starts preparing it; nil once the cursor is done.
    private func read() -> Batch? {
        guard !ended else { return nil }
        var entries: [StoredEntry] = []
        entries.reserveCapacity(batchSize)
        var stop: Item?
        do {
            while entries.count < batchSize, let row = try rows.next() {
                entries.append(try Ledger.entry(row))
            }
        } catch let m as RowReader.Malformed {
            stop = .malformed(column: m.column)
        } catch {
            stop = .failed(error)
        }
        if stop != nil || entries.count < batchSize { ended = true }
        if entries.isEmpty && stop == nil { return nil }
        return Batch(entries: entries, stop: stop, threads: threads)
    }
}

extension Ledger {
    /// Re-verification reads rows by `seq` from the old size on, so the file must hold no row
    /// such a read cannot see (docs/FORMAT.md §9.2 step 3): the `events`, `details` and
    /// `tree_nodes` tables MUST be defined exactly as the format defines them (so `seq` is the
    /// rowid: unique, never NULL), the first entry MUST be at 0 and no details record below 0
    /// (the CHECK constraints that say so can be switched off). A few lookups, whatever the
    /// size. A full verification reads every row and needs none of this.
    static func checkNoRowsOutsideTheLog(_ db: Database) throws {
        for table in ["events", "details", "tree_nodes"] {
            let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table])
            // A file from before format 4 has no details table, and that is all it may lack.
            if sql == nil, table == "details" { continue }
            guard let sql, sql == Schema.definitions[table] else {
                throw VerificationFailure(seq: 0, eventID: nil, reason: .alteredTable(table))
            }
        }
        if let first = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM events"), first != 0 {
            throw VerificationFailure(seq: 0, eventID: nil, reason: first < 0 ? .outOfOrder(expected: 0, found: first) : .missingEvents(expected: 0, found: first))
        }
        if try hasDetails(db), let first = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM details"), first < 0 {
            throw VerificationFailure(seq: first, eventID: nil, reason: .detailsMismatch("a details record is stored for seq \(first), which holds no event"))
        }
    }

    /// The part of re-verification that both ways of resuming share (docs/FORMAT.md §9.2 steps
    /// 3-4, §9.3 steps 3-5): checks that no row lies out of sight, then walks the entries from
    /// `size` on through `verifier`, each subtree a new entry completes compared with the
    /// stored one; then `tree_nodes` must hold exactly
    /// the whole tree's subtrees, no details record may lie beyond the head, and the file's
    /// consistency proof must take `root` (at `size`) to the new root. `frontier` starts as the
    /// tree at `size` and ends as the whole tree.
    static func walkExtension(_ db: Database, from size: Int64, root: [UInt8], _ frontier: inout MerkleFrontier, _ verifier: inout ChainVerifier,
                              threads: Int, release: @escaping ((StoredEntry, Envelope)) throws -> Void) throws {
        try checkNoRowsOutsideTheLog(db)
        let node = { (level: Int, idx: Int64) in try TreeStore.node(db, level, idx) }
        let rows = try Row.fetchCursor(db, sql: "\(try selectRows(db)) WHERE seq >= ? ORDER BY seq", arguments: [size])
        var tree = frontier
        // By the time the tree is checked, the verifier has checked the entry hash column
        // against the entry, so the column is used rather than hashing the entry again.
        try walk(rows, &verifier, threads: threads, subtreesHold: { entry, _ in
            tree.append(entry.entryHash).allSatisfy { completed in (try? node(completed.level, completed.index)) == completed.hash }
        }, release: release)
        frontier = tree
        // No subtree stored beyond those of the whole tree (each new one was compared above).
        if try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM tree_nodes") != MerkleFrontier.nodeCount(size: frontier.size) {
            throw VerificationFailure(seq: max(frontier.size - 1, 0), eventID: nil, reason: .treeMismatch)
        }
        if try hasDetails(db),
            let stray = try Int64.fetchOne(db, sql: "SELECT MIN(d.seq) FROM details d WHERE d.seq >= ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = d.seq)",
                                           arguments: [size]) {
            throw VerificationFailure(seq: stray, eventID: nil, reason: .detailsMismatch("a details record is stored for seq \(stray), which holds no event"))
        }
        // The new tree extends the old one: by construction, and by the proof an auditor would ask for.
        let proof = try Merkle.consistencyProof(old: size, new: frontier.size, node)
        do { try Merkle.verifyConsistency(old: size, new: frontier.size, oldRoot: root, newRoot: frontier.root, proof: proof) } catch {
            throw VerificationFailure(seq: frontier.size - 1, eventID: nil, reason: .treeMismatch)
        }
    }
}

/// Reads the stored tree alongside the entries: one cursor per level, in index order, which is
/// the order in which the entries complete that level's subtrees. So checking every node costs
/// a cursor step each, not a lookup.
final class TreeCheck {
    private let db: Database
    private var cursors: [Int: RowCursor] = [:]

    init(_ db: Database) { self.db = db }

    /// Whether the next stored node of each level is exactly each of `nodes`.
    func matches(_ nodes: [(level: Int, index: Int64, hash: [UInt8])]) throws -> Bool {
        for node in nodes {
            if cursors[node.level] == nil {
                cursors[node.level] = try Row.fetchCursor(db, sql: "SELECT idx, hash FROM tree_nodes WHERE level = ? ORDER BY idx", arguments: [node.level])
            }
            guard let row = try cursors[node.level]!.next(), (try? RowReader.integer(row, 0, "idx")) == node.index,
                (try? RowReader.blob(row, 1, "hash")) == node.hash
            else { return false }
        }
        return true
    }

    /// Whether nothing is stored beyond the nodes checked.
    func exhausted() throws -> Bool {
        for (_, cursor) in cursors where try cursor.next() != nil { return false }
        let levels = cursors.keys.map { Int64($0) }
        let others = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM tree_nodes WHERE level NOT IN (SELECT value FROM json_each(?))",
                                        arguments: ["[" + levels.map(String.init).joined(separator: ",") + "]"]) ?? 0
        return others == 0
    }
}

extension Ledger {
    /// What `verifyExtension` found: the events added since the checkpoint, verified.
    public struct Extension: Sendable {
        /// The checkpoint's size: the events hashed (not verified again) and found unchanged.
        public let from: Int64
        public let events: Int64
        public let headHash: [UInt8]
        public let treeRoot: [UInt8]
        /// Governance entries before the checkpoint, replayed for the rules.
        public let governanceProved: Int
        public let flagged: [FlaggedEvent]
    }

    /// Why the log no longer holds a checkpoint the auditor verified: it is shorter, or the
    /// entries it committed to are not the ones in the file.
    public enum ExtensionRefusal: Error, Equatable {
        case truncated(size: Int64)
        case rewritten(root: [UInt8])
    }

    /// Re-verification for an auditor who verified this log up to `size` entries with root
    /// `root` (a checkpoint they kept): every entry before `size` is hashed, not verified (no
    /// signature checks, no decoding but of governance entries): their tree must have `root`,
    /// and their copy columns must match their bytes. The registry and policy are replayed from
    /// those governance entries, the chain resumes from the computed hash of entry `size − 1`,
    /// and the entries from `size` on get every check of a full verification, their subtrees
    /// compared with the stored ones, and the new root proved consistent with `root`. So the
    /// cost of the old part is hashing (a tenth or less of verifying it) and the new part is
    /// verified in full. Throws `ExtensionRefusal` when the file does not hold the checkpoint,
    /// `VerificationFailure` for a changed copy column before it or the first bad new entry.
    public func verifyExtension(size: Int64, root: [UInt8], trustAnchor: PublicKey, threads: Int = 1,
                                onEntry: (StoredEntry, Envelope) throws -> Void = { _, _ in }) throws -> Extension {
        do {
            return try withoutActuallyEscaping(onEntry) { onEntry in
            try db.read { db in
                guard size > 0 else { throw ExtensionRefusal.rewritten(root: root) }
                guard try hasTree(db) else {
                    throw LedgerError.sqlite(path: path, message: "this ledger file has no Merkle tree yet: verify it in full, or open it for writing once to add the tree")
                }
                let head = try Self.treeSize(db)
                guard head >= size else { throw ExtensionRefusal.truncated(size: head) }
                // Every entry before the checkpoint is read once and hashed (no signatures, no
                // JSON tree): the tree they make must have the checkpoint's root, and each row's
                // copy columns must match its bytes, so that what is looked up by column below
                // (governance, event ids, flagged keys) can be trusted. The governance entries
                // are decoded for the rules the new entries are checked against.
                var frontier = MerkleFrontier()
                var governance: [Envelope] = []
                var last: (hash: [UInt8], format: Int64?) = (Entry.zeroHash, nil)
                // Reported after the root: a changed entry (REWRITTEN) says more than a changed column.
                var columnFailure: VerificationFailure?
                let governanceTypes = Set([EventType.genesis, EventType.keyEnrolled, EventType.keyRevoked, EventType.policySet].map { Array($0.utf8) })
                let old = try Row.fetchCursor(db, sql: "SELECT seq, envelope, signature, type, event_id, key_id, entry_hash FROM events WHERE seq < ? ORDER BY seq",
                                              arguments: [size])
                while let row = try old.next() {
                    let seq = try RowReader.integer(row, 0, "seq")
                    guard seq == frontier.size else { throw ExtensionRefusal.rewritten(root: frontier.root) }
                    let envelope = try RowReader.blob(row, 1, "envelope"), signature = try RowReader.blob(row, 2, "signature")
                    let leaf = Entry.entryHash(canonical: envelope, signature: signature)
                    frontier.append(leaf)
                    let bytes = envelope[...]
                    let type = CanonicalScan.member("type", of: bytes)
                    for (column, stored, found) in [
                        ("type", Array(try RowReader.text(row, 3, "type").utf8), type.map(Array.init)),
                        ("event_id", Array(try RowReader.text(row, 4, "event_id").utf8), CanonicalScan.member("event_id", of: bytes).map(Array.init)),
                        ("key_id", Array(try RowReader.text(row, 5, "key_id").utf8),
                         CanonicalScan.member("actor", of: bytes).flatMap { CanonicalScan.member("key_id", of: $0) }.map(Array.init)),
                        ("entry_hash", try RowReader.blob(row, 6, "entry_hash"), leaf),
                    ] where found != stored && columnFailure == nil {
                        columnFailure = VerificationFailure(seq: seq, eventID: nil, reason: .columnMismatch(column: column))
                    }
                    if let type, governanceTypes.contains(Array(type)) {
                        governance.append(try Envelope(json: JSONParser.parse(envelope, mode: .canonical)))
                    }
                    if seq == size - 1 {
                        last = (leaf, CanonicalScan.member("format", of: bytes).flatMap { Int64(String(decoding: $0, as: UTF8.self)) })
                    }
                }
                guard frontier.size == size else { throw ExtensionRefusal.truncated(size: head) }
                guard frontier.root == root else { throw ExtensionRefusal.rewritten(root: frontier.root) }
                if let columnFailure { throw columnFailure }
                let genesis = governance.first.flatMap { $0.seq == 0 ? try? LedgerState.genesisInfo($0) : nil }
                guard let genesis, genesis.rootPublicKey == trustAnchor else {
                    throw VerificationFailure(seq: 0, eventID: nil, reason: .untrustedRoot(named: genesis?.rootPublicKey.keyID ?? "(no genesis)", trusted: trustAnchor.keyID))
                }
                var verifier = ChainVerifier(resuming: .resumed(governance: governance, head: (size - 1, last.hash), headFormat: last.format),
                                             trustAnchor: trustAnchor)
                // Event ids: each new one must not have been used before (one index lookup each).
                verifier.duplicateEventIDAt = try Int64.fetchOne(db, sql: """
                    SELECT e.seq FROM events e WHERE e.seq >= ? AND EXISTS (SELECT 1 FROM events f WHERE f.event_id = e.event_id AND f.seq < e.seq)
                    ORDER BY e.seq LIMIT 1
                    """, arguments: [size])
                try Self.walkExtension(db, from: size, root: root, &frontier, &verifier, threads: threads, release: onEntry)
                return Extension(from: size, events: frontier.size, headHash: verifier.state.headHash, treeRoot: frontier.root,
                                 governanceProved: governance.count, flagged: try Self.flagged(db, verifier.state.registry))
            }
            }
        } catch let e as VerificationFailure { throw e } catch let e as ExtensionRefusal { throw e } catch let e as LedgerError { throw e } catch {
            throw Self.map(error, path: path)
        }
    }
}
