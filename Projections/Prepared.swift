import GRDB
import GRDBSQLite
import SafeguardCatalogue

/// A prepared statement bound and stepped through the SQLite C API directly: the fold writes a
/// few rows per event, and binding without boxing each value into `DatabaseValue` is most of
/// what makes it fast. Values are copied by SQLite (`SQLITE_TRANSIENT`) when bound.
final class Prepared {
    private let statement: Statement
    private let db: Database
    private var handle: OpaquePointer { statement.sqliteStatement }

    /// A statement with its values bound at once, for the occasional query.
    convenience init(_ db: Database, _ sql: String, _ values: [Value]) throws {
        try self.init(db, sql)
        for v in values {
            switch v {
            case .null: text(nil)
            case .int(let i): int(i)
            case .text(let s): text(s)
            }
        }
    }
    private var index: Int32 = 0
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ db: Database, _ sql: String) throws {
        self.db = db
        statement = try db.cachedStatement(sql: sql)
    }

    func text(_ s: String?) {
        index += 1
        guard var s else { sqlite3_bind_null(handle, index); return }
        let h = handle, i = index
        s.withUTF8 { p in
            if let base = p.baseAddress {
                _ = sqlite3_bind_text(h, i, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(p.count), Self.transient)
            } else {
                _ = sqlite3_bind_text(h, i, "", 0, Self.transient)
            }
        }
    }

    func int(_ v: Int64?) {
        index += 1
        if let v { sqlite3_bind_int64(handle, index, v) } else { sqlite3_bind_null(handle, index) }
    }

    func int(_ v: Int) { int(Int64(v)) }

    func bool(_ v: Bool?) { int(v.map { $0 ? 1 : 0 }) }

    /// Runs the statement with the values bound since the last run.
    func run() throws { try step { _ in } }

    /// Steps through the statement, calling `row` for each result row, then resets it and
    /// clears its bindings.
    func step(_ row: (OpaquePointer) throws -> Void) throws {
        index = 0
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                                    sql: statement.sql)
            }
            try row(handle)
        }
    }
}

/// `YYYY-MM-DD` of a day, remembering the last one asked for: events come in time order, so
/// most are on the same day as the one before.
struct DayText {
    private var last: (Int64, String) = (Int64.min, "")
    mutating func of(_ day: Day) -> String {
        if day.number != last.0 { last = (day.number, day.description) }
        return last.1
    }
}

extension Prepared {
    /// A column value read back exactly as stored (text with every byte, a NUL included,
    /// which GRDB's `String` decoding would cut short).
    enum Value: Equatable {
        case null, int(Int64), text(String)
        var string: String? { if case .text(let s) = self { return s } else { return nil } }
        var integer: Int64? { if case .int(let i) = self { return i } else { return nil } }
    }

    /// Runs a query with the values bound since the last run and returns its rows.
    func rows() throws -> [[Value]] {
        var out: [[Value]] = []
        try step { h in
            var row: [Value] = []
            for i in 0..<sqlite3_column_count(h) {
                switch sqlite3_column_type(h, i) {
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(h, i)))
                case SQLITE_NULL: row.append(.null)
                default:
                    let n = Int(sqlite3_column_bytes(h, i))
                    row.append(.text(String(decoding: UnsafeBufferPointer(start: sqlite3_column_text(h, i), count: n), as: UTF8.self)))
                }
            }
            out.append(row)
        }
        return out
    }
}

/// Runs `sql` with `values` and returns its rows, every text value exactly as stored.
func query(_ db: Database, _ sql: String, _ values: Prepared.Value...) throws -> [[Prepared.Value]] {
    try Prepared(db, sql, values).rows()
}

/// Runs a statement with `values` (texts bound with their exact bytes).
func execute(_ db: Database, _ sql: String, _ values: Prepared.Value...) throws {
    try Prepared(db, sql, values).run()
}
