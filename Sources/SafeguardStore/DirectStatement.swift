import GRDB
import GRDBSQLite

/// A prepared statement bound and stepped through SQLite's C interface: the writer's per-event
/// inserts (an event, its details record, the tree nodes it completes) and the read models'
/// fold. GRDB's arguments would box each value into a `DatabaseValue` (a blob copied into
/// `Data` first) before SQLite copies it again; here SQLite copies the caller's bytes once
/// (`SQLITE_TRANSIENT`). Values are bound in order (`int`, `text`, `blob`, `bool`) and the
/// statement runs with `run`, `step` or `rows`; it is reset before its first value is bound and
/// after it has run, whatever happens. Errors are GRDB's `DatabaseError`, as from any other
/// statement.
///
/// A statement that writes runs only inside a transaction: SQLite ends a transaction by itself
/// when a statement fails for want of memory or disk, and GRDB then refuses every statement
/// after; this one, going around GRDB, refuses to run outside a transaction rather than commit
/// on its own.
public final class DirectStatement {
    /// Held, so that GRDB clearing its statement cache cannot finalize the handle under us.
    private let statement: Statement
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    private var index: Int32 = 0
    /// The first binding SQLite refused (a value too large, a position past the last), reported by the run.
    private var bindFailure = SQLITE_OK
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    public init(_ db: Database, _ sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection!
    }

    /// A statement with its values bound at once, for the occasional query.
    public convenience init(_ db: Database, _ sql: String, _ values: [Value]) throws {
        try self.init(db, sql)
        for v in values {
            switch v {
            case .null: text(nil)
            case .int(let i): int(i)
            case .text(let s): text(s)
            }
        }
    }

    /// The next parameter's position; the statement is reset before the first (GRDB may have
    /// left the cached statement stepped, and SQLite will not bind a busy statement).
    private func next() -> Int32 {
        if index == 0 { sqlite3_reset(handle) }
        index += 1
        return index
    }

    private func bound(_ rc: Int32) { if bindFailure == SQLITE_OK, rc != SQLITE_OK { bindFailure = rc } }

    public func text(_ s: String?) {
        let i = next()
        guard var s else { return bound(sqlite3_bind_null(handle, i)) }
        let h = handle
        bound(s.withUTF8 { p in
            // An empty string has no address: SQLite's empty text, not NULL.
            guard let base = p.baseAddress, !p.isEmpty else { return sqlite3_bind_text(h, i, "", 0, Self.transient) }
            return sqlite3_bind_text(h, i, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(p.count), Self.transient)
        })
    }

    public func int(_ v: Int64?) {
        let i = next()
        bound(v.map { sqlite3_bind_int64(handle, i, $0) } ?? sqlite3_bind_null(handle, i))
    }

    public func int(_ v: Int) { int(Int64(v)) }

    public func bool(_ v: Bool?) { int(v.map { $0 ? 1 : 0 }) }

    /// A blob, empty or not (never NULL: an empty array has no address to hand SQLite).
    public func blob(_ v: [UInt8]) {
        let i = next(), h = handle
        bound(v.withUnsafeBytes { b in
            b.isEmpty ? sqlite3_bind_zeroblob(h, i, 0) : sqlite3_bind_blob(h, i, b.baseAddress, Int32(b.count), Self.transient)
        })
    }

    /// Runs the statement with the values bound since the last run.
    public func run() throws { try step { _ in } }

    /// Steps through the statement, calling `row` for each result row, then resets it and
    /// clears its bindings.
    public func step(_ row: (OpaquePointer) throws -> Void) throws {
        if index == 0 { sqlite3_reset(handle) }
        let failure = bindFailure
        index = 0
        bindFailure = SQLITE_OK
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        guard failure == SQLITE_OK else { throw error(failure) }
        guard sqlite3_stmt_readonly(handle) != 0 || sqlite3_get_autocommit(connection) == 0 else {
            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "the transaction was rolled back by SQLite (out of memory or disk?): nothing more is written",
                                sql: statement.sql)
        }
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw error(sqlite3_extended_errcode(connection)) }
            try row(handle)
        }
    }

    /// The connection's error (a trigger's RAISE, a constraint), as GRDB reports it.
    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
    }
}

extension DirectStatement {
    /// A column value read back exactly as stored (text with every byte, a NUL included,
    /// which GRDB's `String` decoding would cut short).
    public enum Value: Equatable, Sendable {
        case null, int(Int64), text(String)
        public var string: String? { if case .text(let s) = self { return s } else { return nil } }
        public var integer: Int64? { if case .int(let i) = self { return i } else { return nil } }
    }

    /// Runs a query with the values bound since the last run and returns its rows.
    public func rows() throws -> [[Value]] {
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
