import GRDB
import SafeguardCore

/// The rows of a cursor, each decoded and with its own work done (`prepare`: decoding the
/// envelope, its hashes, its details record, what it adds to the index sums): with one
/// thread, as each row is read; with more, a batch at a time on that many cores, the next
/// batch prepared while the caller walks the current one. Reading stops at the first row
/// that cannot be decoded or the first read error, which come out in their place, after the
/// rows before them.
final class PreparedRows<Work: Sendable> {
    enum Item {
        case entry(StoredEntry, Work, EventIndexes.Probe?)
        case malformed(column: String)
        case failed(Error)
    }

    private let rows: RowCursor
    private let threads: Int
    private let batchSize: Int
    private let prepare: @Sendable (StoredEntry) -> Work
    /// Whether the rows carry the index probes (`EventIndexes.probeColumns`) after the entry's columns.
    private let probes: Bool
    private var current: [Item] = []
    private var position = 0
    private var inflight: Batch?
    private var ended = false

    /// A batch being prepared: its entries, then what stopped the reading, if anything.
    private final class Batch {
        let entries: [(StoredEntry, EventIndexes.Probe?)]
        let stop: Item?
        let prepared: UnsafeMutableBufferPointer<Work?>
        let work: SharedWork

        init(entries: [(StoredEntry, EventIndexes.Probe?)], stop: Item?, threads: Int, prepare: @escaping @Sendable (StoredEntry) -> Work) {
            self.entries = entries
            self.stop = stop
            prepared = .allocate(capacity: entries.count)
            prepared.initialize(repeating: nil)
            nonisolated(unsafe) let out = prepared
            nonisolated(unsafe) let work = entries
            self.work = SharedWork(count: entries.count, helpers: threads - 1) { range in
                for i in range { out[i] = prepare(work[i].0) }
            }
        }

        /// Joins in, then the entries with their preparation, then the stop.
        func items() -> [Item] {
            work.wait()
            var out = zip(entries, prepared).map { Item.entry($0.0, $1!, $0.1) }
            if let stop { out.append(stop) }
            return out
        }

        deinit {
            work.wait()
            prepared.deinitialize()
            prepared.deallocate()
        }
    }

    init(_ rows: RowCursor, threads: Int, probes: Bool, batchSize: Int = _defaultBatchSize, prepare: @escaping @Sendable (StoredEntry) -> Work) {
        self.rows = rows
        self.threads = max(1, threads)
        self.batchSize = max(1, batchSize)
        self.probes = probes
        self.prepare = prepare
    }

    private func decode(_ row: Row) throws -> (StoredEntry, EventIndexes.Probe?) {
        let entry = try Ledger.entry(row)
        guard probes else { return (entry, nil) }
        let at = Ledger.probeColumn
        let idAt: Int64? = row[at]
        return (entry, EventIndexes.Probe(idAt: idAt, indexed: (row[at + 1] as Int64?) == 1))
    }

    func next() throws -> Item? {
        if threads == 1 {
            guard !ended, let row = try rows.next() else { return nil }
            do {
                let (entry, probe) = try decode(row)
                return .entry(entry, prepare(entry), probe)
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
        var entries: [(StoredEntry, EventIndexes.Probe?)] = []
        entries.reserveCapacity(batchSize)
        var stop: Item?
        do {
            while entries.count < batchSize, let row = try rows.next() {
                entries.append(try decode(row))
            }
        } catch let m as RowReader.Malformed {
            stop = .malformed(column: m.column)
        } catch {
            stop = .failed(error)
        }
        if stop != nil || entries.count < batchSize { ended = true }
        if entries.isEmpty && stop == nil { return nil }
        return Batch(entries: entries, stop: stop, threads: threads, prepare: prepare)
    }
}

/// Reads the stored tree alongside the entries: one cursor per level, in index order from
/// where the trusted prefix ends, which is the order in which the entries complete that
/// level's subtrees. So checking every new node costs a cursor step each, not a lookup.
final class TreeCheck {
    private let db: Database
    private let from: Int64
    private var cursors: [Int: RowCursor] = [:]

    /// Checks the subtrees completed by entries from `from` on.
    init(_ db: Database, from: Int64) {
        self.db = db
        self.from = from
    }

    /// Whether the next stored node of each level is exactly each of `nodes`.
    func matches(_ nodes: [(level: Int, index: Int64, hash: [UInt8])]) throws -> Bool {
        for node in nodes {
            if cursors[node.level] == nil {
                // The first subtree of this level completed by an entry at or after `from`.
                cursors[node.level] = try Row.fetchCursor(db, sql: "SELECT idx, CASE WHEN length(hash) = 32 THEN hash END FROM tree_nodes WHERE level = ? AND idx >= ? ORDER BY idx",
                                                          arguments: [node.level, from >> node.level])
            }
            guard let row = try cursors[node.level]!.next(), (try? RowReader.integer(row, 0, "idx")) == node.index,
                (try? RowReader.blob(row, 1, "hash")) == node.hash
            else { return false }
        }
        return true
    }
}
