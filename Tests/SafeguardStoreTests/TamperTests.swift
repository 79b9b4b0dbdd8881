import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardStore

/// Every kind of change to a real ledger file is detected at the right sequence number.
final class TamperTests: XCTestCase {
    var f: Fixture!

    override func setUpWithError() throws {
        f = try Fixture()
        try f.appendContacts(8)  // seq 10...17
    }

    func assertFails(at seq: Int64, _ codes: Set<String>, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let failure = try f.verify() else { return XCTFail("tampering was not detected", file: file, line: line) }
        XCTAssertEqual(failure.seq, seq, "\(failure)", file: file, line: line)
        XCTAssertTrue(codes.contains(failure.code), "unexpected failure \(failure.code): \(failure)", file: file, line: line)
    }

    func testUntouchedLedgerVerifies() throws {
        XCTAssertNil(try f.verify())
        let l = try Ledger.open(at: f.path, readOnly: true)
        let s = try l.verify(trustAnchor: f.root.publicKey)
        XCTAssertEqual(s.events, 18)
        XCTAssertEqual(s.keysEnrolled, 3)
        XCTAssertEqual(s.agencies, ["partnership", "police", "csc"])
        XCTAssertEqual(s.headHash, try l.head()!.hash)
    }

    /// The stored Merkle tree is checked node by node against the entries: a changed node is
    /// found at the entry that completes it, a missing or an extra one at the head.
    func testChangedMissingOrExtraTreeNodesAreDetected() throws {
        let root = try Ledger.open(at: f.path, readOnly: true).verify(trustAnchor: f.root.publicKey).treeRoot
        XCTAssertEqual(root, try f.ledger.treeRoot().root)
        func untouched(_ body: () throws -> Void) throws {
            try f.tamper { db in
                try db.execute(sql: "DROP TRIGGER IF EXISTS tree_nodes_append_only_update")
                try db.execute(sql: "DROP TRIGGER IF EXISTS tree_nodes_append_only_delete")
            }
            try body()
        }
        try untouched {
            // (2, 1) covers seq 4...7 and is completed by seq 7.
            try f.tamper { try $0.execute(sql: "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 1") }
            try assertFails(at: 7, ["tree_mismatch"])
        }
    }

    func testAMissingOrAnAddedTreeNodeIsDetected() throws {
        try f.tamper { db in
            try db.execute(sql: "DROP TRIGGER IF EXISTS tree_nodes_append_only_delete")
            try db.execute(sql: "DELETE FROM tree_nodes WHERE level = 1 AND idx = 8")  // seq 16, 17
        }
        try assertFails(at: 17, ["tree_mismatch"])
        try f.tamper { try $0.execute(sql: "INSERT INTO tree_nodes VALUES (1, 8, zeroblob(32))") }  // put back wrong
        try assertFails(at: 17, ["tree_mismatch"])
        try f.tamper { db in
            try db.execute(sql: "DELETE FROM tree_nodes WHERE level = 1 AND idx = 8")
            try db.execute(sql: "INSERT INTO tree_nodes VALUES (1, 8, ?)", arguments: [Data(Merkle.nodeHash(try self.f.row(16).entryHash, try self.f.row(17).entryHash))])
            try db.execute(sql: "INSERT INTO tree_nodes VALUES (5, 7, zeroblob(32))")  // a node beyond the log
        }
        try assertFails(at: 17, ["tree_mismatch"])
    }

    /// Replaces the first occurrence of `old` by `new` (same length) inside one row's envelope.
    func editEnvelope(seq: Int64, _ old: String, _ new: String) throws {
        var bytes = try f.row(seq).envelope
        let o = Array(old.utf8), n = Array(new.utf8)
        let at = try XCTUnwrap((0...(bytes.count - o.count)).first { Array(bytes[$0..<($0 + o.count)]) == o }, "\(old) not in envelope")
        bytes.replaceSubrange(at..<(at + o.count), with: n)
        try f.tamper { try $0.execute(sql: "UPDATE events SET envelope = ? WHERE seq = ?", arguments: [Data(bytes), seq]) }
    }

    func testChangedFactIsDetected() throws {
        try editEnvelope(seq: 13, "\"A4\"", "\"A5\"")
        try assertFails(at: 13, ["bad_signature"])
    }

