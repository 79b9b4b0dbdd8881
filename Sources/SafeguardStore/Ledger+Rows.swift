import Foundation
import GRDB
import SafeguardCore

/// The rows of a ledger as they are stored, cell for cell: what moves between a ledger file and
/// a PostgreSQL store (`safeguard migrate`, `verify` and `mirror` from a PostgreSQL URL, the
/// service's working copy). Nothing here is decoded or trusted: the rows are verified where
/// they land, by the one verifier, exactly as a file holding them would be.
public enum LedgerRows {
    /// A row of `events`: its twelve columns (docs/FORMAT.md §10).
    public struct Event: Sendable, Equatable {
        public var seq: Int64
        public var eventID: String
        public var type: String
        public var caseID: String?
        public var agency: String
        public var keyID: String
        public var occurredAt: String
        public var recordedAt: String
        public var prevHash: [UInt8]
        public var envelope: [UInt8]
        public var signature: [UInt8]
        public var entryHash: [UInt8]

        public init(seq: Int64, eventID: String, type: String, caseID: String?, agency: String, keyID: String, occurredAt: String, recordedAt: String,
                    prevHash: [UInt8], envelope: [UInt8], signature: [UInt8], entryHash: [UInt8]) {
            self.seq = seq; self.eventID = eventID; self.type = type; self.caseID = caseID; self.agency = agency; self.keyID = keyID
            self.occurredAt = occurredAt; self.recordedAt = recordedAt; self.prevHash = prevHash; self.envelope = envelope
            self.signature = signature; self.entryHash = entryHash
        }

        /// The row of an entry placed or appended (the columns it copies from its envelope).
        public init(_ row: StoredEntry) {
            self.init(seq: row.seq, eventID: row.eventID, type: row.type, caseID: row.caseID, agency: row.agency, keyID: row.keyID,
                      occurredAt: row.occurredAt, recordedAt: row.recordedAt, prevHash: row.prevHash, envelope: row.envelope,
                      signature: row.signature, entryHash: row.entryHash)
        }
    }

    public struct Details: Sendable, Equatable {
        public var seq: Int64
        public var salt: [UInt8]
        public var body: [UInt8]
        public init(seq: Int64, salt: [UInt8], body: [UInt8]) { self.seq = seq; self.salt = salt; self.body = body }
    }

    public struct TreeNode: Sendable, Equatable {
        public var level: Int64
        public var index: Int64
        public var hash: [UInt8]
        public init(level: Int64, index: Int64, hash: [UInt8]) { self.level = level; self.index = index; self.hash = hash }
    }

    public struct Checkpoint: Sendable, Equatable {
        public var size: Int64
        public var root: [UInt8]
        public var note: [UInt8]
        public var signedAt: String
        public init(size: Int64, root: [UInt8], note: [UInt8], signedAt: String) { self.size = size; self.root = root; self.note = note; self.signedAt = signedAt }
    }

    public struct CaseKey: Sendable, Hashable {
        public var caseID: String
        public var agency: String
        public var wrapped: [UInt8]
        public var wrappedBy: String
        public init(caseID: String, agency: String, wrapped: [UInt8], wrappedBy: String) {
            self.caseID = caseID; self.agency = agency; self.wrapped = wrapped; self.wrappedBy = wrappedBy
        }
    }

    /// What one write added to a ledger, and what it erased: the rows to write in the same
    /// order to another copy of it. `erased` names the cases whose details a retention review
    /// destroyed (with the review's seq); `replacedKeys` the cases whose copies were written
    /// afresh (the old rows removed first).
    public struct Batch: Sendable, Equatable {
        public var events: [Event] = []
        public var details: [Details] = []
        public var treeNodes: [TreeNode] = []
        public var checkpoints: [Checkpoint] = []
        public var caseKeys: [CaseKey] = []
        public var erased: [(caseID: String, review: Int64)] = []
        public var replacedKeys: [String] = []
        public init() {}
        public var isEmpty: Bool { events.isEmpty && checkpoints.isEmpty && caseKeys.isEmpty && erased.isEmpty && replacedKeys.isEmpty }

        public static func == (a: Batch, b: Batch) -> Bool {
            a.events == b.events && a.details == b.details && a.treeNodes == b.treeNodes && a.checkpoints == b.checkpoints && a.caseKeys == b.caseKeys
                && a.erased.map(\.caseID) == b.erased.map(\.caseID) && a.erased.map(\.review) == b.erased.map(\.review) && a.replacedKeys == b.replacedKeys
        }
    }
}

