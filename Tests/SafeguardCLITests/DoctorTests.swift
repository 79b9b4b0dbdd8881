import Foundation
import GRDB
import XCTest

/// `safeguard doctor` through the executable, on real ledger files damaged in the ways it checks.
final class DoctorTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
    }

    func doctor() throws -> CLI.Result { try cli.run("doctor") }

    func testAHealthyLedgerNeedsNothing() throws {
        let r = try doctor()
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        for check in ["permissions", "format", "integrity", "tables", "triggers", "journal", "wal"] {
            XCTAssertTrue(r.stdout.contains("ok      \(check)"), "\(check): \(r.stdout)")
        }
        let mode = try FileManager.default.attributesOfItem(atPath: cli.ledger)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o640, "a new ledger is not readable by every user")
    }

    func testARemovedTriggerIsAProblemWithAdvice() throws {
        try DatabaseQueue(path: cli.ledger).writeWithoutTransaction { try $0.execute(sql: "DROP TRIGGER events_append_only_delete") }
        let r = try doctor()
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stdout.contains("PROBLEM triggers    append-only triggers missing: events_append_only_delete"), r.stdout)
        XCTAssertTrue(r.stdout.contains("run 'safeguard verify'"), r.stdout)
    }

    func testDamagedPagesAreFound() throws {
        // Overwrite the start of the events table's root page, as a disk or copy fault might.
        let (page, pageSize) = try DatabaseQueue(path: cli.ledger).read { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'events'")!, try Int.fetchOne(db, sql: "PRAGMA page_size")!)
        }
        XCTAssertGreaterThan(page, 1)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: cli.ledger))
        try handle.seek(toOffset: UInt64((page - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 512))
        try handle.close()
        let r = try doctor()
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("PROBLEM integrity"), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("restore it from the latest verified copy"), r.stdout)
    }

    func testAnOpenFileAnOldFormatAndAForeignFile() throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: cli.ledger)
        var r = try doctor()
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stdout.contains("PROBLEM permissions the file is writable by every user"), r.stdout)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: cli.ledger)
        try DatabaseQueue(path: cli.ledger).writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = 3") }
        r = try doctor()
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains("WARNING format      format 3, older"), r.stdout)
        let other = cli.path("other.sqlite")
        try DatabaseQueue(path: other).writeWithoutTransaction { try $0.execute(sql: "CREATE TABLE t (x)") }
        r = try cli.run("doctor", "--ledger", other)
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stdout.contains("not a safeguard ledger"), r.stdout)
        r = try cli.run("doctor", "--ledger", cli.path("missing.sqlite"))
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }
}
