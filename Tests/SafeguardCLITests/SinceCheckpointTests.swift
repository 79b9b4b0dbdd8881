import Foundation
import GRDB
import XCTest

/// `verify --since-checkpoint`: an auditor who verified the log up to a checkpoint checks only
/// what was added since, with each older entry it relies on proved in the checkpoint's tree.
final class SinceCheckpointTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("cp.key"), "--unprotected").status, 0)
        try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout.write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        try cli.nameCheckpointKey(cli.path("cp.key"), root: cli.path("root.key"))
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("root.key.pub"), "--out", cli.path("kept.note")).status, 0)  // 9 events (with the log key named)
        for i in 0..<10 {
            XCTAssertEqual(try cli.run(["append", "--key", cli.path(i % 2 == 0 ? "police.key" : "csc.key")], stdin: Data(CLI.contact("C-0001").utf8)).status, 0)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func since(_ ledger: String? = nil, json: Bool = false) throws -> CLI.Result {
        try cli.run(["verify", "--trust-file", cli.path("root.key.pub"), "--checkpoint", cli.path("kept.note"), "--log-key", cli.path("log.vkey"), "--since-checkpoint"]
                    + (ledger.map { ["--ledger", $0] } ?? []) + (json ? ["--json"] : []))
    }

    func copy(_ name: String, _ body: (Database) throws -> Void) throws -> String { try cli.tamperedCopy(name, body) }

    func testOnlyWhatIsNewIsCheckedAndTheResultIsTheFullOne() throws {
        var r = try since()
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("OK: 10 events added since your checkpoint of 9 verified"), r.stdout)
        r = try since(json: true)
        let full = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--json")
        for field in [/"head_hash":"[0-9a-f]+"/, /"tree_root":"[^"]+"/] {
            let a = r.stdout.firstMatch(of: field).map { String($0.0) }, b = full.stdout.firstMatch(of: field).map { String($0.0) }
            XCTAssertNotNil(a)
            XCTAssertEqual(a, b, "the same head and tree as a full verification")
        }
        XCTAssertTrue(r.stdout.contains(#""new_events":10"#) && r.stdout.contains(#""governance_proved":5"#), r.stdout)
    }

    /// Found by a review: an event with a NULL seq (in a rebuilt table) was read by neither
    /// the old part's query nor the new part's.
    func testRowsOutsideTheLogAreRefused() throws {
        for (path, code) in try cli.copiesWithRowsOutOfSight() {
            let r = try since(path, json: true)
            XCTAssertEqual(r.status, 1, path + ": " + r.stdout + r.stderr)
            // An event before the checkpoint's first entry shows the checkpoint's history rewritten.
            XCTAssertTrue(r.stdout.contains(#""code":"\#(code)""#) || (code == "out_of_order" && r.stderr.contains("REWRITTEN")), path + ": " + r.stdout + r.stderr)
        }
    }

    func testANewBadEntryIsFoundAtItsPlace() throws {
        let path = try copy("bad.sqlite") { db in
            var sig = [UInt8](try Data.fetchOne(db, sql: "SELECT signature FROM events WHERE seq = 13")!)
            sig[5] ^= 1
            try db.execute(sql: "UPDATE events SET signature = ? WHERE seq = 13", arguments: [Data(sig)])
        }
        let r = try since(path, json: true)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains(#""code":"bad_signature""#) && r.stdout.contains(#""seq":13"#), r.stdout)
    }

    func testAChangedPolicyOrCutLogBeforeTheCheckpointIsCaught() throws {
        // The policy (seq 1) changed: it is proved in the checkpoint's tree before its rules are used.
        var path = try copy("policy.sqlite") { db in
            var env = [UInt8](try Data.fetchOne(db, sql: "SELECT envelope FROM events WHERE seq = 1")!)
            let i = env.firstIndex(of: UInt8(ascii: "9"))!
            env[i] = UInt8(ascii: "8")
            try db.execute(sql: "UPDATE events SET envelope = ? WHERE seq = 1", arguments: [Data(env)])
        }
        var r = try since(path)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("REWRITTEN"), r.stderr)
        // Cut back below the checkpoint (events, details and subtrees).
        path = try copy("cut.sqlite") { db in
            for t in ["events", "details"] { try db.execute(sql: "DELETE FROM \(t) WHERE seq >= 6") }
            try db.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > 6")
        }
        r = try since(path)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("TRUNCATED"), r.stderr)
        // Another log altogether (another root key's genesis): not the checkpoint's tree.
        XCTAssertEqual(try cli.run("demo", "seed", "--dir", cli.path("other"), "--events", "20", "--seed", "3", "--end", "2026-06-01T00:00:00Z").status, 0)
        r = try cli.run("verify", "--ledger", cli.path("other/ledger.sqlite"), "--trust-file", cli.path("other/keys/root.key.pub"),
                        "--checkpoint", cli.path("kept.note"), "--log-key", cli.path("log.vkey"), "--since-checkpoint")
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("REWRITTEN") || r.stderr.contains("is of the log"), r.stderr)
    }

    /// Found by review: rows before the checkpoint are not re-verified, but what is looked up
    /// in them by column (a revocation by type, the link by entry hash, event ids, keys) must
    /// not be open to changing that column. Each change is refused at its row.
    func testAChangedCopyColumnBeforeTheCheckpointIsRefused() throws {
        for (column, sql) in [
            ("type", "UPDATE events SET type = 'case.note' WHERE seq = 3"),
            ("entry_hash", "UPDATE events SET entry_hash = zeroblob(32) WHERE seq = 7"),
            ("event_id", "UPDATE events SET event_id = '00000000-0000-4000-8000-0000000000aa' WHERE seq = 4"),
            ("key_id", "UPDATE events SET key_id = '00000000000000000000000000000000' WHERE seq = 5"),
        ] {
            let path = try copy("col-\(column).sqlite") { try $0.execute(sql: sql) }
            let r = try since(path, json: true)
            XCTAssertEqual(r.status, 1, "\(column): \(r.stdout) \(r.stderr)")
            XCTAssertTrue(r.stdout.contains(#""code":"column_mismatch""#), "\(column): \(r.stdout)")
        }
    }
}