extension Ledger {
    /// Writes rows read from another store into a new ledger file at `path`, as they are
    /// (nothing checked: verify the file next). The format's triggers and indexes are made
    /// after the rows are in, with exactly the format's statements, so that rows a trigger would
    /// refuse (a broken chain, a gap) still land and verification reports them as it would in
    /// any file. `fill` is handed a function taking each chunk of rows, in this order: events
    /// and details by seq, then tree nodes, checkpoints and wrapped keys.
    public static func load(newFileAt path: String, mode: mode_t = 0o600, fill: (_ add: (LedgerRows.Batch) throws -> Void) throws -> Void) throws -> Ledger {
        try checkFree(path)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LedgerError.sqlite(path: path, message: "cannot create the file (\(String(cString: strerror(errno)))): check that the folder exists and is writable") }
        close(fd)
        do {
            // A new file no one else can see yet: no rollback journal while it is filled (a
            // failed load removes it), then WAL, as every ledger file, and one fsync at the end.
            var config = configuration(readOnly: false)
            config.journalMode = .default
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536") }
            let queue = try DatabaseQueue(path: path, configuration: config)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA application_id = \(Schema.applicationID)")
                try db.execute(sql: "PRAGMA user_version = \(Schema.formatVersion)")
            }
            try Schema.migrator.migrate(queue)
            let format = Schema.expected(version: Schema.formatVersion)
            let made = format.filter { ($0.type == "trigger" || $0.type == "index") && $0.sql != nil }.sorted { $0.name < $1.name }
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    for o in made { try db.execute(sql: "DROP \(o.type.uppercased()) \(o.name)") }
                    let writer = try RowsWriter(db)
                    try fill { try writer.add($0) }
                    for o in made.sorted(by: { $0.type < $1.type }) { try db.execute(sql: o.sql!) }
                    return .commit
                }
                _ = try Row.fetchAll(db, sql: "PRAGMA journal_mode = WAL")
            }
            try queue.close()
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { fsync(fd); close(fd) }
        } catch {
            removeFiles(path)
            throw map(error, path: path)
        }
        return try open(at: path, readOnly: false)
    }

    /// The rows of this file, a chunk of up to `chunk` events at a time (with their details),
    /// from seq `from`; then its tree nodes, checkpoints and wrapped keys, all in one read
    /// transaction (one snapshot). The file's schema must be exactly its format's.
    public func rows(from: Int64 = 0, chunk: Int = 2000, _ take: (LedgerRows.Batch) throws -> Void) throws {
        do {
            try db.read { db in
                do { try Schema.check(db) } catch let f as VerificationFailure { throw LedgerError.altered(path: path, what: f.detail) }
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                guard version == Schema.formatVersion else {
                    throw LedgerError.sqlite(path: path, message: "the file is of ledger format \(version): open it for writing once (any 'safeguard' command that records, e.g. 'safeguard checkpoint') to bring it to format \(Schema.formatVersion) first")
                }
                var batch = LedgerRows.Batch()
                func flush(_ force: Bool) throws {
                    guard force || batch.events.count >= chunk || batch.treeNodes.count >= chunk || batch.caseKeys.count >= chunk else { return }
                    if !batch.isEmpty || !batch.treeNodes.isEmpty { try take(batch) }
                    batch = LedgerRows.Batch()
                }
                let events = try Row.fetchCursor(db, sql: """
                    SELECT \(Self.columns), details.seq IS NOT NULL, details.salt, details.body FROM events LEFT JOIN details USING (seq) WHERE seq >= ? ORDER BY seq
                    """, arguments: [from])
                while let r = try events.next() {
                    let seq = try RowReader.integer(r, 0, "seq")
                    batch.events.append(LedgerRows.Event(
                        seq: seq, eventID: try RowReader.text(r, 1, "event_id"), type: try RowReader.text(r, 2, "type"),
                        caseID: try RowReader.optionalText(r, 3, "case_id"), agency: try RowReader.text(r, 4, "agency"), keyID: try RowReader.text(r, 5, "key_id"),
                        occurredAt: try RowReader.text(r, 6, "occurred_at"), recordedAt: try RowReader.text(r, 7, "recorded_at"),
                        prevHash: try RowReader.blob(r, 8, "prev_hash"), envelope: try RowReader.blob(r, 9, "envelope"),
                        signature: try RowReader.blob(r, 10, "signature"), entryHash: try RowReader.blob(r, 11, "entry_hash")))
                    if (r[12] as Bool?) == true {
                        batch.details.append(LedgerRows.Details(seq: seq, salt: try RowReader.blob(r, 13, "salt"), body: try RowReader.blob(r, 14, "body")))
                    }
                    try flush(false)
                }
                try flush(true)
                // The nodes a tree of `from` entries does not hold yet.
                let nodes = try Row.fetchCursor(db, sql: "SELECT level, idx, hash FROM tree_nodes WHERE ((idx + 1) << level) > ? ORDER BY level, idx", arguments: [from])
                while let r = try nodes.next() {
                    batch.treeNodes.append(LedgerRows.TreeNode(level: try RowReader.integer(r, 0, "level"), index: try RowReader.integer(r, 1, "idx"), hash: try RowReader.blob(r, 2, "hash")))
                    try flush(false)
                }
                try flush(true)
                let checkpoints = try Row.fetchCursor(db, sql: "SELECT size, root, note, signed_at FROM checkpoints ORDER BY size")
                while let r = try checkpoints.next() {
                    batch.checkpoints.append(LedgerRows.Checkpoint(size: try RowReader.integer(r, 0, "size"), root: try RowReader.blob(r, 1, "root"),
                                                                   note: try RowReader.blob(r, 2, "note"), signedAt: try RowReader.text(r, 3, "signed_at")))
                }
                let keys = try Row.fetchCursor(db, sql: "SELECT case_id, agency, wrapped, wrapped_by FROM case_keys ORDER BY case_id, agency")
                while let r = try keys.next() {
                    batch.caseKeys.append(LedgerRows.CaseKey(caseID: try RowReader.text(r, 0, "case_id"), agency: try RowReader.text(r, 1, "agency"),
                                                             wrapped: try RowReader.blob(r, 2, "wrapped"), wrappedBy: try RowReader.text(r, 3, "wrapped_by")))
                    try flush(false)
                }
                try flush(true)
            }
        } catch let e as LedgerError { throw e } catch { throw Self.map(error, path: path) }
    }
}

