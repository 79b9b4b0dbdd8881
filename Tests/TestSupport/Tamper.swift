import Foundation
import GRDB

/// Changes a ledger file as an insider with write access to it would, for the tamper tests of
/// every test target: past the triggers, the CHECK constraints and the indexes, and then
/// putting back what would give the change away at a glance.
public enum Tamper {
    /// Runs `body` on the file at `path` with its triggers dropped and its CHECK constraints
    /// off, then puts the triggers back exactly as they were (so the schema looks untouched).
    public static func asInsider(_ path: String, _ body: (Database) throws -> Void) throws {
        let q = try DatabaseQueue(path: path)
        defer { try? q.close() }
        try q.writeWithoutTransaction { db in try asInsider(db, body) }
    }

    /// `asInsider` on an open connection.
    public static func asInsider(_ db: Database, _ body: (Database) throws -> Void) throws {
        let triggers = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").map { ($0[0] as String, $0[1] as String) }
        for (name, _) in triggers { try db.execute(sql: "DROP TRIGGER \(name)") }
        try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
        try body(db)
        try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        // Put back where they still apply (not on a table `body` replaced by a view, say).
        for (name, sql) in triggers where try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?)", arguments: [name])! {
            try? db.execute(sql: sql)
        }
    }

    /// Runs `body` on the file at `path` with the events table's indexes (and its UNIQUE
    /// constraint) detached through `writable_schema`, then attaches them again unchanged: the
    /// schema is as it was, and the indexes are stale, holding nothing of what `body` inserted.
    public static func withIndexesDetached(_ path: String, _ body: (Database) throws -> Void) throws {
        var saved: [(type: String, name: String, table: String, rootpage: Int64, sql: String?)] = []
        var eventsSQL = ""
        try edit(path) { db in
            saved = try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
                .map { ($0[0], $0[1], $0[2], $0[3], $0[4]) }
            eventsSQL = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'events'")!
            try db.execute(sql: "PRAGMA writable_schema = ON")
            try db.execute(sql: "DELETE FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
            try db.execute(sql: "UPDATE sqlite_master SET sql = ? WHERE name = 'events'", arguments: [eventsSQL.replacingOccurrences(of: " UNIQUE", with: "")])
            try db.execute(sql: "PRAGMA writable_schema = OFF")
        }
        try asInsider(path, body)
        try edit(path) { db in
            try db.execute(sql: "PRAGMA writable_schema = ON")
            try db.execute(sql: "UPDATE sqlite_master SET sql = ? WHERE name = 'events'", arguments: [eventsSQL])
            for s in saved {
                try db.execute(sql: "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES (?, ?, ?, ?, ?)",
                               arguments: [s.type, s.name, s.table, s.rootpage, s.sql])
            }
            try db.execute(sql: "PRAGMA writable_schema = OFF")
        }
    }

    /// One connection of its own, closed after `body` (a schema edited by hand is read again
    /// only by a new connection).
    private static func edit(_ path: String, _ body: (Database) throws -> Void) throws {
        let q = try DatabaseQueue(path: path)
        try q.writeWithoutTransaction(body)
        try q.close()
    }
}
