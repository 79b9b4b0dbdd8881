import GRDB
import GRDBSQLite

/// A prepared INSERT bound and stepped through SQLite's C interface: the writer's per-event
/// statements (an event, its details record, the tree nodes it completes). GRDB's arguments
/// would copy each blob into `Data` and then into a `DatabaseValue` before SQLite copies it
/// again; here SQLite copies the caller's bytes once. Errors are GRDB's `DatabaseError`, as
/// from any other statement, and the statement is reset whatever happens.
///
/// Only inside a transaction: SQLite ends a transaction by itself when a statement fails for
/// want of memory or disk, and GRDB then refuses every statement after; this one, going
/// around GRDB, refuses to run outside a transaction instead of committing on its own.
struct DirectInsert {
    /// Held, so that GRDB clearing its statement cache cannot finalize the handle under us.
    private let statement: Statement
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    private let sql: String

    init(_ db: Database, sql: String) throws {
        statement = try db.makeStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection!
        self.sql = sql
    }

    /// Binds the parameters `bind` sets (1-based) and runs the statement once.
    func run(_ bind: (Binder) -> Int32) throws {
        guard sqlite3_get_autocommit(connection) == 0 else {
            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "the transaction was rolled back by SQLite (out of memory or disk?): nothing more is written", sql: sql)
        }
        sqlite3_reset(handle)
        defer { sqlite3_reset(handle); sqlite3_clear_bindings(handle) }
        var rc = bind(Binder(handle: handle))
        if rc == SQLITE_OK { rc = sqlite3_step(handle) }
        guard rc == SQLITE_DONE else {
            // The statement's own error (a trigger's RAISE, a constraint), as GRDB reports it.
            let code = sqlite3_extended_errcode(connection)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
    }

    struct Binder {
        fileprivate let handle: OpaquePointer
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        /// Each returns SQLite's result code; `run` combines them with `|`: any failure is non-zero.
        func int(_ i: Int32, _ v: Int64) -> Int32 { sqlite3_bind_int64(handle, i, v) }

        func text(_ i: Int32, _ v: String?) -> Int32 {
            guard var v else { return sqlite3_bind_null(handle, i) }
            return v.withUTF8 { u in
                // An empty string has no address either: SQLite's empty text, not NULL.
                guard let p = u.baseAddress, !u.isEmpty else { return sqlite3_bind_text(handle, i, "", 0, Self.transient) }
                return sqlite3_bind_text(handle, i, UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self), Int32(u.count), Self.transient)
            }
        }

        /// A blob, empty or not (never NULL: an empty array has no address to hand SQLite).
        func blob(_ i: Int32, _ v: [UInt8]) -> Int32 {
            v.withUnsafeBytes { b in
                b.isEmpty ? sqlite3_bind_zeroblob(handle, i, 0) : sqlite3_bind_blob(handle, i, b.baseAddress, Int32(b.count), Self.transient)
            }
        }
    }
}
