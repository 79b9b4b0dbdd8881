import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

/// The tamper matrix of docs/RELIABILITY.md, through the real executable: for each stored
/// column, a flipped byte and another event's value; then deleted, swapped and renumbered rows,
/// a cut tail, forged, re-signed and replaced events. Each change is made to a fresh copy of
/// one ledger, as an attacker with write access would (triggers dropped, constraints bypassed),
/// and `safeguard verify` must name the right sequence number and reason, or, for a cut tail,
/// `verify --checkpoint` must report it.
final class TamperMatrixTests: XCTestCase {
    var cli: CLI!
    /// seq 0-7 as CLI.makeLedger; 8-15 contacts (police, csc in turn); 16 a second police key
    /// enrolled; 17 its contact; 18 that key revoked; 19, 20 contacts; 21 the checkpoint key named.
    let target: Int64 = 12
    var rows: [(name: String, outcome: String)] = []

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
        for i in 0..<8 {
            let r = try cli.run(["append", "--key", cli.path(i % 2 == 0 ? "police.key" : "csc.key")], stdin: Data(CLI.contact("C-0001").utf8))
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("pc2.key"), "--unprotected").status, 0)
        XCTAssertEqual(try cli.run("keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("pc2.key.pub"), "--agency", "police",
                                   "--role", "practitioner", "--practitioner", "PC 0016").status, 0)
        XCTAssertEqual(try cli.run(["append", "--key", cli.path("pc2.key")], stdin: Data(CLI.contact("C-0001").utf8)).status, 0)
        let pc2 = try key("pc2").publicKey.keyID
        let revoked = try cli.run("keys", "revoke", "--key", cli.path("root.key"), "--key-id", pc2, "--reason", "compromised")
        XCTAssertEqual(revoked.status, 0, revoked.stderr)
        for k in ["police", "csc"] { XCTAssertEqual(try cli.run(["append", "--key", cli.path("\(k).key")], stdin: Data(CLI.contact("C-0001").utf8)).status, 0) }
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("cp.key"), "--unprotected").status, 0)
        try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout.write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        try cli.nameCheckpointKey(cli.path("cp.key"), root: cli.path("root.key"))
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("root.key.pub"), "--out", cli.path("kept.note")).status, 0)
        let head = try cli.head()
        XCTAssertTrue(head.contains(#""size":22"#), head)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func key(_ name: String) throws -> SigningKey {
        try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("\(name).key")))), passphrase: { nil })
    }

    /// A fresh copy of the ledger changed by `body` as an insider would (`Tamper.asInsider`; with
    /// `detached`, past the indexes too, left stale: `Tamper.withIndexesDetached`), then verified.
    func tampered(_ name: String, detached: Bool = false, _ body: (Database) throws -> Void) throws -> (status: Int32, code: String?, seq: Int64?, stdout: String) {
        let copy = cli.path("t-\(rows.count).sqlite")
        try? FileManager.default.removeItem(atPath: copy)
        try DatabaseQueue(path: cli.ledger).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        if detached { try Tamper.withIndexesDetached(copy, body) } else { try Tamper.asInsider(copy, body) }
        let r = try cli.run("verify", "--ledger", copy, "--trust-file", cli.path("root.key.pub"), "--json")
        let code = r.stdout.firstMatch(of: /"code":"([a-z_]+)"/).map { String($0.1) }
        let seq = r.stdout.firstMatch(of: /"seq":(-?\d+)/).flatMap { Int64($0.1) }
        return (r.status, code, seq, r.stdout)
    }

    /// Asserts the change is reported at `seq` with one of `codes`, and records the row.
    func expect(_ name: String, at seq: Int64, _ codes: Set<String>, detached: Bool = false, file: StaticString = #filePath, line: UInt = #line,
                _ body: (Database) throws -> Void) throws {
        let r = try tampered(name, detached: detached, body)
        let detected = r.status == 1 && r.seq == seq && r.code.map(codes.contains) == true
        XCTAssertTrue(detected, "\(name): expected \(codes.sorted()) at \(seq), got \(r.stdout)", file: file, line: line)
        rows.append((name, detected ? "detected: `\(r.code!)` at seq \(seq)" : "NOT DETECTED as expected (\(r.stdout))"))
    }

    static let blobColumns = ["prev_hash", "envelope", "signature", "entry_hash"]
    static let textColumns = ["event_id", "type", "case_id", "agency", "key_id", "occurred_at", "recorded_at"]

    func testEveryChangeIsDetectedAtTheRightEvent() throws {
        let k = target
        // A re-signed event with the stored tree kept: the tree is found to disagree first.
        try expect("the policy event changed and re-signed with the root key, stored tree kept", at: 1, ["tree_mismatch"]) { db in
            var e = try envelope(db, 1)
            e.occurredAt = Timestamp(seconds: e.occurredAt.seconds - 60)
            let entry = try Entry(signing: e, with: try key("root"))
            try db.execute(sql: "UPDATE events SET envelope = ?, signature = ?, entry_hash = ?, occurred_at = ? WHERE seq = 1",
                           arguments: [Data(entry.canonical), Data(entry.signature), Data(entry.entryHash), e.occurredAt.description])
        }
        // Flip one byte (or one bit of the integer) of each column of event k.
        try expect("`seq`: bit 20 flipped", at: k, ["missing_events"]) { try $0.execute(sql: "UPDATE events SET seq = seq | 1048576 WHERE seq = ?", arguments: [k]) }
        for c in Self.textColumns {
            try expect("`\(c)`: one character changed", at: k, ["column_mismatch"]) { db in
                try db.execute(sql: "UPDATE events SET \(c) = substr(\(c), 1, length(\(c)) - 1) || char((unicode(substr(\(c), -1)) | 1) - (unicode(substr(\(c), -1)) & 1)) WHERE seq = ?", arguments: [k])
            }
        }
        let envelopeCodes: Set<String> = ["not_canonical", "invalid_envelope", "bad_signature", "seq_mismatch", "broken_link"]
        for (c, codes) in [("prev_hash", ["column_mismatch"]), ("envelope", envelopeCodes), ("signature", ["bad_signature"]), ("entry_hash", ["entry_hash_mismatch"])] as [(String, Set<String>)] {
            try expect("`\(c)`: one byte flipped", at: k, codes) { db in try flip(db, table: "events", column: c, seq: k) }
        }
        for c in ["salt", "body"] {
            try expect("`details.\(c)`: one byte flipped", at: k, ["details_mismatch"]) { db in try flip(db, table: "details", column: c, seq: k) }
        }
        try expect("`tree_nodes.hash`: one byte flipped (the subtree of events 8-15)", at: 15, ["tree_mismatch"]) { db in
            try db.execute(sql: "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 3 AND idx = 1")
        }

        // Another event's value in each column of event k.
        for c in Self.textColumns + Self.blobColumns {
            // The nearest event with another value (recorded_at may be one second for all: then a valid time of another day).
            let other = try DatabaseQueue(path: cli.ledger).read { db in
                try Int64.fetchOne(db, sql: "SELECT seq FROM events WHERE \(c) IS NOT (SELECT \(c) FROM events WHERE seq = ?) AND seq > 0 ORDER BY abs(seq - ?) LIMIT 1", arguments: [k, k])
            }
            let codes: Set<String> = c == "envelope" ? ["seq_mismatch"] : c == "signature" ? ["bad_signature"] : c == "entry_hash" ? ["entry_hash_mismatch"] : ["column_mismatch"]
            try expect("`\(c)`: " + (other.map { "event \($0)'s value" } ?? "another valid value") + (c == "event_id" ? " (past the UNIQUE index, left stale)" : ""),
                       at: k, codes, detached: c == "event_id") { db in
                if let other {
                    try db.execute(sql: "UPDATE events SET \(c) = (SELECT \(c) FROM events WHERE seq = ?) WHERE seq = ?", arguments: [other, k])
                } else {
                    try db.execute(sql: "UPDATE events SET \(c) = '2026-01-01T00:00:00Z' WHERE seq = ?", arguments: [k])
                }
            }
        }
        try expect("`details`: event 13's record", at: k, ["details_mismatch"]) { db in
            try db.execute(sql: "UPDATE details SET salt = (SELECT salt FROM details WHERE seq = 13), body = (SELECT body FROM details WHERE seq = 13) WHERE seq = ?", arguments: [k])
        }
        try expect("`tree_nodes.hash`: another subtree's hash", at: 15, ["tree_mismatch"]) { db in
            try db.execute(sql: "UPDATE tree_nodes SET hash = (SELECT hash FROM tree_nodes WHERE level = 3 AND idx = 0) WHERE level = 3 AND idx = 1")
        }

        // Whole rows.
        try expect("a row deleted", at: k, ["missing_events"]) { try $0.execute(sql: "DELETE FROM events WHERE seq = ?", arguments: [k]) }
        try expect("a row deleted and the later ones renumbered", at: k, ["seq_mismatch"]) { db in
            try db.execute(sql: "DELETE FROM events WHERE seq = ?", arguments: [k])
            try db.execute(sql: "UPDATE events SET seq = seq - 1 WHERE seq > ?", arguments: [k])
        }
        try expect("two rows swapped", at: k, ["seq_mismatch"]) { db in
            try db.execute(sql: "UPDATE events SET seq = -1 WHERE seq = ?", arguments: [k])
            try db.execute(sql: "UPDATE events SET seq = ? WHERE seq = ?", arguments: [k, k + 1])
            try db.execute(sql: "UPDATE events SET seq = ? WHERE seq = -1", arguments: [k + 1])
        }
        try expect("the events table rebuilt without its primary key and UNIQUE index, so that a row can appear twice", at: 0, ["altered_table"]) { db in
            try db.execute(sql: "CREATE TABLE loose AS SELECT * FROM events; DROP TABLE events; ALTER TABLE loose RENAME TO events")
            try db.execute(sql: "INSERT INTO events SELECT * FROM events WHERE seq = ?", arguments: [k])
        }
        try expect("a new event at the head reusing event \(k)'s id, past the UNIQUE index (detached through writable_schema, attached again stale)",
                   at: 22, ["index_mismatch"], detached: true) { db in
            try appendForged(db, signer: try key("police"), claiming: try envelope(db, 19).actor, eventID: try String.fetchOne(db, sql: "SELECT event_id FROM events WHERE seq = ?", arguments: [k])!)
            try rebuildTree(db)
        }
        try expect("a view named events in place of the table (the rows moved aside)", at: 0, ["altered_table", "unknown_schema_object"]) { db in
            try db.execute(sql: "ALTER TABLE events RENAME TO hidden; CREATE VIEW events AS SELECT * FROM hidden WHERE seq < 15")
        }
        try expect("a trigger planted beside the real ones (silently drops health's records)", at: 0, ["unknown_schema_object"]) { db in
            try db.execute(sql: "CREATE TRIGGER quiet BEFORE INSERT ON events WHEN NEW.agency = 'health' BEGIN SELECT RAISE(IGNORE); END")
        }
        try expect("an append-only trigger's body changed to let deletions through", at: 0, ["altered_table"]) { db in
            try db.execute(sql: "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events WHEN 0 BEGIN SELECT RAISE(ABORT, 'no'); END")
        }

        // Forged and re-signed events.
        let root = try key("root"), police = try key("police"), pc2 = try key("pc2")
        let outsider = SigningKey(seed: { var s = [UInt8](repeating: 77, count: 32); return SecretBytes(consuming: &s) }())
        try expect("a well-formed event signed by a key never enrolled, appended", at: 22, ["unknown_key"]) { db in
            try appendForged(db, signer: outsider, claiming: try envelope(db, 19).actor.with(keyID: outsider.publicKey.keyID))
        }
        try expect("an event signed with a revoked key (as its holder would), appended", at: 22, ["revoked_key"]) { db in
            try appendForged(db, signer: pc2, claiming: try envelope(db, 17).actor)
        }
        try expect("a fact changed in an event and re-signed with the key that signed it (revoked since), stored tree recomputed", at: 18, ["broken_link"]) { db in
            try resign(db, seq: 17, signer: pc2) { $0.facts["indicators"] = ["S1"] }
        }
        try expect("the policy event changed (police may record every type)", at: 1, ["bad_signature"]) { db in
            var e = try envelope(db, 1)
            e.facts["policy"] = try JSONParser.parse(Array(#"{"name":"forged","version":9,"permissions":{"police":["*"]}}"#.utf8))
            try db.execute(sql: "UPDATE events SET envelope = ? WHERE seq = 1", arguments: [Data(try e.canonicalBytes())])
        }
        try expect("the policy event changed and re-signed with the root key, stored tree recomputed", at: 2, ["broken_link"]) { db in
            try resign(db, seq: 1, signer: root) { $0.occurredAt = Timestamp(seconds: $0.occurredAt.seconds - 60) }
        }
        try expect("the genesis replaced by one signed with the same root key, stored tree recomputed", at: 1, ["broken_link"]) { db in
            try resign(db, seq: 0, signer: root) { $0.facts["partnership"] = "Another Partnership" }
        }
        try expect("the genesis replaced by one naming another root key", at: 0, ["untrusted_root"]) { db in
            try resign(db, seq: 0, signer: outsider) { e in
                e.facts["root_public_key"] = .string(outsider.publicKey.base64)
                e.actor = e.actor.with(keyID: outsider.publicKey.keyID)
            }
        }
        _ = police

        // The tail cut off (events, their details and subtrees): the chain alone still verifies;
        // the auditor's checkpoint catches it.
        let cut = try tampered("tail") { db in
            for t in ["events", "details"] { try db.execute(sql: "DELETE FROM \(t) WHERE seq >= 18") }
            try db.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > 18")
        }
        XCTAssertEqual(cut.status, 0, "the shortened chain alone verifies: \(cut.stdout)")
        let copy = cli.path("t-\(rows.count).sqlite")
        let r = try cli.run("verify", "--ledger", copy, "--trust-file", cli.path("root.key.pub"), "--checkpoint", cli.path("kept.note"), "--log-key", cli.path("log.vkey"))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("TRUNCATED"), r.stderr)
        rows.append(("the tail cut off (events 18-21, their details and subtrees)", r.status == 1 && r.stderr.contains("TRUNCATED")
                     ? "the chain alone verifies (as documented); `verify --checkpoint` with the auditor's checkpoint of 22 events: TRUNCATED, exit 1" : "NOT DETECTED"))

        let detected = rows.filter { $0.outcome.hasPrefix("detected") || $0.outcome.contains("TRUNCATED") }.count
        ReliabilityTests.record("tamper", "\(detected) of \(rows.count) tamper cases detected at the right event with the right reason")
        ReliabilityTests.record("tamper-matrix", rows.map { "| \($0.name) | \($0.outcome) |" }.joined(separator: "\n"))
        XCTAssertEqual(detected, rows.count)
    }

    // MARK: attacker's tools

    func flip(_ db: Database, table: String, column: String, seq: Int64) throws {
        var bytes = [UInt8](try Data.fetchOne(db, sql: "SELECT \(column) FROM \(table) WHERE seq = ?", arguments: [seq])!)
        bytes[bytes.count / 2] ^= 0x01
        try db.execute(sql: "UPDATE \(table) SET \(column) = ? WHERE seq = ?", arguments: [Data(bytes), seq])
    }

    /// Computes the stored Merkle tree again from the entry hashes, as an insider covering a
    /// change would (otherwise the tree is the first thing found to disagree).
    func rebuildTree(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM tree_nodes")
        var frontier = MerkleFrontier()
        for hash in try Data.fetchAll(db, sql: "SELECT entry_hash FROM events ORDER BY seq") {
            for node in frontier.append([UInt8](hash)) {
                try db.execute(sql: "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", arguments: [node.level, node.index, Data(node.hash)])
            }
        }
    }

    func envelope(_ db: Database, _ seq: Int64) throws -> Envelope {
        try Envelope(json: JSONParser.parse([UInt8](try Data.fetchOne(db, sql: "SELECT envelope FROM events WHERE seq = ?", arguments: [seq])!), mode: .canonical))
    }

    /// Changes event `seq`'s envelope, signs it with `signer` and stores it with a matching entry
    /// hash and a stored tree computed again.
    func resign(_ db: Database, seq: Int64, signer: SigningKey, _ change: (inout Envelope) -> Void) throws {
        var e = try envelope(db, seq)
        change(&e)
        let entry = try Entry(signing: e, with: signer)
        try db.execute(sql: "UPDATE events SET envelope = ?, signature = ?, entry_hash = ?, key_id = ?, occurred_at = ? WHERE seq = ?",
                       arguments: [Data(entry.canonical), Data(entry.signature), Data(entry.entryHash), e.actor.keyID, e.occurredAt.description, seq])
        try rebuildTree(db)
    }

    /// Appends a well-formed contact at the head, chained and with its details record, signed by `signer`.
    func appendForged(_ db: Database, signer: SigningKey, claiming actor: Actor, eventID: String = "00000000-0000-4000-8000-00000000f00d") throws {
        let head = try Row.fetchOne(db, sql: "SELECT seq, entry_hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1")!
        let sealed = try SealedDetails(["narrative": "synthetic"])
        let recorded = Timestamp(canonical: head[2])!
        let e = Envelope(seq: head[0] + 1, eventID: eventID, type: "contact.recorded", caseID: "C-0001",
                         occurredAt: Timestamp(seconds: 1_772_442_000), recordedAt: recorded, actor: actor,
                         prevHash: [UInt8](head[1] as Data), facts: ["contact_type": "phone", "indicators": ["A2"]], details: .committed(digest: sealed.digest))
        let entry = try Entry(signing: e, with: signer)
        try db.execute(sql: "INSERT INTO events (seq, event_id, type, case_id, agency, key_id, occurred_at, recorded_at, prev_hash, envelope, signature, entry_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       arguments: [e.seq, e.eventID, e.type, e.caseID, e.actor.agency, e.actor.keyID, e.occurredAt.description, e.recordedAt.description,
                                   Data(e.prevHash), Data(entry.canonical), Data(entry.signature), Data(entry.entryHash)])
        try db.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (?, ?, ?)", arguments: [e.seq, Data(sealed.salt), Data(sealed.body)])
    }
}

extension Actor {
    func with(keyID: String) -> Actor { Actor(agency: agency, role: role, practitioner: practitioner, keyID: keyID) }
}