    func testChangedDetailIsDetected() throws {
        // Details sit beside the envelope (format 2), which commits to them by salted digest.
        let d = try XCTUnwrap(try f.row(15).details)
        XCTAssertTrue(String(decoding: d.body, as: UTF8.self).contains("synthetic note"))
        XCTAssertFalse(String(decoding: try f.row(15).envelope, as: UTF8.self).contains("synthetic note"))
        let edited = Array(String(decoding: d.body, as: UTF8.self).replacingOccurrences(of: "synthetic note", with: "synthetic nose").utf8)
        try f.tamper { try $0.execute(sql: "UPDATE details SET body = ? WHERE seq = 15", arguments: [Data(edited)]) }
        try assertFails(at: 15, ["details_mismatch"])
    }

    func testEveryDetailsRecordChangeIsDetected() throws {
        let original = try XCTUnwrap(try f.row(14).details)
        // Another salt, the same details: refused (the digest covers the salt).
        try f.tamper { try $0.execute(sql: "UPDATE details SET salt = zeroblob(32) WHERE seq = 14") }
        try assertFails(at: 14, ["details_mismatch"])
        // Two events' records swapped.
        let other = try XCTUnwrap(try f.row(13).details)
        try f.tamper { db in
            try db.execute(sql: "UPDATE details SET salt = ?, body = ? WHERE seq = 14", arguments: [Data(other.salt), Data(other.body)])
        }
        try assertFails(at: 14, ["details_mismatch"])
        // Removed: the record the envelope commits to is missing.
        try f.tamper { try $0.execute(sql: "DELETE FROM details WHERE seq = 14") }
        try assertFails(at: 14, ["details_mismatch"])
        // Put back: verifies again.
        try f.tamper { db in
            try db.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (14, ?, ?)", arguments: [Data(original.salt), Data(original.body)])
        }
        XCTAssertNil(try f.verify())
        // A record for no event (left behind when the tail was cut, or planted).
        try f.tamper { try $0.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (99, zeroblob(32), X'7b7d')") }
        try assertFails(at: 99, ["details_mismatch"])
        try f.tamper { try $0.execute(sql: "DELETE FROM details WHERE seq = 99") }
        // A salt that is not a blob is a malformed row, not a crash.
        try f.tamper { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE details SET salt = 'text' WHERE seq = 14")
        }
        try assertFails(at: 14, ["malformed_row"])
    }

    func testChangedFactWithRecomputedEntryHashStillFails() throws {
        try editEnvelope(seq: 12, "\"A3\"", "\"S1\"")
        let r = try f.row(12)
        let hash = Entry.entryHash(canonical: r.envelope, signature: r.signature)
        try f.tamper { try $0.execute(sql: "UPDATE events SET entry_hash = ? WHERE seq = 12", arguments: [Data(hash)]) }
        try assertFails(at: 12, ["bad_signature"])
    }

    func testEveryByteOfOneEnvelopeIsProtected() throws {
        let original = try f.row(11).envelope
        for i in stride(from: 0, to: original.count, by: 7) {
            var bytes = original
            bytes[i] ^= 0x01
            try f.tamper { try $0.execute(sql: "UPDATE events SET envelope = ? WHERE seq = 11", arguments: [Data(bytes)]) }
            try assertFails(at: 11, ["bad_signature", "not_canonical", "invalid_envelope", "seq_mismatch", "broken_link", "unknown_key", "rule", "actor_mismatch", "not_permitted"])
        }
    }

    /// A bad signature whose entry hash was recomputed passes every other check of its row;
    /// the next row's link then breaks. The signature, earlier in the log, is what is reported,
    /// however the signatures are spread over threads and batches (Fixture.verify runs each way).
    func testABadSignatureIsReportedBeforeALaterBrokenLink() throws {
        var sig = try f.row(12).signature
        sig[10] ^= 0x01
        let hash = Entry.entryHash(canonical: try f.row(12).envelope, signature: sig)
        try f.tamper { try $0.execute(sql: "UPDATE events SET signature = ?, entry_hash = ? WHERE seq = 12", arguments: [Data(sig), Data(hash)]) }
        try assertFails(at: 12, ["bad_signature"])
    }

    func testFlippedSignatureByteIsDetected() throws {
        var sig = try f.row(14).signature
        sig[63] ^= 0x80
        try f.tamper { try $0.execute(sql: "UPDATE events SET signature = ? WHERE seq = 14", arguments: [Data(sig)]) }
        try assertFails(at: 14, ["bad_signature"])
    }

    func testFlippedEntryHashIsDetected() throws {
        var h = try f.row(16).entryHash
        h[0] ^= 0xff
        try f.tamper { try $0.execute(sql: "UPDATE events SET entry_hash = ? WHERE seq = 16", arguments: [Data(h)]) }
        try assertFails(at: 16, ["entry_hash_mismatch"])
    }

    func testChangedCopyColumnsAreDetected() throws {
        for (column, value) in [("case_id", "C-9999"), ("agency", "health"), ("type", "contact.updated"), ("occurred_at", "2026-03-01T09:00:00Z")] {
            let g = try Fixture()
            try g.appendContacts(3)
            try g.tamper { try $0.execute(sql: "UPDATE events SET \(column) = ? WHERE seq = 11", arguments: [value]) }
            let failure = try XCTUnwrap(try g.verify(), column)
            XCTAssertEqual(failure.seq, 11)
            XCTAssertEqual(failure.reason, .columnMismatch(column: column))
        }
        var prev = try f.row(11).prevHash
        prev[3] ^= 1
        try f.tamper { try $0.execute(sql: "UPDATE events SET prev_hash = ? WHERE seq = 11", arguments: [Data(prev)]) }
        try assertFails(at: 11, ["column_mismatch"])
    }

    func testLookalikeUnicodeInACopyColumnIsDetected() throws {
        // U+212A KELVIN SIGN is canonically equivalent to K: equal as Swift strings, not as
        // bytes, so SQL lookups by case would silently miss the event.
        let kelvin = "\u{212A}-0001"
        XCTAssertEqual(kelvin, "K-0001")
        let row = try XCTUnwrap(try f.ledger.append([f.contact("K-0001")], signer: f.police, clock: f.clock, newID: f.newID).first)
        try f.tamper { try $0.execute(sql: "UPDATE events SET case_id = ? WHERE seq = ?", arguments: [kelvin, row.seq]) }
        try assertFails(at: row.seq, ["column_mismatch"])
    }

    func testDecomposedPractitionerNameIsNotTheEnrolledOne() throws {
        let enrolled = "Zo\u{00E9} 0042", lookalike = "Zoe\u{0301} 0042"
        XCTAssertEqual(enrolled, lookalike)  // Swift says equal; the format compares bytes
        let k = Fixture.key(50)
        try f.ledger.append([GovernanceDrafts.enrolment(of: k.publicKey, agency: "health", role: "practitioner", practitioner: enrolled, at: Fixture.start)],
                            signer: f.root, clock: f.clock, newID: f.newID)
        let row = try f.forgedNext(actor: Actor(agency: "health", role: "practitioner", practitioner: lookalike, keyID: k.publicKey.keyID), signer: k)
        try f.insertRaw(row)
        try assertFails(at: row.seq, ["actor_mismatch"])
    }

    /// SQLite's `length()` stops at a NUL byte, and so did the reader's text: a copy column
    /// holding its value, a NUL and more passed its CHECK and read as the envelope's value, while
    /// a lookup through the column's index by that value missed the event. A malformed row.
    func testCopyColumnWithANulByteIsAMalformedRow() throws {
        for column in ["event_id", "type", "case_id", "agency", "key_id", "occurred_at", "recorded_at"] {
            let g = try Fixture()
            try g.appendContacts(4)
            try g.tamper { db in try db.execute(sql: "UPDATE events SET \(column) = \(column) || char(0) || 'x' WHERE seq = 12") }
            let failure = try XCTUnwrap(try g.verify(), "\(column) with a NUL byte verified")
            XCTAssertEqual(failure.reason, .malformedRow(column: column), "\(column): \(failure)")
            XCTAssertEqual(failure.seq, 12, column)
        }
    }

    /// Values of the wrong storage class, where the table (its CHECK constraints switched off)
    /// admits them, are reported as malformed; those only a table rebuilt without its
    /// constraints admits (a NULL signature, a seq that is not a number) are refused with it.
    func testWrongColumnTypesAreReportedNotCrashed() throws {
        for (column, value) in [("signature", "'text, not a blob'"), ("envelope", "'text, not a blob'"), ("case_id", "x'00'"), ("event_id", "zeroblob(36)")] {
            let g = try Fixture()
            try g.appendContacts(4)
            try g.tamper { db in try db.execute(sql: "UPDATE events SET \(column) = \(value) WHERE seq = 12") }
            let failure = try XCTUnwrap(try g.verify(), column)
            XCTAssertEqual(failure.reason, .malformedRow(column: column), "\(column): \(failure)")
            XCTAssertEqual(failure.seq, 12, column)
        }
        for (column, value) in [("signature", "NULL"), ("seq", "'seven'")] {
            let g = try Fixture()
            try g.appendContacts(4)
            try g.tamper { db in
                try db.execute(sql: "CREATE TABLE loose AS SELECT * FROM events")  // no constraints
                try db.execute(sql: "DROP TABLE events")
                try db.execute(sql: "ALTER TABLE loose RENAME TO events")
                try db.execute(sql: "UPDATE events SET \(column) = \(value) WHERE seq = 12")
            }
            let failure = try XCTUnwrap(try g.verify(), column)
            XCTAssertEqual(failure.code, "altered_table", "\(column): \(failure)")
            XCTAssertEqual(failure.seq, 0, column)
        }
    }

    func testDeletedRowIsDetected() throws {
        try f.tamper { try $0.execute(sql: "DELETE FROM events WHERE seq = 12") }
        let failure = try XCTUnwrap(try f.verify())
        XCTAssertEqual(failure.seq, 12)
        XCTAssertEqual(failure.reason, .missingEvents(expected: 12, found: 13))
    }

    func testDeletedRowWithRenumberedTailIsDetected() throws {
        // The attacker closes the gap; the links still break.
        try f.tamper { db in
            try db.execute(sql: "DELETE FROM events WHERE seq = 12")
            try db.execute(sql: "UPDATE events SET seq = seq - 1 WHERE seq > 12")
        }
        try assertFails(at: 12, ["seq_mismatch"])
    }

    func testSwappedRowsAreDetected() throws {
        let cols = "event_id, type, case_id, agency, key_id, occurred_at, recorded_at, prev_hash, envelope, signature, entry_hash"
        try f.tamper { db in
            try db.execute(sql: "CREATE TEMP TABLE a AS SELECT * FROM events WHERE seq = 13")
            try db.execute(sql: "CREATE TEMP TABLE b AS SELECT * FROM events WHERE seq = 15")
            try db.execute(sql: "DELETE FROM events WHERE seq IN (13, 15)")
            try db.execute(sql: "INSERT INTO events (seq, \(cols)) SELECT 13, \(cols) FROM b")
            try db.execute(sql: "INSERT INTO events (seq, \(cols)) SELECT 15, \(cols) FROM a")
        }
        try assertFails(at: 13, ["seq_mismatch"])
    }

    func testEventSignedByUnenrolledKeyIsDetected() throws {
        let stranger = Fixture.key(99)
        let row = try f.forgedNext(actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: stranger.publicKey.keyID), signer: stranger)
        try f.insertRaw(row)
        try assertFails(at: row.seq, ["unknown_key"])
    }

