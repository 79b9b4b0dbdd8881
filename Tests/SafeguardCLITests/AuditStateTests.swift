import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

/// `verify --state`: the auditor keeps their own record of what they verified; later runs read
/// only the entries added since, and reach the same result as a full verification.
final class AuditStateTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()  // 8 events
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func verify(state: String = "audit.state", _ ledger: String? = nil, json: Bool = false) throws -> CLI.Result {
        try cli.run(["verify", "--trust-file", cli.path("root.key.pub"), "--state", cli.path(state)]
                    + (ledger.map { ["--ledger", $0] } ?? []) + (json ? ["--json"] : []))
    }

    func append(_ n: Int, key: String = "police.key") throws {
        for _ in 0..<n { XCTAssertEqual(try cli.run(["append", "--key", cli.path(key)], stdin: Data(CLI.contact("C-0001").utf8)).status, 0) }
    }

    func copy(_ name: String, _ body: (Database) throws -> Void) throws -> String { try cli.tamperedCopy(name, body) }

    func field(_ text: String, _ pattern: Regex<Substring>) -> String? { text.firstMatch(of: pattern).map { String($0.0) } }

    func testTheFirstRunVerifiesAllAndLaterRunsOnlyWhatIsNew() throws {
        var r = try verify()
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("OK: 8 events verified"), r.stdout)
        XCTAssertTrue(r.stdout.contains("State: your record of these 8 events is in"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cli.path("audit.state")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("audit.state.partial")))

        r = try verify()
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("OK: 0 events added since your state of 8"), r.stdout)

        try append(10)
        r = try verify(json: true)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains(#""new_events":10"#) && r.stdout.contains(#""since":8"#), r.stdout)
        let full = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--json")
        for pattern in [/"head_hash":"[0-9a-f]+"/, /"tree_root":"[^"]+"/] {
            XCTAssertNotNil(field(r.stdout, pattern))
            XCTAssertEqual(field(r.stdout, pattern), field(full.stdout, pattern), "the same head and tree as a full verification")
        }
        // The state moved on: the next run has nothing new, then only the next events.
        XCTAssertTrue(try verify().stdout.hasPrefix("OK: 0 events added since your state of 18"))
        try append(3, key: "csc.key")
        r = try verify()
        XCTAssertTrue(r.stdout.hasPrefix("OK: 3 events added since your state of 18"), r.stdout)
    }

    /// Found by a review: rows outside 0 … head − 1 were never read by `--state`, which reads
    /// from the state's size on, and other commands showed them as events.
    func testRowsWhereTheStateDoesNotLookAreRefused() throws {
        XCTAssertEqual(try verify().status, 0)
        try append(2)
        for (path, code) in try cli.copiesWithRowsOutOfSight() {
            XCTAssertEqual(try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--ledger", path).status, 1, "a full verification fails on \(path)")
            let r = try verify(path, json: true)
            XCTAssertEqual(r.status, 1, path + ": " + r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.contains(#""code":"\#(code)""#), path + ": " + r.stdout)
        }
        // The state did not move: the untouched ledger still has the 2 new events for it.
        XCTAssertTrue(try verify().stdout.hasPrefix("OK: 2 events added since your state of 8"))
    }

    func testABadNewEntryIsFoundAtItsPlaceAndTheStateIsKept() throws {
        XCTAssertEqual(try verify().status, 0)
        try append(6)
        let path = try copy("bad.sqlite") { db in
            var sig = [UInt8](try Data.fetchOne(db, sql: "SELECT signature FROM events WHERE seq = 11")!)
            sig[5] ^= 1
            try db.execute(sql: "UPDATE events SET signature = ? WHERE seq = 11", arguments: [Data(sig)])
        }
        var r = try verify(path, json: true)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains(#""code":"bad_signature""#) && r.stdout.contains(#""seq":11"#), r.stdout)
        // The state did not move: the good ledger still has 6 new events for it.
        r = try verify()
        XCTAssertTrue(r.stdout.hasPrefix("OK: 6 events added since your state of 8"), r.stdout)
    }

    /// The recording checks read what the state keeps of each case (its actions, meetings and
    /// their acknowledgements, when it opened): an insider's duplicate written straight in
    /// after the state is rejected by `--state` exactly as by a full verification.
    func testRecordingChecksHoldAcrossTheState() throws {
        func record(_ key: String, _ args: [String]) throws -> String {
            let r = try cli.run(["record"] + args + ["--key", cli.path("\(key).key"), "--at", "2026-03-02T10:00:00Z", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            return String(r.stdout.firstMatch(of: /"event_id":"([0-9a-f-]{36})"/)?.1 ?? "")
        }
        _ = try record("csc", ["action", "--case", "C-0001", "--what", "set", "--ref", "MASE-A1", "--owner", "police", "--due", "2026-03-20", "--strand", "pursue"])
        let mase = try record("csc", ["meeting", "--case", "C-0001", "--kind", "mase", "--ref", "MASE-1", "--attended", "police,csc", "--cases", "C-0007"])
        _ = try record("police", ["ack", "--case", "C-0007", "--decision", mase])
        XCTAssertEqual(try verify().status, 0)
        let police = try Insider(keyFile: cli.path("police.key"), agency: "police", practitioner: "PC 0001")
        let csc = try Insider(keyFile: cli.path("csc.key"), agency: "csc", practitioner: "SW 0002")
        let at = Timestamp(rfc3339: "2026-03-03T10:00:00Z")!
        for (name, insider, type, caseID, facts) in [
            ("action", csc, "action.set", "C-0001", ["action_ref": "MASE-A1", "owner_agency": "csc", "due_date": "2026-03-21", "strand": "protect"] as [String: JSONValue]),
            ("ack", police, "acknowledgement.recorded", "C-0001", ["decision_event": .string(mase), "recorded_on_own_system": true]),
            ("early", police, "contact.recorded", "C-0007", ["contact_type": "phone"]),
        ] {
            let path = cli.path("\(name).sqlite")
            try FileManager.default.copyItem(atPath: cli.path("ledger.sqlite"), toPath: path)
            // "early": before the child's birth month (April 2011) is not it; years before the case opened is.
            let written = try insider.insert(into: path, type: type, caseID: caseID, facts: facts,
                                             occurredAt: name == "early" ? Timestamp(rfc3339: "2020-01-01T10:00:00Z")! : at)
            for r in [try verify(path, json: true), try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--ledger", path, "--json")] {
                XCTAssertEqual(r.status, 1, name + ": " + r.stdout + r.stderr)
                XCTAssertTrue(r.stdout.contains(#""seq":\#(written.seq)"#), name + ": " + r.stdout)
                XCTAssertTrue(r.stdout.contains(name == "early" ? #""code":"invalid_facts""# : #""code":"case_state""#), name + ": " + r.stdout)
            }
        }
    }

    func testACutOrRewrittenTreeAndAnotherRootKeyAreRefused() throws {
        try append(4)  // 12 events: subtrees of 8 and 4
        XCTAssertEqual(try verify().status, 0)
        try append(2)
        // Cut back below the state.
        var path = try copy("cut.sqlite") { db in
            for t in ["events", "details"] { try db.execute(sql: "DELETE FROM \(t) WHERE seq >= 10") }
            try db.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > 10")
        }
        var r = try verify(path)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("TRUNCATED"), r.stderr)
        // The subtree of the first 8 events, which the state's root rests on, changed.
        path = try copy("rewritten.sqlite") { try $0.execute(sql: "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 3 AND idx = 0") }
        r = try verify(path)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("REWRITTEN"), r.stderr)
        // A state made against another root key is not this trust anchor's.
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("other.key"), "--unprotected").status, 0)
        r = try cli.run("verify", "--trust-file", cli.path("other.key.pub"), "--state", cli.path("audit.state"), "--json")
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains(#""code":"untrusted_root""#), r.stdout)
    }

    /// A revocation added after the state that says the key was compromised from before it:
    /// the old events it flags are proved against the state's root, and are the same ones a
    /// full verification lists.
    func testARevocationReachingBackFlagsTheSameEventsAsAFullVerification() throws {
        try append(2)                     // 8, 9
        try append(1, key: "csc.key")     // 10
        try append(1)                     // 11
        XCTAssertEqual(try verify().status, 0)
        try append(1)                     // 12
        let police = try KeyFile.inspect(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key"))))).publicKey.keyID
        XCTAssertEqual(try cli.run("keys", "revoke", "--key", cli.path("root.key"), "--key-id", police, "--reason", "compromised",
                                   "--compromised-since", "9").status, 0)  // 13
        // An old flagged row changed: its inclusion proof against the state's root fails, and
        // the state stays where it was.
        let path = try copy("flag.sqlite") { try $0.execute(sql: "UPDATE events SET signature = zeroblob(64) WHERE seq = 11") }
        let bad = try verify(path)
        XCTAssertEqual(bad.status, 1, bad.stdout + bad.stderr)
        XCTAssertTrue(bad.stderr.contains("REWRITTEN"), bad.stderr)
        let r = try verify()
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("OK: 2 events added since your state of 12"), r.stdout)
        XCTAssertTrue(r.stdout.contains("FLAGGED for review: 3 events") && r.stdout.contains("  seq 9  ") && r.stdout.contains("  seq 11  ") && r.stdout.contains("  seq 12  "), r.stdout)
        let full = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertTrue(full.stdout.contains("FLAGGED for review: 3 events"), full.stdout)
        XCTAssertTrue(full.stdout.contains("  seq 9  ") && full.stdout.contains("  seq 11  ") && full.stdout.contains("  seq 12  "), full.stdout)
    }

    func testAnUnusableStateOrBothWaysAtOnceGetOneLine() throws {
        try "not a state".write(toFile: cli.path("junk.state"), atomically: true, encoding: .utf8)
        var r = try verify(state: "junk.state")
        XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("junk.state"), r.stderr)
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--state", cli.path("s"), "--checkpoint", cli.path("c"), "--log-key", "x")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--state and --checkpoint"), r.stderr)
        // A first run on a log that does not verify leaves no state behind.
        let path = try copy("bad.sqlite") { try $0.execute(sql: "UPDATE events SET signature = zeroblob(64) WHERE seq = 5") }
        r = try verify(state: "new.state", path)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("new.state")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("new.state.partial")))
    }
}
