import Foundation
import GRDB
import SafeguardCore

/// An auditor's own record of a ledger they verified (`safeguard verify --state`): how far
/// (size, tree root, the tree's right edge, the head entry's hash and format), against which
/// root key and origin, the governance entries (from which the registry and policy are
/// replayed), and every event id seen (so a new event cannot reuse one). With it, the next
/// verification reads only the entries added since: nothing of the file before them is
/// trusted or needed. It is the auditor's file, not the log operator's: whoever can change it
/// can make the auditor skip history, so it is kept where the auditor keeps the root key's
/// fingerprint. A SQLite file (application id "SGAS"); docs/FORMAT.md §9.3.
public final class AuditState {
    public static let applicationID: Int32 = 0x5347_4153  // "SGAS"
    public static let formatVersion = 1

    /// What the state says about the log, as of its last verification.
    public struct Head: Equatable, Sendable {
        public var size: Int64
        public var root: [UInt8]
        public var edge: [[UInt8]]
        public var headHash: [UInt8]
        public var headFormat: Int64
        public var rootKey: PublicKey
        public var origin: String
    }

    public let path: String
    private let db: DatabaseQueue
    public let head: Head
    /// The canonical envelopes of the governance entries, in order.
    public let governance: [[UInt8]]

    private init(path: String, db: DatabaseQueue, head: Head, governance: [[UInt8]]) {
        self.path = path; self.db = db; self.head = head; self.governance = governance
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let path: String
        public let problem: String
        public var description: String { "\(path): \(problem)" }
    }

    private static let schema = """
        CREATE TABLE head (one INTEGER PRIMARY KEY CHECK (one = 1), size INTEGER NOT NULL, root BLOB NOT NULL, edge BLOB NOT NULL,
                           head_hash BLOB NOT NULL, head_format INTEGER NOT NULL, root_key TEXT NOT NULL, origin TEXT NOT NULL,
                           verified_at TEXT NOT NULL);
        CREATE TABLE governance (seq INTEGER PRIMARY KEY, envelope BLOB NOT NULL);
        CREATE TABLE event_ids (id BLOB PRIMARY KEY) WITHOUT ROWID;
        """

    /// Opens the state at `path`, checking that it is one and is whole.
    public static func open(_ path: String) throws -> AuditState {
        func invalid(_ problem: String) -> Invalid { Invalid(path: path, problem: problem) }
        do {
            guard FileManager.default.fileExists(atPath: path) else { throw invalid("does not exist") }
            let queue = try DatabaseQueue(path: path)
            let (head, governance) = try queue.read { db -> (Head, [[UInt8]]) in
                guard try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID else {
                    throw invalid("not a safeguard audit state (made by 'safeguard verify --state')")
                }
                guard try Int.fetchOne(db, sql: "PRAGMA user_version") == formatVersion else {
                    throw invalid("an audit state of another version; verify in full with a new --state file")
                }
                guard let r = try Row.fetchOne(db, sql: "SELECT size, root, edge, head_hash, head_format, root_key, origin FROM head") else {
                    throw invalid("the audit state is incomplete; verify in full with a new --state file")
                }
                let edgeBytes = try RowReader.blob(r, 2, "edge")
                let edge = stride(from: 0, to: edgeBytes.count, by: Merkle.hashSize).map { Array(edgeBytes[$0..<min($0 + Merkle.hashSize, edgeBytes.count)]) }
                guard let key = PublicKey(base64: try RowReader.text(r, 5, "root_key")) else { throw invalid("the state's root key is damaged") }
                let head = Head(size: try RowReader.integer(r, 0, "size"), root: try RowReader.blob(r, 1, "root"), edge: edge,
                                headHash: try RowReader.blob(r, 3, "head_hash"), headFormat: try RowReader.integer(r, 4, "head_format"),
                                rootKey: key, origin: try RowReader.text(r, 6, "origin"))
                guard let frontier = MerkleFrontier(size: head.size, edge: head.edge), frontier.root == head.root, head.size > 0 else {
                    throw invalid("the state's tree edge does not give its root: the state file is damaged")
                }
                return (head, try Row.fetchAll(db, sql: "SELECT envelope FROM governance ORDER BY seq").map { try RowReader.blob($0, 0, "envelope") })
            }
            return AuditState(path: path, db: queue, head: head, governance: governance)
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
        return try db.read { try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM event_ids WHERE id = ?)", arguments: [id]) ?? false }
    }

    /// A lowercase UUID as its 16 bytes (envelopes hold only those: `Validate.isUUID`).
    static func binary(_ eventID: String) -> Data? {
        guard Validate.isUUID(eventID) else { return nil }
        return Hex.decode(eventID.replacingOccurrences(of: "-", with: "")).map { Data($0) }
    }

    /// Collects what a verification adds to a state: the verified entries from the state's
    /// size (or from genesis, for a new state) on, in order; then `save` or `create`.
    public final class Update {
        fileprivate private(set) var frontier: MerkleFrontier
        fileprivate private(set) var ids: [Data] = []
        fileprivate private(set) var governance: [(Int64, [UInt8])] = []
        fileprivate private(set) var last: (hash: [UInt8], format: Int64)?
        /// For a new state: the file being written beside its final path (ids go there in
        /// chunks as they come, so a first verification's memory does not grow with the log).
        fileprivate let partial: (path: String, queue: DatabaseQueue)?
        public private(set) var added: Int64 = 0

        /// An update to `state`.
        public init(_ state: AuditState) {
            frontier = MerkleFrontier(size: state.head.size, edge: state.head.edge) ?? MerkleFrontier()
            partial = nil
        }

        /// The first state of a log, to be created at `path` (which must not exist).
        public init(creating path: String) throws {
            guard !FileManager.default.fileExists(atPath: path) else { throw Invalid(path: path, problem: "already exists") }
            let file = path + ".partial"
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: file + suffix) }
            do {
                let queue = try DatabaseQueue(path: file)
                try queue.write { db in
                    try db.execute(sql: "PRAGMA application_id = \(applicationID)")
                    try db.execute(sql: "PRAGMA user_version = \(formatVersion)")
                    try db.execute(sql: schema)
                }
                partial = (file, queue)
            } catch {
                throw Invalid(path: path, problem: "cannot be written (\(error))")
            }
            frontier = MerkleFrontier()
        }

