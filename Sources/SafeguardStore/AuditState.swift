import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

/// A verifier's own record of a ledger it verified: how far (size, tree root, the tree's
/// right edge, the head entry's hash, format and time of recording), against which root key
/// and origin, the governance entries (from which the registry and policy are replayed), every
/// event id seen (so a new event cannot reuse one) and where each case stood (for the event
/// catalogue's rules). With it, the next verification reads only the entries added since:
/// nothing of the file before them is trusted or needed.
///
/// An auditor keeps one as a file (`safeguard verify --state`; application id "SGAS"), the
/// log's checkpoint signer keeps one beside its key, and the read models keep one in their
/// own file, in tables whose names start with `verified_` (docs/FORMAT.md §9.3). Whoever can
/// change it can make its holder skip history, so it is kept with the holder's other secrets,
/// never with the log.
public final class AuditState {
    public static let applicationID: Int32 = 0x5347_4153  // "SGAS"
    public static let formatVersion = 5

    /// What the state says about the log, as of its last verification.
    public struct Head: Equatable, Sendable {
        public var size: Int64
        public var root: [UInt8]
        public var edge: [[UInt8]]
        public var headHash: [UInt8]
        public var headFormat: Int64
        public var headRecordedAt: Timestamp
        public var rootKey: PublicKey
        public var origin: String
    }

    public let path: String
    private let reader: any DatabaseReader
    private let prefix: String
    public let head: Head
    /// The canonical envelopes of the governance entries, in order.
    public let governance: [[UInt8]]

    private init(path: String, reader: any DatabaseReader, prefix: String, head: Head, governance: [[UInt8]]) {
        self.path = path; self.reader = reader; self.prefix = prefix; self.head = head; self.governance = governance
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let path: String
        public let problem: String
        public var description: String { "\(path): \(problem)" }
    }

    /// The tables, their names prefixed with `prefix`.
    static func schema(_ prefix: String) -> String {
        """
        CREATE TABLE \(prefix)head (one INTEGER PRIMARY KEY CHECK (one = 1), size INTEGER NOT NULL, root BLOB NOT NULL, edge BLOB NOT NULL,
                           head_hash BLOB NOT NULL, head_format INTEGER NOT NULL, head_recorded_at TEXT NOT NULL, root_key TEXT NOT NULL,
                           origin TEXT NOT NULL, verified_at TEXT NOT NULL);
        CREATE TABLE \(prefix)governance (seq INTEGER PRIMARY KEY, envelope BLOB NOT NULL);
        CREATE TABLE \(prefix)event_ids (id BLOB PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE \(prefix)cases (case_id TEXT PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID;
        """
    }

