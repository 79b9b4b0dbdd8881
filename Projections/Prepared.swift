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
    func run() throws {
        index = 0
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                                sql: statement.sql)
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