        deinit {
            // A new state not completed leaves nothing behind.
            if let partial, FileManager.default.fileExists(atPath: partial.path) {
                try? partial.queue.close()
                for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: partial.path + suffix) }
            }
        }

        /// Adds the next verified entry.
        public func add(_ row: StoredEntry, _ envelope: Envelope) throws {
            frontier.append(row.entryHash)
            if let id = AuditState.binary(envelope.eventID) { ids.append(id) }
            if EvidenceBundle.governance.contains(envelope.type) {
                governance.append((envelope.seq, row.envelope))
            }
            last = (row.entryHash, envelope.format)
            added += 1
            if let partial, ids.count >= 65_536 { try AuditState.insert(ids: ids, into: partial.queue); ids.removeAll(keepingCapacity: true) }
        }
    }

    /// Writes the first state of a verified log, as `update` (made with `init(creating:)`)
    /// collected it, and renames it into place at `path`.
    public static func create(_ path: String, _ update: Update, rootKey: PublicKey, origin: String, now: Date = Date()) throws {
        guard let partial = update.partial else { throw Invalid(path: path, problem: "is not a new state") }
        do {
            try write(partial.queue, update, rootKey: rootKey, origin: origin, now: now)
            try partial.queue.close()
            guard rename(partial.path, path) == 0 else { throw Invalid(path: path, problem: "cannot be written (\(String(cString: strerror(errno))))") }
        } catch let e as Invalid { throw e } catch {
            throw Invalid(path: path, problem: "cannot be written (\(error))")
        }
    }

    static func insert(ids: [Data], into queue: DatabaseQueue) throws {
        try queue.write { db in
            let insert = try db.makeStatement(sql: "INSERT INTO event_ids (id) VALUES (?)")
            for id in ids { try insert.execute(arguments: [id]) }
        }
    }

    /// Brings this state up to date with `update` (one transaction: all or nothing).
    public func save(_ update: Update, now: Date = Date()) throws {
        do { try Self.write(db, update, rootKey: head.rootKey, origin: head.origin, now: now) } catch {
            throw Invalid(path: path, problem: "cannot be updated (\(error))")
        }
    }

    private static func write(_ queue: DatabaseQueue, _ u: Update, rootKey: PublicKey, origin: String, now: Date) throws {
        guard let last = u.last else { return }  // nothing new
        try queue.write { db in
            let insert = try db.makeStatement(sql: "INSERT INTO event_ids (id) VALUES (?)")
            for id in u.ids { try insert.execute(arguments: [id]) }
            for (seq, envelope) in u.governance {
                try db.execute(sql: "INSERT INTO governance (seq, envelope) VALUES (?, ?)", arguments: [seq, Data(envelope)])
            }
            try db.execute(sql: """
                INSERT OR REPLACE INTO head (one, size, root, edge, head_hash, head_format, root_key, origin, verified_at)
                VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [u.frontier.size, Data(u.frontier.root), Data(u.frontier.edgeHashes.flatMap { $0 }), Data(last.hash), last.format,
                                 rootKey.base64, origin, Timestamp(seconds: Int64(now.timeIntervalSince1970)).description])
        }
    }
}
