import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardStore

final class DirectInsertTests: XCTestCase {
    var dir: URL!
    var queue: DatabaseQueue!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("directinsert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        queue = try DatabaseQueue(path: dir.appendingPathComponent("t.sqlite").path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE t (x INTEGER NOT NULL, s TEXT, b BLOB NOT NULL CHECK (typeof(b) = 'blob'));
                CREATE TRIGGER no_seven BEFORE INSERT ON t WHEN NEW.x = 7 BEGIN SELECT RAISE(ABORT, 'safeguard: seven is refused'); END;
                """)
        }
    }

    override func tearDownWithError() throws {
        try? queue.close()
        try? FileManager.default.removeItem(at: dir)
    }

    static let sql = "INSERT INTO t (x, s, b) VALUES (?, ?, ?)"

    /// FAILS TODAY. SQLite rolls a whole transaction back by itself when a statement, a read among
    /// them, fails with SQLITE_NOMEM, SQLITE_IOERR or SQLITE_FULL (sqlite3VdbeHalt). GRDB then
    /// refuses every later statement ("Transaction was aborted", `checkForAbortedTransaction`),
    /// and the writer's rule look-ups (LedgerContext) swallow read errors with `try?`. A
    /// DirectInsert skips GRDB's check: its INSERT runs in autocommit mode and is committed on its
    /// own, so an import said to append "nothing" can leave an event (or an event without its
    /// details record) in the file. ROLLBACK here stands for SQLite's own rollback.
    func testAnInsertAfterTheTransactionWasRolledBackUnderItIsRefusedNotAutocommitted() throws {
        var secondInsertThrew = false
        XCTAssertThrowsError(try queue.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let insert = try DirectInsert(db, sql: Self.sql)
                try insert.run { $0.int(1, 1) | $0.text(2, "a") | $0.blob(3, [1]) }
                try db.execute(sql: "ROLLBACK")
                do { try insert.run { $0.int(1, 2) | $0.text(2, "b") | $0.blob(3, [2]) } } catch { secondInsertThrew = true; throw error }
                return .commit
            }
        })
        XCTAssertTrue(secondInsertThrew, "an insert ran with no transaction open")
        XCTAssertEqual(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }, 0, "a row was committed outside the transaction")
    }

    /// FAILS TODAY (latent). `db.cachedStatement` may hand back a statement GRDB last ran and
    /// left un-reset (its documentation says so); binding it is SQLITE_MISUSE ("bind on a busy
    /// prepared statement"). Ledger+Mirror runs the very SQL of the events INSERT through GRDB on
    /// the same cache. DirectInsert must reset before it binds.
    func testAStatementGRDBRanLastIsResetBeforeItIsBound() throws {
        try queue.inTransaction { db in
            try db.cachedStatement(sql: Self.sql).execute(arguments: [1, "a", Data([1])])
            try DirectInsert(db, sql: Self.sql).run { $0.int(1, 2) | $0.text(2, "b") | $0.blob(3, [2]) }
            return .commit
        }
        XCTAssertEqual(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }, 2)
    }

    /// FAILS TODAY (latent; undefined behaviour, caught under -sanitize=address). DirectInsert
    /// keeps the raw sqlite3_stmt but not GRDB's Statement: anything that clears GRDB's statement
    /// cache (any CREATE/DROP/ALTER run through GRDB, `clearSchemaCache`, `releaseMemory`)
    /// finalizes it under the writer. It must keep the Statement alive.
    func testTheStatementOutlivesAClearedStatementCache() throws {
        try queue.inTransaction { db in
            let insert = try DirectInsert(db, sql: Self.sql)
            try db.execute(sql: "CREATE TEMP TABLE scratch (y)")  // GRDB clears its statement caches after DDL
            db.clearSchemaCache()
            try insert.run { $0.int(1, 3) | $0.text(2, "c") | $0.blob(3, [3]) }
            return .commit
        }
        XCTAssertEqual(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }, 1)
    }

    /// Pins what is stored: every byte of the string and of the blob (no truncation at NUL),
    /// an empty string as empty TEXT, nil as NULL, an empty blob as an empty BLOB (GRDB's
    /// binding of an empty Data, with no base address, may have bound NULL), non-ASCII UTF-8 as
    /// given (no normalisation).
    func testWhatIsBoundIsWhatIsStored() throws {
        let decomposed = "cafe\u{301}", nul = "a\u{0}b"
        try queue.inTransaction { db in
            let insert = try DirectInsert(db, sql: Self.sql)
            try insert.run { $0.int(1, 1) | $0.text(2, nul) | $0.blob(3, [0, 1, 0]) }
            try insert.run { $0.int(1, 2) | $0.text(2, "") | $0.blob(3, []) }
            try insert.run { $0.int(1, 3) | $0.text(2, nil) | $0.blob(3, [9]) }
            try insert.run { $0.int(1, 4) | $0.text(2, decomposed) | $0.blob(3, [9]) }
            return .commit
        }
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT typeof(s), CAST(s AS BLOB), typeof(b), b FROM t ORDER BY x") }
        XCTAssertEqual(rows[0][1] as Data?, Data(nul.utf8), "text truncated at its NUL")
        XCTAssertEqual(rows[0][3] as Data?, Data([0, 1, 0]))
        XCTAssertEqual(rows[1][0] as String?, "text")
        XCTAssertEqual(rows[1][2] as String?, "blob")
        XCTAssertEqual((rows[1][3] as Data?)?.count, 0)
        XCTAssertEqual(rows[2][0] as String?, "null")
        XCTAssertEqual(rows[3][1] as Data?, Data(decomposed.utf8), "text normalised")
    }

    /// Pins the error path: a trigger's RAISE(ABORT) comes back as GRDB reports it (its message,
    /// SQLITE_CONSTRAINT), the row is not written, and the same DirectInsert works next time
    /// (reset, bindings cleared) within the same transaction.
    func testAFailedRunReportsTheTriggerAndLeavesTheStatementReusable() throws {
        try queue.inTransaction { db in
            let insert = try DirectInsert(db, sql: Self.sql)
            XCTAssertThrowsError(try insert.run { $0.int(1, 7) | $0.text(2, "x") | $0.blob(3, [7]) }) { error in
                let e = error as? DatabaseError
                XCTAssertEqual(e?.resultCode, .SQLITE_CONSTRAINT, "\(error)")
                XCTAssertEqual(e?.message, "safeguard: seven is refused")
            }
            // A blob left bound from the failed run would be reused if bindings were not cleared: s stays NULL here.
            try insert.run { $0.int(1, 8) | $0.blob(3, [8]) }
            return .commit
        }
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT x, s FROM t") }
        XCTAssertEqual(rows.map { $0[0] as Int64 }, [8])
        XCTAssertNil(rows[0][1] as String?)
    }
}