/// Writes `LedgerRows` into a file's tables with prepared statements.
final class RowsWriter {
    private let db: Database
    private let event, details, node, checkpoint, caseKey: Statement

    init(_ db: Database) throws {
        self.db = db
        event = try db.makeStatement(sql: "INSERT INTO events (\(Ledger.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
        details = try db.makeStatement(sql: "INSERT INTO details (seq, salt, body) VALUES (?, ?, ?)")
        node = try db.makeStatement(sql: "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)")
        checkpoint = try db.makeStatement(sql: "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)")
        caseKey = try db.makeStatement(sql: "INSERT INTO case_keys (case_id, agency, wrapped, wrapped_by) VALUES (?, ?, ?, ?)")
    }

    func add(_ b: LedgerRows.Batch) throws {
        // Each details record right after its event (a trigger in force wants it at the head).
        var d = b.details.makeIterator(), next = d.next()
        for e in b.events {
            try event.execute(arguments: [e.seq, e.eventID, e.type, e.caseID, e.agency, e.keyID, e.occurredAt, e.recordedAt,
                                          Data(e.prevHash), Data(e.envelope), Data(e.signature), Data(e.entryHash)])
            while let r = next, r.seq <= e.seq {
                try details.execute(arguments: [r.seq, Data(r.salt), Data(r.body)])
                next = d.next()
            }
        }
        while let r = next {
            try details.execute(arguments: [r.seq, Data(r.salt), Data(r.body)])
            next = d.next()
        }
        for n in b.treeNodes { try node.execute(arguments: [n.level, n.index, Data(n.hash)]) }
        for c in b.checkpoints { try checkpoint.execute(arguments: [c.size, Data(c.root), Data(c.note), c.signedAt]) }
        for c in b.replacedKeys { try db.execute(sql: "DELETE FROM case_keys WHERE case_id = ?", arguments: [c]) }
        for k in b.caseKeys { try caseKey.execute(arguments: [k.caseID, k.agency, Data(k.wrapped), k.wrappedBy]) }
        for (c, review) in b.erased {
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "DELETE FROM case_keys WHERE case_id = ?", arguments: [c])
            try db.execute(sql: "DELETE FROM details WHERE seq IN (SELECT seq FROM events WHERE case_id = ? AND seq < ?)", arguments: [c, review])
        }
    }
}
