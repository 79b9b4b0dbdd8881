import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardStore

final class DirectStatementTests: XCTestCase {
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

    /// A red team's finding (fixed). SQLite rolls a whole transaction back by itself when a statement, a read among
    /// them, fails with SQLITE_NOMEM, SQLITE_IOERR or SQLITE_FULL (sqlite3VdbeHalt). GRDB then
    /// refuses every later statement ("Transaction was aborted", `checkForAbortedTransaction`),
    /// and the writer's rule look-ups (LedgerContext) swallow read errors with `try?`. A
    /// DirectStatement skips GRDB's check: its INSERT runs in autocommit mode and is committed on its
    /// own, so an import said to append "nothing" can leave an event (or an event without its
    /// details record) in the file. ROLLBACK here stands for SQLite's own rollback.
    func testAnInsertAfterTheTransactionWasRolledBackUnderItIsRefusedNotAutocommitted() throws {
        var secondInsertThrew = false
        XCTAssertThrowsError(try queue.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let insert = try DirectStatement(db, Self.sql)
                insert.int(1); insert.text("a"); insert.blob([1])
                try insert.run()
                try db.execute(sql: "ROLLBACK")
                insert.int(2); insert.text("b"); insert.blob([2])
                do { try insert.run() } catch { secondInsertThrew = true; throw error }
                return .commit
            }
        })
        XCTAssertTrue(secondInsertThrew, "an insert ran with no transaction open")
        XCTAssertEqual(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }, 0, "a row was committed outside the transaction")
    }

    /// A red team's finding (fixed). `db.cachedStatement` may hand back a statement GRDB last ran and
    /// left un-reset (its documentation says so); binding it is SQLITE_MISUSE ("bind on a busy
    /// prepared statement"). Ledger+Mirror runs the very SQL of the events INSERT through GRDB on
    /// the same cache. DirectStatement must reset before it binds.
    func testAStatementGRDBRanLastIsResetBeforeItIsBound() throws {
        try queue.inTransaction { db in
            try db.cachedStatement(sql: Self.sql).execute(arguments: [1, "a", Data([1])])
            let insert = try DirectStatement(db, Self.sql)
            insert.int(2); insert.text("b"); insert.blob([2])
            try insert.run()
            return .commit
        }
        XCTAssertEqual(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }, 2)
    }

    /// A red team's finding (fixed; undefined behaviour, seen under -sanitize=address). DirectStatement
    /// keeps the raw sqlite3_stmt but not GRDB's Statement: anything that clears GRDB's statement
    /// cache (any CREATE/DROP/ALTER run through GRDB, `clearSchemaCache`, `releaseMemory`)
    /// finalizes it under the writer. It must keep the Statement alive.
    func testTheStatementOutlivesAClearedStatementCache() throws {
        try queue.inTransaction { db in
            let insert = try DirectStatement(db, Self.sql)
            try db.execute(sql: "CREATE TEMP TABLE scratch (y)")  // GRDB clears its statement caches after DDL
            db.clearSchemaCache()
            insert.int(3); insert.text("c"); insert.blob([3])
            try insert.run()
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
            let insert = try DirectStatement(db, Self.sql)
            insert.int(1); insert.text(nul); insert.blob([0, 1, 0])
            try insert.run()
            insert.int(2); insert.text(""); insert.blob([])
            try insert.run()
            insert.int(3); insert.text(nil); insert.blob([9])
            try insert.run()
            insert.int(4); insert.text(decomposed); insert.blob([9])
            try insert.run()
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
    /// SQLITE_CONSTRAINT), the row is not written, and the same DirectStatement works next time
    /// (reset, bindings cleared) within the same transaction.
    func testAFailedRunReportsTheTriggerAndLeavesTheStatementReusable() throws {
        try queue.inTransaction { db in
            let insert = try DirectStatement(db, Self.sql)
            insert.int(7); insert.text("x"); insert.blob([7])
            XCTAssertThrowsError(try insert.run()) { error in
                let e = error as? DatabaseError
                XCTAssertEqual(e?.resultCode, .SQLITE_CONSTRAINT, "\(error)")
                XCTAssertEqual(e?.message, "safeguard: seven is refused")
            }
            // A blob left bound from the failed run would be reused if bindings were not cleared:
            // bound without one, the row is refused (b is NOT NULL), not written with [7].
            insert.int(8); insert.text(nil)
            XCTAssertThrowsError(try insert.run())
            insert.int(8); insert.text(nil); insert.blob([8])
            try insert.run()
            return .commit
        }
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT x, s FROM t") }
        XCTAssertEqual(rows.map { $0[0] as Int64 }, [8])
        XCTAssertNil(rows[0][1] as String?)
    }
}

