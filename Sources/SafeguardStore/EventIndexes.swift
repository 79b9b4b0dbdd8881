import GRDB
import GRDBSQLite
import SafeguardCore

/// The indexes of the `events` table (docs/FORMAT.md §10): SQLite's own copies of some columns,
/// sorted, which lookups by event id, case, type and agency read instead of the rows. Whoever
/// holds the file can leave an index stale (detach it through `writable_schema`, change the
/// rows, attach it again) or replace it, and SQLite would then answer lookups from it: hide an
/// event from a case, or a repeated event id from a uniqueness check. So verification proves
/// each index holds exactly one entry, with the row's own values, for each row it covers:
///
/// - a full verification reads each index once, in its own order, adding a keyed 64-bit hash
///   (`ShortHash`, under a key chosen at random for the run) of every entry, and adds the same
///   hash of every verified row; the sums and the counts must be equal. Whoever made the file
///   cannot know the key, so cannot make a different set of entries with the same sum. The
///   event-id index, read in its order, also shows repeated ids side by side;
/// - a re-verification, which does not read the rows before its trusted prefix, asks each
///   index for each new row instead (`probes`).
enum EventIndexes {
    enum Column: Sendable { case eventID, type, caseID, agency }

    struct Index: Sendable {
        let name: String
        /// The key columns, before `seq`.
        let columns: [Column]
        /// Only rows with a case id (`WHERE case_id IS NOT NULL`).
        let partial: Bool
        /// The file format that added it.
        let since: Int

        var columnNames: [String] {
            columns.map {
                switch $0 {
                case .eventID: return "event_id"
                case .type: return "type"
                case .caseID: return "case_id"
                case .agency: return "agency"
                }
            }
        }
    }

    /// The event-id index: the one SQLite makes for `UNIQUE`.
    static let eventIDs = Index(name: "sqlite_autoindex_events_1", columns: [.eventID], partial: false, since: 1)

    static let all: [Index] = [
        eventIDs,
        Index(name: "events_by_case", columns: [.caseID], partial: true, since: 1),
        Index(name: "events_by_type", columns: [.type], partial: false, since: 1),
        Index(name: "events_by_agency", columns: [.agency], partial: false, since: 1),
        Index(name: "events_by_case_type", columns: [.caseID, .type], partial: true, since: 4),
    ]

    static func of(version: Int) -> [Index] { all.filter { $0.since <= version } }

    /// What one row adds to each index's sum (0 where the index does not cover it), in the order of `indexes`.
    static func hashes(_ row: StoredEntry, _ indexes: [Index], _ h: ShortHash) -> [UInt64] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(160)
        var out = [UInt64](repeating: 0, count: indexes.count)
        for (i, index) in indexes.enumerated() {
            if index.partial, row.caseID == nil { continue }
            buffer.removeAll(keepingCapacity: true)
            for c in index.columns {
                var value: String
                switch c {
                case .eventID: value = row.eventID
                case .type: value = row.type
                case .caseID: value = row.caseID ?? ""
                case .agency: value = row.agency
                }
                value.withUTF8 { append(UnsafeRawBufferPointer($0), to: &buffer) }
            }
            appendSeq(row.seq, to: &buffer)
            out[i] = buffer.withUnsafeBytes { h.hash($0) }
        }
        return out
    }

    private static func append(_ bytes: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        let n = UInt32(truncatingIfNeeded: bytes.count)
        buffer.append(UInt8(n >> 24)); buffer.append(UInt8(n >> 16 & 0xff)); buffer.append(UInt8(n >> 8 & 0xff)); buffer.append(UInt8(n & 0xff))
        buffer.append(contentsOf: bytes)
    }

    private static func appendSeq(_ seq: Int64, to buffer: inout [UInt8]) {
        let u = UInt64(bitPattern: seq)
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(u >> UInt64(shift) & 0xff)) }
    }

    /// What reading one index gave: its entries' count and hash sum, and (for the event-id
    /// index) the pairs of entries with the same id, which sit side by side in its order.
    struct Scan {
        var count: Int64 = 0
        var sum: UInt64 = 0
        var repeats: [(Int64, Int64)] = []
    }

    /// Reads `index` alone (a covering scan: SQLite never looks at the rows), in its order.
    static func scan(_ db: Database, _ index: Index, _ h: ShortHash) throws -> Scan {
        let columns = index.columnNames
        let sql = "SELECT \(columns.joined(separator: ", ")), seq FROM events INDEXED BY \(index.name)"
            + (index.partial ? " WHERE case_id IS NOT NULL" : "") + " ORDER BY \(columns.joined(separator: ", ")), seq"
        let statement = try db.makeStatement(sql: sql)
        let handle = statement.sqliteStatement
        var out = Scan()
        var buffer: [UInt8] = [], previous: [UInt8] = []
        buffer.reserveCapacity(160)
        previous.reserveCapacity(160)
        var previousSeq: Int64 = 0
        let k = Int32(columns.count)
        let repeats = index.name == eventIDs.name
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection))) }
            buffer.removeAll(keepingCapacity: true)
            for i in 0..<k {
                let n = Int(sqlite3_column_bytes(handle, i))
                append(UnsafeRawBufferPointer(start: sqlite3_column_blob(handle, i), count: n), to: &buffer)
            }
            let seq = sqlite3_column_int64(handle, k)
            if repeats {
                // The key (without the seq): side by side in the index's order when repeated.
                if out.count > 0, previous == buffer, out.repeats.count < 16 { out.repeats.append((previousSeq, seq)) }
                swap(&previous, &buffer)
                buffer.removeAll(keepingCapacity: true)
                buffer.append(contentsOf: previous)
                previousSeq = seq
            }
            appendSeq(seq, to: &buffer)
            out.count += 1
            out.sum &+= buffer.withUnsafeBytes { h.hash($0) }
        }
        return out
    }

    /// For a re-verification: SQL columns that ask each index for the row being read
    /// (`events` in the statement): the sequence number the event-id index gives for its id,
    /// and whether every other index holds the row's entry. Read by `Probe.init`.
    static func probeColumns(_ indexes: [Index]) -> String {
        var checks: [String] = []
        for index in indexes where index.name != eventIDs.name {
            let keys = index.columnNames.map { "i.\($0) = events.\($0)" }.joined(separator: " AND ")
            let exists = "EXISTS (SELECT 1 FROM events i INDEXED BY \(index.name) WHERE \(keys) AND i.seq = events.seq)"
            checks.append(index.partial ? "(events.case_id IS NULL OR \(exists))" : exists)
        }
        return "(SELECT i.seq FROM events i INDEXED BY \(eventIDs.name) WHERE i.event_id = events.event_id), "
            + (checks.isEmpty ? "1" : "(" + checks.joined(separator: " AND ") + ")")
    }

    /// What the indexes said of one row (`probeColumns`).
    struct Probe: Sendable {
        /// The sequence number the event-id index gives for the row's id.
        let idAt: Int64?
        /// Whether every other index holds the row's entry.
        let indexed: Bool
    }
}