    func testEventClaimingAnEnrolledKeyButSignedByAnotherIsDetected() throws {
        let row = try f.forgedNext(actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: f.police.publicKey.keyID),
                                   signer: Fixture.key(99))
        try f.insertRaw(row)
        try assertFails(at: row.seq, ["bad_signature"])
    }

    func testEventClaimingAnotherPractitionerIsDetected() throws {
        let row = try f.forgedNext(actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 9999", keyID: f.police.publicKey.keyID),
                                   signer: f.police)
        try f.insertRaw(row)
        try assertFails(at: row.seq, ["actor_mismatch"])
    }

    func testEventTypeTheAgencyMayNotRecordIsDetected() throws {
        let row = try f.forgedNext(actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: f.police.publicKey.keyID),
                                   signer: f.police, type: "referral.mase")
        try f.insertRaw(row)
        try assertFails(at: row.seq, ["not_permitted"])
    }

    func testEventSignedByRevokedKeyIsDetectedAndRefused() throws {
        try f.ledger.append([GovernanceDrafts.revocation(of: f.police.publicKey.keyID, reason: "compromised", at: Fixture.start)],
                            signer: f.root, clock: f.clock, newID: f.newID)
        XCTAssertThrowsError(try f.ledger.append([f.contact()], signer: f.police, clock: f.clock, newID: f.newID)) { error in
            guard case LedgerError.rejected(.revokedKey(let id, let at), _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(id, f.police.publicKey.keyID)
            XCTAssertEqual(at, 18)
        }
        XCTAssertNil(try f.verify())
        let row = try f.forgedNext(actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: f.police.publicKey.keyID),
                                   signer: f.police)
        try f.insertRaw(row)
        let failure = try XCTUnwrap(try f.verify())
        XCTAssertEqual(failure.seq, 19)
        XCTAssertEqual(failure.reason, .rule(.revokedKey(keyID: f.police.publicKey.keyID, revokedAt: 18)))
    }

    func testReplacedGenesisIsDetected() throws {
        // A genesis for another partnership, signed by the same root key.
        let draft = GovernanceDrafts.genesis(partnership: "Other Partnership", origin: "other.example/ledger", root: f.root.publicKey, at: Fixture.start)
        let sealed = try SealedDetails(draft.details)
        let e = try LedgerState().envelope(for: draft, sealed: sealed, signer: f.root.publicKey, recordedAt: Fixture.start, eventID: f.newID(),
                                           practitioner: "root holder")
        let genesis = StoredEntry(e, entry: try Entry(signing: e, with: f.root), details: sealed)
        try f.tamper { db in
            try db.execute(sql: "DELETE FROM events WHERE seq = 0")
            try db.execute(sql: "DELETE FROM details WHERE seq = 0")
            try Fixture.insertRaw(genesis, db)
        }
        // Same root key, other genesis: the chain breaks at 1.
        try assertFails(at: 1, ["broken_link"])
        // A ledger anchored in another root key is refused at genesis.
        let failure = try XCTUnwrap(try f.verify(trust: Fixture.key(42).publicKey))
        XCTAssertEqual(failure.seq, 0)
        XCTAssertEqual(failure.code, "untrusted_root")
    }

    /// An event id used twice, inserted past the UNIQUE index (detached through
    /// `writable_schema`, then attached again, stale): the rows, not the index, decide.
    func testDuplicatedEventIDIsDetected() throws {
        let dup = try f.row(12).eventID
        let row = try f.forgedNext(actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: f.police.publicKey.keyID),
                                   signer: f.police)
        let e = try Envelope(json: JSONParser.parse(row.envelope, mode: .canonical))
        var same = e
        same.eventID = dup
        let forged = StoredEntry(same, entry: try Entry(signing: same, with: f.police), details: row.details)
        try Tamper.withIndexesDetached(f.path) { db in
            try Fixture.insertRaw(forged, db)
            try TreeStore.addLeaf(db, index: forged.seq, hash: forged.entryHash)
        }
        try assertFails(at: row.seq, ["index_mismatch"])
    }

    func testRootKeyCannotRecordCaseEvents() throws {
        // The default policy grants meeting.* to the partnership, but not to its root key.
        let meeting = EventDraft(type: "meeting.mase", caseID: "C-0001", occurredAt: Fixture.start, facts: [:])
        XCTAssertThrowsError(try f.ledger.append([meeting], signer: f.root, clock: f.clock, newID: f.newID)) { error in
            XCTAssertTrue("\(error)".contains("governance events only"), "\(error)")
        }
    }

    func testTruncatedTailIsNotDetectedByTheChainAlone() throws {
        // Documented limit (docs/FORMAT.md §6): cutting the tail leaves a valid, shorter chain;
        // signed checkpoints are what catch it. Cutting the events alone leaves tree nodes
        // for them, which verify notices; cutting both is undetectable from the file.
        try f.tamper { try $0.execute(sql: "DELETE FROM events WHERE seq >= 16") }
        try assertFails(at: 15, ["tree_mismatch"])
        try f.tamper { try $0.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > 16") }
        // The cut events' details records are left behind: strays, at the first of them.
        try assertFails(at: 16, ["details_mismatch"])
        try f.tamper { try $0.execute(sql: "DELETE FROM details WHERE seq >= 16") }
        XCTAssertNil(try f.verify())
    }

    func testTriggersRefuseUpdateDeleteAndForkedInsert() throws {
        let q = try DatabaseQueue(path: f.path)
        XCTAssertThrowsError(try q.write { try $0.execute(sql: "UPDATE events SET case_id = 'X' WHERE seq = 11") })
        XCTAssertThrowsError(try q.write { try $0.execute(sql: "DELETE FROM events WHERE seq = 17") })
        XCTAssertThrowsError(try q.write { try $0.execute(sql: "UPDATE details SET body = X'7b7d' WHERE seq = 11") })
        XCTAssertThrowsError(try q.write { try $0.execute(sql: "DELETE FROM details WHERE seq = 17") })
        XCTAssertThrowsError(try q.write { try $0.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (18, zeroblob(32), X'7b7d')") })
        let r = try f.row(17)
        XCTAssertThrowsError(try q.write { db in
            try db.execute(sql: "INSERT INTO events (\(Ledger.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", arguments: [
                18, "00000000-0000-4000-8000-999999999999", r.type, r.caseID, r.agency, r.keyID, r.occurredAt, r.recordedAt,
                Data(r.prevHash), Data(r.envelope), Data(r.signature), Data(r.entryHash),
            ])
        })
        XCTAssertNil(try f.verify())
    }
}
