import Foundation
import GRDB
import SafeguardCore

/// The Merkle tree's complete subtrees in the ledger file: level 0 is the entry hashes in
/// `events`, levels 1 and up are `tree_nodes` rows, each added when the append that completes
/// it is written. Nothing is ever recomputed from the whole log.
enum TreeStore {
    /// Adds leaf `index` (the next one) on its own: tests building files by hand use it. The
    /// appender's inserts run only inside a transaction (`DirectStatement`): one is opened if none is.
    static func addLeaf(_ db: Database, index: Int64, hash: [UInt8]) throws {
        func add() throws {
            var appender = try Appender(db, size: index)
            try appender.add(index: index, hash: hash)
        }
        if db.isInsideTransaction { return try add() }
        try db.inTransaction { try add(); return .commit }
    }

    /// Adds leaves to the tree in the file within one transaction: the right edge is read once
    /// (O(log n) rows) and kept in memory, so each leaf costs only the inserts of the subtrees
    /// it completes (the leaf's own hash is in `events`).
    struct Appender {
        private var frontier: MerkleFrontier
        private let insert: DirectStatement

        init(_ db: Database, size: Int64) throws {
            frontier = try MerkleFrontier(size: size) { try TreeStore.node(db, $0, $1) }
            insert = try DirectStatement(db, "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)")
        }

        /// Adds leaf `index`, which must be the next one.
        mutating func add(index: Int64, hash: [UInt8]) throws {
            precondition(index == frontier.size, "leaves are added in order")
            for node in frontier.append(hash) {
                insert.int(node.level); insert.int(node.index); insert.blob(node.hash)
                try insert.run()
            }
        }
    }

    /// The hash of the complete subtree `(level, idx)`.
    static func node(_ db: Database, _ level: Int, _ idx: Int64) throws -> [UInt8] {
        let row: Row?
        if level == 0 {
            row = try Row.fetchOne(db.cachedStatement(sql: "SELECT CASE WHEN length(entry_hash) = 32 THEN entry_hash END FROM events WHERE seq = ?"), arguments: [idx])
        } else {
            row = try Row.fetchOne(db.cachedStatement(sql: "SELECT CASE WHEN length(hash) = 32 THEN hash END FROM tree_nodes WHERE level = ? AND idx = ?"), arguments: [level, idx])
        }
        guard let row, let hash = try? RowReader.blob(row, 0, level == 0 ? "entry_hash" : "hash"), hash.count == Merkle.hashSize else {
            throw LedgerError.sqlite(path: "", message: "the Merkle tree node (\(level), \(idx)) is missing or damaged: run 'safeguard verify'")
        }
        return hash
    }
}

extension Ledger {
    /// The number of leaves: the last seq + 1 (seqs are gapless: the triggers insist and
    /// `verify` checks), found through the primary key, not by counting rows.
    static func treeSize(_ db: Database) throws -> Int64 {
        (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events")).map { $0 + 1 } ?? 0
    }

    /// Whether this file has the Merkle tree (format 2; a format-1 file gets it when opened for writing).
    func hasTree(_ db: Database) throws -> Bool { try db.tableExists("tree_nodes") }

    private func withTree<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try db.read { db in
                guard try hasTree(db) else {
                    throw LedgerError.sqlite(path: path, message: "this ledger file predates the Merkle tree (format 1): open it for writing once (e.g. 'safeguard checkpoint') to add it")
                }
                return try body(db)
            }
        } catch { throw Self.map(error, path: path) }
    }

    /// The Merkle tree head at `size` (default: the whole log): O(log n) reads.
    public func treeRoot(size: Int64? = nil) throws -> (size: Int64, root: [UInt8]) {
        try withTree { db in
            let leaves = try Self.treeSize(db)
            let n = size ?? leaves
            guard n >= 0, n <= leaves else { throw LedgerError.sqlite(path: path, message: "the log has fewer than \(n) events") }
            return (n, try Merkle.root(size: n) { try TreeStore.node(db, $0, $1) })
        }
    }

    /// The inclusion proof of the event at `seq` in the tree of `size` events.
    public func inclusionProof(seq: Int64, size: Int64) throws -> [[UInt8]] {
        try withTree { db in
            let head = try Self.treeSize(db)
            guard seq >= 0, seq < size, size <= head else {
                throw LedgerError.sqlite(path: path, message: "event \(seq) is not in a tree of \(size) events (the log has \(head))")
            }
            return try Merkle.inclusionProof(index: seq, size: size) { try TreeStore.node(db, $0, $1) }
        }
    }

    /// The consistency proof from the tree of `old` events to the tree of `new` events.
    public func consistencyProof(old: Int64, new: Int64) throws -> [[UInt8]] {
        try withTree { db in
            let head = try Self.treeSize(db)
            guard old >= 0, old <= new, new <= head else {
                throw LedgerError.sqlite(path: path, message: "no consistency proof from \(old) to \(new) events (the log has \(head))")
            }
            return try Merkle.consistencyProof(old: old, new: new) { try TreeStore.node(db, $0, $1) }
        }
    }

    /// A c2sp.org/tlog-tiles hash tile: the `width` hashes at tile level `level` from tile
    /// `index`, each the root of a complete subtree of 256^level entries (at level 0, the
    /// entries' hashes). Nil when the log is not yet large enough for it.
    public func tile(level: Int, index: Int64, width: Int) throws -> [UInt8]? {
        precondition((0...63).contains(level) && (1...256).contains(width))
        return try withTree { db in
            let height = 8 * level
            guard height < 63 else { return nil }
            let (first, o1) = index.multipliedReportingOverflow(by: 256)
            let (end, o2) = (first + Int64(width)).multipliedReportingOverflow(by: Int64(1) << height)
            guard index >= 0, !o1, !o2, end <= (try Self.treeSize(db)) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(width * Merkle.hashSize)
            for i in 0..<Int64(width) { out += try TreeStore.node(db, height, first + i) }
            return out
        }
    }

    /// The entries of a c2sp.org/tlog-tiles entry bundle: the entry bytes (docs/FORMAT.md §5,
    /// the Merkle leaf input) of the `width` entries from `index * 256`. Nil when the log is not
    /// yet large enough for it.
    public func entryBundle(index: Int64, width: Int) throws -> [[UInt8]]? {
        precondition((1...256).contains(width))
        return try withTree { db in
            let (first, overflow) = index.multipliedReportingOverflow(by: 256)
            guard index >= 0, !overflow, first + Int64(width) <= (try Self.treeSize(db)) else { return nil }
            let rows = try Row.fetchAll(db, sql: """
                SELECT seq, CASE WHEN length(envelope) > \(Entry.maxCanonicalBytes) THEN x'' ELSE envelope END,
                       CASE WHEN length(signature) > 64 THEN x'' ELSE signature END FROM events WHERE seq >= ? AND seq < ? ORDER BY seq
                """, arguments: [first, first + Int64(width)])
            guard rows.count == width else { throw LedgerError.sqlite(path: path, message: "events are missing between \(first) and \(first + Int64(width)): run 'safeguard verify'") }
            return try rows.map { Entry(canonical: try RowReader.blob($0, 1, "envelope"), signature: try RowReader.blob($0, 2, "signature")).entryBytes }
        }
    }
}