    /// Opens the state file at `path`, checking that it is one and is whole.
    public static func open(_ path: String) throws -> AuditState {
        guard FileManager.default.fileExists(atPath: path) else { throw Invalid(path: path, problem: "does not exist") }
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue(path: path) } catch { throw Invalid(path: path, problem: "cannot be read as an audit state (\(error))") }
        do {
            try queue.read { db in
                guard try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID else {
                    throw Invalid(path: path, problem: "not a safeguard audit state (made by 'safeguard verify --state')")
                }
                guard try Int.fetchOne(db, sql: "PRAGMA user_version") == formatVersion else {
                    throw Invalid(path: path, problem: "an audit state of another version; verify in full with a new --state file")
                }
            }
        } catch let e as Invalid { throw e } catch { throw Invalid(path: path, problem: "cannot be read as an audit state (\(error))") }
        guard let state = try open(queue, prefix: "", path: path) else {
            throw Invalid(path: path, problem: "the audit state is incomplete; verify in full with a new --state file")
        }
        return state
    }

    /// The state kept in `reader`'s tables named `prefix…`, or nil if there is none there.
    public static func open(_ reader: any DatabaseReader, prefix: String, path: String) throws -> AuditState? {
        func invalid(_ problem: String) -> Invalid { Invalid(path: path, problem: problem) }
        do {
            return try reader.read { db -> AuditState? in
                guard try db.tableExists("\(prefix)head"),
                    let r = try Row.fetchOne(db, sql: """
                        SELECT size, root, edge, head_hash, head_format, head_recorded_at, root_key, origin FROM \(prefix)head
                        """)
                else { return nil }
                let edgeBytes = try RowReader.blob(r, 2, "edge")
                let edge = stride(from: 0, to: edgeBytes.count, by: Merkle.hashSize).map { Array(edgeBytes[$0..<min($0 + Merkle.hashSize, edgeBytes.count)]) }
                guard let key = PublicKey(base64: try RowReader.text(r, 6, "root_key")) else { throw invalid("the state's root key is damaged") }
                guard let recorded = Timestamp(canonical: try RowReader.text(r, 5, "head_recorded_at")) else { throw invalid("the state's head time is damaged") }
                let head = Head(size: try RowReader.integer(r, 0, "size"), root: try RowReader.blob(r, 1, "root"), edge: edge,
                                headHash: try RowReader.blob(r, 3, "head_hash"), headFormat: try RowReader.integer(r, 4, "head_format"),
                                headRecordedAt: recorded, rootKey: key, origin: try RowReader.text(r, 7, "origin"))
                guard let frontier = MerkleFrontier(size: head.size, edge: head.edge), frontier.root == head.root, head.size > 0 else {
                    throw invalid("the state's tree edge does not give its root: the state is damaged")
                }
                let governance = try Row.fetchAll(db, sql: "SELECT envelope FROM \(prefix)governance ORDER BY seq").map { try RowReader.blob($0, 0, "envelope") }
                return AuditState(path: path, reader: reader, prefix: prefix, head: head, governance: governance)
            }
        } catch let e as Invalid {
            throw e
        } catch let e as RowReader.Malformed {
            throw invalid("the state's \(e.column) is damaged")
        } catch {
            throw invalid("cannot be read as an audit state (\(error))")
        }
    }

    /// Whether `eventID` was seen in the part of the log this state covers.
    public func contains(eventID: String) throws -> Bool {
        guard let id = Self.binary(eventID) else { return false }
        return try reader.read { try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM \(prefix)event_ids WHERE id = ?)", arguments: [id]) ?? false }
    }

    /// Where case `caseID` stood at the state's size, if it had been opened.
    public func caseRecord(_ caseID: String) throws -> CaseBook.Record? {
        guard let bytes = try reader.read({ try Data.fetchOne($0, sql: "SELECT record FROM \(prefix)cases WHERE case_id = ?", arguments: [caseID]) }) else { return nil }
        guard let json = try? JSONParser.parse([UInt8](bytes), mode: .canonical), let record = CaseBook.Record(json: json) else {
            throw Invalid(path: path, problem: "the state's record of case \(caseID) is damaged")
        }
        return record
    }

    /// A lowercase UUID as its 16 bytes (envelopes hold only those: `Validate.isUUID`).
    static func binary(_ eventID: String) -> Data? {
        guard Validate.isUUID(eventID) else { return nil }
        // (Not `replacingOccurrences`: Foundation's string search cost more than the rest of the update.)
        return Hex.decode(String(decoding: eventID.utf8.filter { $0 != UInt8(ascii: "-") }, as: UTF8.self)).map { Data($0) }
    }

    /// Collects what a verification adds to a state: the verified entries from the state's
    /// size (or from genesis, for a new state) on, in order; then `finish` and `save`, `create`
    /// or `write`.
    public final class Update {
        fileprivate private(set) var ids: [Data] = []
        fileprivate private(set) var governance: [(Int64, [UInt8])] = []
        fileprivate private(set) var last: (hash: [UInt8], format: Int64, recordedAt: Timestamp)?
        fileprivate private(set) var frontier: MerkleFrontier?
        fileprivate private(set) var cases: [(String, CaseBook.Record)] = []
        /// Where ids go in chunks as they come, so that a first verification's memory does not
        /// grow with the log (nil: kept until written).
        fileprivate let spill: (([Data]) throws -> Void)?
        /// For a new state file: the file being written beside its final path.
        fileprivate let partial: (path: String, queue: DatabaseQueue)?
        public private(set) var added: Int64 = 0

        /// An update to a state that exists.
        public init() {
            spill = nil
            partial = nil
        }

        /// The first state of a log, to be created at `path` (which must not exist).
        public init(creating path: String) throws {
            guard !FileManager.default.fileExists(atPath: path) else { throw Invalid(path: path, problem: "already exists") }
            let file = path + ".partial"
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: file + suffix) }
            let queue: DatabaseQueue
            do {
                // It holds every case's coded facts and the log's governance: its owner's alone.
                let fd = Glibc.open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw Invalid(path: path, problem: "cannot be written (\(String(cString: strerror(errno))))") }
                fchmod(fd, 0o600)
                close(fd)
                queue = try DatabaseQueue(path: file)
                try queue.write { db in
                    try db.execute(sql: "PRAGMA application_id = \(applicationID)")
                    try db.execute(sql: "PRAGMA user_version = \(formatVersion)")
                    try db.execute(sql: schema(""))
                }
            } catch {
                if DiskSpace.isFull(error, near: file) { throw KeyFiles.Failure.diskFull(path) }
                throw Invalid(path: path, problem: "cannot be written (\(error))")
            }
            partial = (file, queue)
            spill = { ids in try queue.write { db in try AuditState.insert(ids: ids, into: db, prefix: "") } }
        }

        /// The first state of a log, kept in tables named `prefix…` of a database whose
        /// writer `spill` inserts into (the read models' file, inside their transaction).
        public init(spill: @escaping ([Data]) throws -> Void) {
            self.spill = spill
            partial = nil
        }

        deinit {
            // A new state file not completed leaves nothing behind.
            if let partial, FileManager.default.fileExists(atPath: partial.path) {
                try? partial.queue.close()
                for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: partial.path + suffix) }
            }
        }

        /// Adds the next verified entry.
        public func add(_ row: StoredEntry, _ envelope: Envelope) throws {
            if let id = AuditState.binary(envelope.eventID) { ids.append(id) }
            if LogType.logGovernance.contains(envelope.type) {
                governance.append((envelope.seq, row.envelope))
            }
            last = (row.entryHash, envelope.format, envelope.recordedAt)
            added += 1
            if let spill, ids.count >= 65_536 { try spill(ids); ids.removeAll(keepingCapacity: true) }
        }

        /// What the verification ended with: the whole tree's edge, and the cases that changed.
        public func finish(tree: MerkleFrontier, cases book: CaseBook) {
            frontier = tree
            cases = book.changed.sorted().compactMap { id in book.record(id).map { (id, $0) } }
        }
    }

    /// Writes the first state of a verified log, as `update` (made with `init(creating:)`)
    /// collected it, and renames it into place at `path`.
    public static func create(_ path: String, _ update: Update, rootKey: PublicKey, origin: String, now: Date = Date()) throws {
        guard let partial = update.partial else { throw Invalid(path: path, problem: "is not a new state") }
        do {
            try partial.queue.write { db in try write(into: db, prefix: "", update, rootKey: rootKey, origin: origin, now: now) }
            try partial.queue.close()
            guard rename(partial.path, path) == 0 else { throw Invalid(path: path, problem: "cannot be written (\(String(cString: strerror(errno))))") }
        } catch let e as Invalid { throw e } catch {
            if DiskSpace.isFull(error, near: path) { throw KeyFiles.Failure.diskFull(path) }
            throw Invalid(path: path, problem: "cannot be written (\(error))")
        }
    }

    /// Adds event ids (16 bytes each) to the state tables named `prefix…` of `db`.
    public static func insert(ids: [Data], into db: Database, prefix: String) throws {
        let insert = try db.makeStatement(sql: "INSERT INTO \(prefix)event_ids (id) VALUES (?)")
        for id in ids { try insert.execute(arguments: [id]) }
    }

    /// Brings this state file up to date with `update` (one transaction: all or nothing).
    public func save(_ update: Update, now: Date = Date()) throws {
        guard let writer = reader as? any DatabaseWriter else { throw Invalid(path: path, problem: "is not writable here") }
        do { try writer.write { db in try Self.write(into: db, prefix: prefix, update, rootKey: head.rootKey, origin: head.origin, now: now) } } catch {
            if DiskSpace.isFull(error, near: path) { throw KeyFiles.Failure.diskFull(path) }
            throw Invalid(path: path, problem: "cannot be updated (\(error))")
        }
    }

    /// Writes `update` into the state tables named `prefix…` of `db` (made by `createTables`),
    /// in the caller's transaction: the read models' file keeps its state this way, with them.
    public static func write(into db: Database, prefix: String, _ u: Update, rootKey: PublicKey, origin: String, now: Date = Date()) throws {
        guard let last = u.last, let frontier = u.frontier else { return }  // nothing new
        try insert(ids: u.ids, into: db, prefix: prefix)
        for (seq, envelope) in u.governance {
            try db.execute(sql: "INSERT INTO \(prefix)governance (seq, envelope) VALUES (?, ?)", arguments: [seq, Data(envelope)])
        }
        let upsert = try db.makeStatement(sql: "INSERT OR REPLACE INTO \(prefix)cases (case_id, record) VALUES (?, ?)")
        for (id, record) in u.cases { try upsert.execute(arguments: [id, Data(try CanonicalJSON.encode(record.json))]) }
        try db.execute(sql: """
            INSERT OR REPLACE INTO \(prefix)head (one, size, root, edge, head_hash, head_format, head_recorded_at, root_key, origin, verified_at)
            VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [frontier.size, Data(frontier.root), Data(frontier.edgeHashes.flatMap { $0 }), Data(last.hash), last.format,
                             last.recordedAt.description, rootKey.base64, origin, Timestamp(seconds: Int64(now.timeIntervalSince1970)).description])
    }

    /// Makes (or makes again, empty) the state tables named `prefix…` in `db`.
    public static func createTables(in db: Database, prefix: String) throws {
        for t in ["head", "governance", "event_ids", "cases"] { try db.execute(sql: "DROP TABLE IF EXISTS \(prefix)\(t)") }
        try db.execute(sql: schema(prefix))
    }
}
