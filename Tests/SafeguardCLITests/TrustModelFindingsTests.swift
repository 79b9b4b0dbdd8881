import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

/// Issue 14's findings, one test each, through the real executable: every one of them printed
/// OK (or worse) before the trust model was rebuilt. Run against an older build with
/// `SAFEGUARD_BIN=/path/to/old/safeguard swift test --filter TrustModelFindingsTests` to see
/// them fail there.
final class TrustModelFindingsTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI.withDemoLedger(events: 120, seed: 14)
        caseID = try DatabaseQueue(path: cli.ledger).read { try openCase($0) }
    }

    /// A case open at the end of the seeded log.
    var caseID = ""

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    var root: String { cli.path("p/keys/root.key.pub") }

    /// The practitioner whose key is p/keys/AGENCY.key, as enrolled.
    func insider(_ agency: String) throws -> Insider {
        let keyID = try KeyFile.inspect(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("p/keys/\(agency).key"))))).publicKey.keyID
        let (role, name) = try DatabaseQueue(path: cli.ledger).read { db -> (String, String) in
            let e = try Data.fetchOne(db, sql: "SELECT envelope FROM events WHERE type = 'governance.key_enrolled' AND CAST(envelope AS TEXT) LIKE ?",
                                      arguments: ["%\(keyID)%"])!
            let o = try JSONParser.parse([UInt8](e))
            let facts = o.objectValue!["facts"]!.objectValue!
            return (facts["role"]!.stringValue!, facts["practitioner"]!.stringValue!)
        }
        return try Insider(keyFile: cli.path("p/keys/\(agency).key"), agency: agency, role: role, practitioner: name)
    }

    /// A copy of the ledger with `body` run in one plain write transaction (an insider needs no
    /// more than INSERT: the triggers stay as they are).
    func forged(_ name: String, _ body: (Database) throws -> Void) throws -> String { try cli.changedCopy(name, body) }

    func verify(_ path: String, _ extra: String...) throws -> (status: Int32, code: String?, seq: Int64?, out: String) {
        let r = try cli.run(["verify", "--ledger", path, "--trust-file", root, "--json"] + extra)
        return (r.status, r.stdout.firstMatch(of: /"code":"([a-z_]+)"/).map { String($0.1) }, r.stdout.firstMatch(of: /"seq":(-?\d+)/).flatMap { Int64($0.1) },
                r.stdout + r.stderr)
    }

    func openCase(_ db: Database, agency: String = "police") throws -> String {
        try String.fetchOne(db, sql: "SELECT case_id FROM events WHERE type = 'case.opened' AND case_id NOT IN (SELECT case_id FROM events WHERE type = 'case.closed') ORDER BY seq LIMIT 1")!
    }

    // MARK: 1. Rules checked only by the writer's CLI

    func testFinding1RulesTheWriterChecksAreCheckedByVerify() throws {
        let police = try insider("police"), csc = try insider("csc")
        var cases: [(name: String, code: String, path: String, seq: Int64)] = []
        var seq: Int64 = 0
        // A contact of a kind the catalogue does not know, on a case never opened.
        cases.append(("telepathy", "invalid_facts", try forged("f1a.sqlite") { db in
            seq = try police.insert(db, type: "contact.recorded", caseID: "C-NEVER-OPENED", facts: ["contact_type": "telepathy"]).seq
        }, seq))
        // A police retraction of another agency's screening.
        cases.append(("retraction of another agency's screening", "not_own_event", try forged("f1b.sqlite") { db in
            let target = try Row.fetchOne(db, sql: "SELECT event_id, case_id FROM events WHERE type = 'screening.cse_tool' AND agency <> 'police' ORDER BY seq LIMIT 1")!
            seq = try police.insert(db, type: "correction.recorded", caseID: target[1], facts: [
                "corrects_event": .string(target[0]), "kind": "retraction", "reason": "recorded_in_error"]).seq
        }, seq))
        // csc recording a police-only PNC marker, on a case never opened and on an open one.
        cases.append(("csc D1 marker, case never opened", "case_state", try forged("f1c.sqlite") { db in
            seq = try csc.insert(db, type: "disruption.recorded", caseID: "C-NEVER-OPENED", facts: ["tactic": "D1", "status": "in_progress"]).seq
        }, seq))
        cases.append(("csc D1 marker", "restricted_fact", try forged("f1d.sqlite") { db in
            seq = try csc.insert(db, type: "disruption.recorded", caseID: try openCase(db), facts: ["tactic": "D1", "status": "in_progress"]).seq
        }, seq))
        // Facts with a member the type does not have.
        cases.append(("unknown fact member", "invalid_facts", try forged("f1e.sqlite") { db in
            seq = try police.insert(db, type: "contact.recorded", caseID: try openCase(db), facts: ["contact_type": "phone", "child_name": "synthetic"]).seq
        }, seq))
        for c in cases {
            let v = try verify(c.path)
            XCTAssertEqual(v.status, 1, "\(c.name): \(v.out)")
            XCTAssertEqual(v.code, c.code, "\(c.name): \(v.out)")
            XCTAssertEqual(v.seq, c.seq, "\(c.name): \(v.out)")
            // Nothing built from it either.
            let rebuilt = try cli.run("project", "rebuild", "--ledger", c.path, "--trust-file", root)
            XCTAssertEqual(rebuilt.status, 1, "\(c.name): \(rebuilt.stdout + rebuilt.stderr)")
        }
    }

    // MARK: 2. Time is the writer's claim

    func testFinding2RecordingTimesAreProvenNotClaimed() throws {
        let police = try insider("police")
        // Recorded before the entry it follows.
        var seq: Int64 = 0
        let backwards = try forged("f2a.sqlite") { db in
            let last = Timestamp(canonical: try String.fetchOne(db, sql: "SELECT recorded_at FROM events ORDER BY seq DESC LIMIT 1")!)!
            seq = try police.insert(db, type: "contact.recorded", caseID: try openCase(db), facts: ["contact_type": "phone"],
                                    occurredAt: Timestamp(seconds: last.seconds - 30 * 86400), recordedAt: Timestamp(seconds: last.seconds - 11 * 86400)).seq
        }
        let v = try verify(backwards)
        XCTAssertEqual(v.status, 1, v.out)
        XCTAssertEqual(v.code, "time_order", v.out)
        XCTAssertEqual(v.seq, seq, v.out)

        // Recorded in 2099: no clock can have said so. Refused by verify, by the read models and
        // by the checkpoint signer (else it would stop every later record).
        let future = try forged("f2b.sqlite") { db in
            seq = try police.insert(db, type: "contact.recorded", caseID: try openCase(db), facts: ["contact_type": "phone"],
                                    occurredAt: Timestamp(rfc3339: "2026-06-01T00:00:00Z")!, recordedAt: Timestamp(rfc3339: "2099-01-01T00:00:00Z")!).seq
        }
        let f = try verify(future)
        XCTAssertEqual(f.status, 1, f.out)
        XCTAssertEqual(f.code, "recorded_after_clock", f.out)
        XCTAssertEqual(f.seq, seq, f.out)
        XCTAssertEqual(try cli.run("project", "rebuild", "--ledger", future, "--trust-file", root).status, 1)
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("cpf.key"), "--unprotected").status, 0)
        XCTAssertEqual(try cli.run("keys", "set-log-key", "--ledger", future, "--key", cli.path("p/keys/root.key"), "--public", cli.path("cpf.key.pub")).status, 3,
                       "nothing is recorded after a record dated in 2099")
        let signed = try cli.run("checkpoint", "--ledger", future, "--key", cli.path("cpf.key"), "--trust-file", root)
        XCTAssertNotEqual(signed.status, 0, signed.stdout + signed.stderr)
        XCTAssertEqual(signed.stdout, "")
        // A clock a little ahead is allowed for (--clock-skew, 600 s by default), and can be widened.
        XCTAssertEqual(try cli.run("verify", "--ledger", future, "--trust-file", root, "--clock-skew", "2678400").status, 1)

        // The writer's clock: refused when implausibly ahead of the ledger's last record…
        let contact = ["record", "contact", "--key", cli.path("p/keys/police.key"), "--case", caseID, "--how", "phone"]
        var r = try cli.run(contact, env: ["SAFEGUARD_ALLOW_CLOCK_JUMP": "0"])
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("ahead of the ledger's last record"), r.stderr)
        // …and when behind it.
        XCTAssertEqual(try cli.run("demo", "seed", "--dir", cli.path("later"), "--events", "60", "--seed", "3", "--end", "2031-01-01T00:00:00Z").status, 0)
        r = try cli.run(["record", "contact", "--key", cli.path("later/keys/police.key"), "--case", caseID, "--how", "phone",
                         "--ledger", cli.path("later/ledger.sqlite")])
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("behind the ledger's last record") && r.stderr.contains("fix the clock"), r.stderr)

        // Reports are as of today, not as of the last row's recording day.
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", root).status, 0)
        r = try cli.run("report", "practice")
        let today = DateFormatter()
        today.locale = Locale(identifier: "en_GB")
        today.timeZone = TimeZone(identifier: "Europe/London")
        today.dateFormat = "EEE d MMM yyyy"
        XCTAssertTrue(r.stdout.hasPrefix("Recording-practice exceptions as of \(today.string(from: Date()))"), r.stdout.prefix(200) + "")
    }

    // MARK: 3. The file's own structures

    func testFinding3TheFilesOwnStructuresAreNotTrusted() throws {
        let police = try insider("police")
        // A duplicate event id behind a stale UNIQUE index.
        let dup = cli.path("f3a.sqlite")
        try DatabaseQueue(path: cli.ledger).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [dup]) }
        var seq: Int64 = 0
        try Tamper.withIndexesDetached(dup) { db in
            let id = try String.fetchOne(db, sql: "SELECT event_id FROM events WHERE seq = 20")!
            seq = try police.insert(db, type: "contact.recorded", caseID: try openCase(db), facts: ["contact_type": "phone"], eventID: id).seq
        }
        var v = try verify(dup)
        XCTAssertEqual(v.status, 1, v.out)
        XCTAssertTrue(["duplicate_event_id", "index_mismatch"].contains(v.code ?? ""), v.out)

        // A stale partial index hides an event from a case's listing: the listing does not use it.
        let hidden = cli.path("f3b.sqlite")
        try DatabaseQueue(path: cli.ledger).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [hidden]) }
        var hiddenID = ""
        try Tamper.withIndexesDetached(hidden) { db in
            hiddenID = try police.insert(db, type: "contact.recorded", caseID: caseID, facts: ["contact_type": "phone"]).eventID
        }
        v = try verify(hidden)
        XCTAssertEqual(v.status, 1, v.out)
        XCTAssertEqual(v.code, "index_mismatch", v.out)
        let listed = try cli.run("log", "list", "--ledger", hidden, "--case", caseID, "--json")
        XCTAssertTrue(listed.stdout.contains(hiddenID), "the case's listing shows every event of the case: " + listed.stdout.suffix(400))

        // Planted triggers that silently drop another agency's records: record refuses to write
        // to the altered file rather than report a record that was not kept; doctor names them.
        let planted = cli.path("f3c.sqlite")
        try DatabaseQueue(path: cli.ledger).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [planted]) }
        try DatabaseQueue(path: planted).writeWithoutTransaction { db in
            for t in ["events", "details", "tree_nodes"] {
                try db.execute(sql: "CREATE TRIGGER drop_\(t) BEFORE INSERT ON \(t) BEGIN SELECT RAISE(IGNORE); END")
            }
        }
        let before = try cli.run("head", "--ledger", planted, "--json").stdout
        let r = try cli.run("record", "contact", "--ledger", planted, "--key", cli.path("p/keys/health.key"), "--case", caseID, "--how", "phone")
        XCTAssertNotEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertFalse(r.stdout.contains("Recorded"), r.stdout)
        XCTAssertTrue(r.stderr.contains("drop_events"), r.stderr)
        XCTAssertEqual(try cli.run("head", "--ledger", planted, "--json").stdout, before)
        let doctor = try cli.run("doctor", "--ledger", planted)
        XCTAssertNotEqual(doctor.status, 0)
        XCTAssertTrue(doctor.stdout.contains("drop_events"), doctor.stdout)

        // An events view, even a recursive one: refused at once, never hanging.
        let view = try forged("f3d.sqlite") { db in
            try db.execute(sql: "ALTER TABLE events RENAME TO events_real")
            try db.execute(sql: "CREATE VIEW events AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT e.* FROM events_real e, n")
        }
        v = try verify(view)
        XCTAssertEqual(v.status, 1, v.out)
        XCTAssertTrue(["altered_table", "unknown_schema_object"].contains(v.code ?? ""), v.out)

        // A 100 MB details blob: refused by its length, never loaded.
        let big = try forged("f3e.sqlite") { db in
            seq = try police.insert(db, type: "contact.recorded", caseID: try openCase(db), facts: ["contact_type": "phone"]).seq
        }
        try Tamper.asInsider(big) { db in try db.execute(sql: "UPDATE details SET body = zeroblob(100000000) WHERE seq = ?", arguments: [seq]) }
        v = try verify(big)
        XCTAssertEqual(v.status, 1, v.out)
        XCTAssertEqual(v.code, "details_mismatch", v.out)
        if let measured = try cli.runMeasured(["verify", "--ledger", big, "--trust-file", root, "--json"]),
            let plain = try cli.runMeasured(["verify", "--ledger", cli.ledger, "--trust-file", root, "--json"]) {
            XCTAssertEqual(measured.status, 1)
            XCTAssertLessThan(measured.maxRSSKiB, plain.maxRSSKiB + 20_000, "verify read the 100 MB blob instead of refusing it by its length")
        }
    }

    // MARK: 4. The log's signer trusts the file

    func testFinding4TheCheckpointSignerKeepsItsOwnRecord() throws {
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("cp.key"), "--unprotected").status, 0)
        try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout.write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        // Any key but the one the log names signs nothing.
        var r = try cli.run("checkpoint", "--key", cli.path("cp.key"), "--trust-file", root)
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("keys set-log-key"), r.stderr)
        XCTAssertEqual(try cli.run("keys", "set-log-key", "--key", cli.path("p/keys/root.key"), "--public", cli.path("cp.key.pub")).status, 0)
        r = try cli.run("checkpoint", "--key", cli.path("cp.key"), "--trust-file", root, "--out", cli.path("kept.note"))
        XCTAssertEqual(r.status, 0, r.stderr)
        let size = Int64(try String(contentsOfFile: cli.path("kept.note"), encoding: .utf8).split(separator: "\n")[1])!

        // The tail cut off (checkpoints table wiped too), two events appended: the signer, by its
        // own record, signs nothing, whatever the file says.
        try Tamper.asInsider(cli.ledger) { db in
            for t in ["events", "details"] { try db.execute(sql: "DELETE FROM \(t) WHERE seq >= ?", arguments: [size - 2]) }
            try db.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > ?", arguments: [size - 2])
            try db.execute(sql: "DELETE FROM checkpoints")
        }
        XCTAssertEqual(try cli.run("keys", "set-log-key", "--key", cli.path("p/keys/root.key"), "--public", cli.path("cp.key.pub")).status, 0)
        for _ in 0..<2 {
            XCTAssertEqual(try cli.run("record", "contact", "--key", cli.path("p/keys/police.key"), "--case", caseID, "--how", "phone").status, 0)
        }
        r = try cli.run("checkpoint", "--key", cli.path("cp.key"))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("nothing was signed"), r.stderr)
        XCTAssertEqual(r.stdout, "")

        // An operator who signs the cut log anyway (holding the key): verify --checkpoint with the
        // kept checkpoint says so, and writes the evidence.
        let cut = cli.path("cut.sqlite")
        try DatabaseQueue(path: cli.ledger).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [cut]) }
        try Tamper.asInsider(cut) { db in
            for t in ["events", "details"] { try db.execute(sql: "DELETE FROM \(t) WHERE seq >= ?", arguments: [size - 2]) }
            try db.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > ?", arguments: [size - 2])
        }
        try cli.signDirectly(ledger: cut, key: cli.path("cp.key"))
        r = try cli.run("verify", "--ledger", cut, "--trust-file", root, "--checkpoint", cli.path("kept.note"), "--log-key", cli.path("log.vkey"),
                        "--evidence", cli.path("truncated.json"))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("TRUNCATED"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cli.path("truncated.json")), "evidence written for a truncation")
        r = try cli.run("check-proof", cli.path("truncated.json"), "--log-key", cli.path("log.vkey"))
        XCTAssertTrue(r.stderr.contains("ROLLBACK SHOWN"), r.stdout + r.stderr)
    }

    func testFinding4AWitnessAnswersAStaleRequestWithItsSize() throws {
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("cp.key"), "--unprotected").status, 0)
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("w.key"), "--unprotected").status, 0)
        try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout.write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run("keys", "set-log-key", "--key", cli.path("p/keys/root.key"), "--public", cli.path("cp.key.pub")).status, 0)
        let w = ["--key", cli.path("w.key"), "--name", "inspectorate.example/w1", "--log-key", cli.path("log.vkey"), "--state", cli.path("w.state"),
                 "--evidence", cli.path("accusation.json")]
        XCTAssertEqual(try cli.run("checkpoint", "--key", cli.path("cp.key"), "--trust-file", root).status, 0)
        try cli.run("prove", "consistency", "--from", "0").stdout.write(toFile: cli.path("r0"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run(["witness", "add-checkpoint", cli.path("r0")] + w).status, 0)
        XCTAssertEqual(try cli.run("record", "contact", "--key", cli.path("p/keys/police.key"), "--case", caseID, "--how", "phone").status, 0)
        XCTAssertEqual(try cli.run("checkpoint", "--key", cli.path("cp.key")).status, 0)
        let size = try cli.run("head", "--json").stdout.firstMatch(of: /"size":(\d+)/).map { String($0.1) }!
        try cli.run("prove", "consistency", "--from", String(Int(size)! - 1)).stdout.write(toFile: cli.path("r1"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run(["witness", "add-checkpoint", cli.path("r1")] + w).status, 0)
        // The first request again: honest but stale.
        let r = try cli.run(["witness", "add-checkpoint", cli.path("r0")] + w)
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, size + "\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("accusation.json")), "no accusation for a stale request")
    }

    // MARK: 5. project update verifies less than verify

    func testFinding5ProjectUpdateChecksWhatVerifyChecks() throws {
        let csc = try insider("csc")
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", root).status, 0)
        let keyID = csc.actor.keyID
        var r = try cli.run("keys", "revoke", "--key", cli.path("p/keys/root.key"), "--key-id", keyID, "--reason", "left_agency")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try cli.run("project", "update", "--trust-file", root).status, 0)
        // The revocation's copy column edited, and a contact signed by the revoked key added.
        var forgedID = ""
        try Tamper.asInsider(cli.ledger) { db in
            try db.execute(sql: "UPDATE events SET type = 'contact.recorded' WHERE type = 'governance.key_revoked'")
            forgedID = try csc.insert(db, type: "contact.recorded", caseID: caseID, facts: ["contact_type": "phone"]).eventID
        }
        r = try cli.run("project", "update", "--trust-file", root)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        let shown = try cli.run("log", "list", "--case", caseID, "--json")
        XCTAssertTrue(shown.stdout.contains(forgedID), "the forged contact is in the file")
        let audit = try cli.run("audit", "trail", "--case", caseID, "--json")
        XCTAssertEqual(audit.status, 0, audit.stderr)
        XCTAssertFalse(audit.stdout.contains(forgedID), "the read models hold nothing of what did not verify: " + audit.stdout.suffix(300))
        XCTAssertEqual(try verify(cli.ledger).status, 1)
    }

    // MARK: 6. Governance gaps

    func testFinding6Governance() throws {
        // The root key can be handed over, and the old one signs nothing after.
        let pass = ["SAFEGUARD_PASSPHRASE": "a synthetic root passphrase"]
        XCTAssertEqual(try cli.run(["keys", "generate", "--root", "--out", cli.path("root2.key")], env: pass).status, 0)
        var r = try cli.run(["keys", "rotate-root", "--key", cli.path("p/keys/root.key"), "--new-key", cli.path("root2.key"), "--practitioner", "Root holder 2"],
                            env: pass)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try verify(cli.ledger).status, 0)
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("pc9.key"), "--unprotected").status, 0)
        r = try cli.run("keys", "enrol", "--key", cli.path("p/keys/root.key"), "--public", cli.path("pc9.key.pub"), "--agency", "police",
                        "--role", "practitioner", "--practitioner", "PC 0009")
        XCTAssertEqual(r.status, 3, "the old root: " + r.stderr)
        r = try cli.run(["keys", "enrol", "--key", cli.path("root2.key"), "--public", cli.path("pc9.key.pub"), "--agency", "police",
                         "--role", "practitioner", "--practitioner", "PC 0009"], env: pass)
        XCTAssertEqual(r.status, 0, r.stderr)

        // A second live key under an officer's exact name, and names with invisible characters: refused.
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("twin.key"), "--unprotected").status, 0)
        r = try cli.run(["keys", "enrol", "--key", cli.path("root2.key"), "--public", cli.path("twin.key.pub"), "--agency", "police",
                         "--role", "practitioner", "--practitioner", "PC 0009"], env: pass)
        XCTAssertEqual(r.status, 3, r.stderr)
        for name in ["PC\u{200B} 0009", "PC 0009\u{202E}", "PC\u{1B}[2J"] {
            r = try cli.run(["keys", "enrol", "--key", cli.path("root2.key"), "--public", cli.path("twin.key.pub"), "--agency", "police",
                             "--role", "practitioner", "--practitioner", name], env: pass)
            XCTAssertNotEqual(r.status, 0, "\(name.unicodeScalars.map { String($0.value, radix: 16) }): \(r.stderr)")
        }

        // A compromised lead's enrolments in the window are flagged with their events.
        let lead = try insider("education")
        XCTAssertEqual(lead.actor.role, "safeguarding_lead")
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("thief.key"), "--unprotected").status, 0)
        let since = Int64(try cli.run("head", "--json").stdout.firstMatch(of: /"size":(\d+)/).map { String($0.1) }!)!
        r = try cli.run("keys", "enrol", "--key", cli.path("p/keys/education.key"), "--public", cli.path("thief.key.pub"), "--agency", "education",
                        "--role", "practitioner", "--practitioner", "Teacher 0099")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("record", "contact", "--key", cli.path("thief.key"), "--case", caseID, "--how", "phone")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run(["keys", "revoke", "--key", cli.path("root2.key"), "--key-id", lead.actor.keyID, "--reason", "compromised",
                         "--compromised-since", String(since)], env: pass)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("verify", "--trust-file", root, "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let thiefID = try KeyFile.inspect(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("thief.key"))))).publicKey.keyID
        XCTAssertTrue(r.stdout.contains(#""enrolled_by":"\#(lead.actor.keyID)""#) && r.stdout.contains(thiefID), r.stdout)

        // Audit text names the key, not only the practitioner's name.
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", root).status, 0)
        r = try cli.run("audit", "trail", "--case", caseID)
        XCTAssertTrue(r.stdout.contains(thiefID), r.stdout.suffix(600) + "")
    }

    /// A crafted enrolment (signed by the root key, written straight in) whose role holds ESC
    /// sequences cannot paint the auditor's terminal.
    func testFinding6EscapeSequencesFromTheFileNeverReachTheTerminal() throws {
        let rootKey = try Insider(keyFile: cli.path("p/keys/root.key"), agency: "partnership", role: "root", practitioner: try rootName())
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("x.key"), "--unprotected").status, 0)
        let x = try KeyFile.inspect(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("x.key"))))).publicKey
        // The role holding the sequences, or (with a role that exists) the practitioner's name.
        for (i, (role, name)) in [("\u{1B}[2J\u{1B}[H\u{1B}[32mOK: all verified\u{1B}[0m", "PC 0010"),
                                  ("practitioner", "PC \u{1B}[2J\u{1B}[H\u{1B}]0;owned\u{07}0010")].enumerated() {
            let crafted = try forged("f6-\(i).sqlite") { db in
                _ = try rootKey.insert(db, type: "governance.key_enrolled", caseID: nil, facts: [
                    "public_key": .string(x.base64), "key_id": .string(x.keyID), "agency": "police", "role": .string(role), "practitioner": .string(name)])
            }
            for args in [["verify", "--ledger", crafted, "--trust-file", root], ["keys", "list", "--ledger", crafted], ["log", "list", "--ledger", crafted]] {
                let r = try cli.run(args)
                XCTAssertFalse((r.stdout + r.stderr).unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 },
                               "\(args[0]) \(args[1]): \(r.stdout.suffix(300)) \(r.stderr)")
            }
            XCTAssertEqual(try verify(crafted).status, 1, "an enrolment with control characters in a name or role is invalid")
        }
    }

    func rootName() throws -> String {
        try DatabaseQueue(path: cli.ledger).read { db in
            let e = try Data.fetchOne(db, sql: "SELECT envelope FROM events WHERE seq = 0")!
            return try JSONParser.parse([UInt8](e)).objectValue!["actor"]!.objectValue!["practitioner"]!.stringValue!
        }
    }

    // MARK: 7. Failure leftovers

    func testFinding7PassphrasesAndInterruptedInit() throws {
        // A one-character passphrase, and a root key's of 12.
        var r = try cli.run(["keys", "generate", "--out", cli.path("weak.key")], env: ["SAFEGUARD_PASSPHRASE": "x"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("weak.key")))
        r = try cli.run(["keys", "generate", "--root", "--out", cli.path("weakroot.key")], env: ["SAFEGUARD_PASSPHRASE": "twelve chars"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertEqual(try cli.run(["keys", "generate", "--out", cli.path("r12.key")], env: ["SAFEGUARD_PASSPHRASE": "twelve chars"]).status, 0)
        r = try cli.run(["init", "--ledger", cli.path("new.sqlite"), "--root-key", cli.path("r12.key"), "--partnership", "P", "--origin", "p.example/l"],
                        env: ["SAFEGUARD_PASSPHRASE": "twelve chars"])
        XCTAssertEqual(r.status, 3, "a root key with a 12-character passphrase: " + r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("new.sqlite")))

        // An empty file where the ledger should be: advice, not a bare refusal.
        FileManager.default.createFile(atPath: cli.path("empty.sqlite"), contents: nil)
        r = try cli.run("init", "--ledger", cli.path("empty.sqlite"), "--root-key", cli.path("p/keys/root.key"), "--partnership", "P", "--origin", "p.example/l")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("empty") && r.stderr.contains("rm "), r.stderr)

        // init killed at any moment: nothing at the path, or a whole ledger that verifies.
        var outcomes = (none: 0, whole: 0)
        for i in 0..<12 {
            let path = cli.path("killed-\(i).sqlite")
            let p = Process()
            p.executableURL = CLI.executable
            p.arguments = ["init", "--ledger", path, "--root-key", cli.path("p/keys/root.key"), "--partnership", "P", "--origin", "p.example/l"]
            p.environment = cli.env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(useconds_t(2_000 * i))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if FileManager.default.fileExists(atPath: path) {
                let v = try cli.run("verify", "--ledger", path, "--trust-file", root)
                XCTAssertEqual(v.status, 0, "a killed init left a file that is not a whole ledger: \(v.stderr)")
                outcomes.whole += 1
            } else {
                outcomes.none += 1
                r = try cli.run("init", "--ledger", path, "--root-key", cli.path("p/keys/root.key"), "--partnership", "P", "--origin", "p.example/l")
                XCTAssertEqual(r.status, 0, "init again after a kill: " + r.stderr)
            }
        }
        XCTAssertGreaterThan(outcomes.none, 0, "no kill landed before init finished: \(outcomes)")
    }

    func testFinding7AFullDiskLeavesNothingAndSaysSo() throws {
        // The ledger and its read models on a disk that fills during the rebuild.
        cli.env["SAFEGUARD_PROJECTIONS"] = cli.path("small") + "/ledger.projections.sqlite"
        let ledger = cli.ledger
        try cli.withSmallDisk(before: { try FileManager.default.copyItem(atPath: ledger, toPath: $0 + "/ledger.sqlite") }, leaving: 96 * 1024) { mount in
            var r = try cli.run("project", "rebuild", "--ledger", mount + "/ledger.sqlite", "--trust-file", root)
            XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("disk full"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: mount + "/ledger.projections.sqlite"), "nothing left of a rebuild that failed")
            // A key on a full disk: nothing written, and the same command works once there is room.
            let rest = try FileManager.default.attributesOfFileSystem(forPath: mount)[.systemFreeSize] as! Int
            FileManager.default.createFile(atPath: mount + "/fill2", contents: Data(count: max(0, rest)))
            let generate = ["keys", "generate", "--out", mount + "/new.key"]
            r = try cli.run(generate, env: ["SAFEGUARD_PASSPHRASE": "a synthetic passphrase"])
            XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("disk full"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: mount + "/new.key"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: mount + "/new.key.pub"))
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mount).filter { $0.contains("new.key") }, [])
            try FileManager.default.removeItem(atPath: mount + "/fill")
            try FileManager.default.removeItem(atPath: mount + "/fill2")
            r = try cli.run(generate, env: ["SAFEGUARD_PASSPHRASE": "a synthetic passphrase"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
    }
}
