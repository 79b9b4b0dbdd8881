import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardStore

/// Ledgers written before envelope format 2: a file of format 3 whose events hold their details
/// inside the signed envelope (format 1) still verifies, read-only and after the upgrade that
/// adds the details table; new events are format 2; and a bundle withholds details only where
/// the format allows it.
final class LegacyFormatTests: XCTestCase {
    var f: Fixture!
    var legacy: String!

    override func setUpWithError() throws {
        f = try Fixture()
        try f.appendContacts(4)  // seq 10...13, with narrative details
        legacy = f.dir.appendingPathComponent("legacy.sqlite").path
        try writeLegacyCopy()
    }

    /// Rewrites the fixture's events as format 1 (details inline, re-signed by the same keys,
    /// re-chained) into a new file of format 3: what safeguard wrote before format 2.
    func writeLegacyCopy() throws {
        let keys = Dictionary(uniqueKeysWithValues: [f.root, f.police, f.csc].map { ($0.publicKey.keyID, $0) })
        let q = try DatabaseQueue(path: legacy)
        try q.writeWithoutTransaction { try $0.execute(sql: "PRAGMA application_id = \(Schema.applicationID)") }
        try Schema.migrator.migrate(q, upTo: "v3")
        var prev = Entry.zeroHash
        try f.ledger.forEach { row in
            var e = try Envelope(json: JSONParser.parse(row.envelope, mode: .canonical))
            e.format = 1
            e.details = .inline(try XCTUnwrap(row.details).open())
            e.prevHash = prev
            let entry = try Entry(signing: e, with: try XCTUnwrap(keys[e.actor.keyID]))
            try q.write { db in
                try Fixture.insertRaw(StoredEntry(e, entry: entry, details: nil), db)
                try TreeStore.addLeaf(db, index: e.seq, hash: entry.entryHash)
            }
            prev = entry.entryHash
        }
        try q.read { XCTAssertEqual(try Int.fetchOne($0, sql: "PRAGMA user_version"), 3) }
    }

    func testAFormatOneLedgerVerifiesBeforeAndAfterTheUpgradeAndGrowsInFormatTwo() throws {
        // Read-only: no details table, no records, details inside the envelopes.
        let readOnly = try Ledger.open(at: legacy, readOnly: true)
        let before = try readOnly.verify(trustAnchor: f.root.publicKey)
        XCTAssertEqual(before.events, 14)
        let contact = try XCTUnwrap(try readOnly.entry(seq: 13))
        XCTAssertNil(contact.details)
        XCTAssertTrue(String(decoding: contact.envelope, as: UTF8.self).contains(#""details":{"narrative":"synthetic note"}"#))

        // Opened for writing: upgraded to format 5, still valid, and new events are format 2.
        let l = try Ledger.open(at: legacy, readOnly: false)
        try DatabaseQueue(path: legacy).read { XCTAssertEqual(try Int.fetchOne($0, sql: "PRAGMA user_version"), 5) }
        XCTAssertEqual(try l.verify(trustAnchor: f.root.publicKey).headHash, before.headHash)
        try l.append([f.contact("C-1000", narrative: "a later synthetic note"), f.openCase("N-0001")], signer: f.police, clock: f.clock, newID: f.newID)
        let after = try l.verify(trustAnchor: f.root.publicKey)
        XCTAssertEqual(after.events, 16)
        let added = try XCTUnwrap(try l.entry(seq: 14))
        XCTAssertTrue(String(decoding: added.envelope, as: UTF8.self).contains(#""format":2"#))
        XCTAssertEqual(try XCTUnwrap(added.details).open(), ["narrative": "a later synthetic note"])

        // Evidence: a case with format 1 records cannot have its details withheld; with them it checks.
        let logKey = Fixture.key(42)
        try l.append([GovernanceDrafts.logKey(logKey.publicKey, at: Fixture.start)], signer: f.root, clock: f.clock, newID: f.newID)
        let checkpoint = try CheckpointSigner.sign(l, key: logKey, statePath: f.dir.appendingPathComponent("legacy-cp.state").path,
                                                   trustAnchor: f.root.publicKey, at: Fixture.start).checkpoint
        XCTAssertThrowsError(try l.evidence(caseID: "C-1000", size: checkpoint.size, withDetails: false)) { error in
            XCTAssertTrue("\(error)".contains("envelope format 1") && "\(error)".contains("cannot be withheld"), "\(error)")
        }
        let mixed = try l.evidence(caseID: "C-1000", size: checkpoint.size)
        let checked = try EvidenceBundle.check(mixed, checkpoint: checkpoint, root: f.root.publicKey)
        XCTAssertEqual(checked.details.keys.sorted(), [14], "only the format 2 record has a separate details record")
        XCTAssertEqual(checked.withheld, 0)
        // A case recorded after the upgrade can: its records are format 2 (the governance records stay as signed).
        let factsOnly = try l.evidence(caseID: "N-0001", size: checkpoint.size, withDetails: false)
        XCTAssertTrue(factsOnly.allSatisfy { $0.details == nil })
        let withheld = try EvidenceBundle.check(factsOnly, checkpoint: checkpoint, root: f.root.publicKey)
        XCTAssertEqual(withheld.withheld, 1)
        XCTAssertEqual(withheld.events.map(\.type), ["case.opened"])
        // A details record beside a format 1 record is refused, in the bundle and in the file.
        var forged = mixed
        let i = try XCTUnwrap(forged.firstIndex { $0.seq == 13 })
        forged[i] = EvidenceBundle.Item(seq: 13, entry: forged[i].entry, proof: forged[i].proof, details: try SealedDetails(["narrative": "synthetic note"]))
        XCTAssertThrowsError(try EvidenceBundle.check(forged, checkpoint: checkpoint, root: f.root.publicKey)) {
            XCTAssertTrue("\($0)".contains("format 1"), "\($0)")
        }
        try Tamper.asInsider(legacy) { db in
            try db.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (13, zeroblob(32), X'7b7d')")
        }
        XCTAssertThrowsError(try Ledger.open(at: legacy, readOnly: true).verify(trustAnchor: f.root.publicKey)) { error in
            let failure = error as? VerificationFailure
            XCTAssertEqual(failure?.seq, 13)
            XCTAssertEqual(failure?.code, "details_mismatch")
        }
    }

    /// Once an event of format 2 is in the log, a later one of format 1 (details signed in, so
    /// never withheld) is refused, by a full verification and by an incremental one alike.
    func testFormatsNeverGoDown() throws {
        let l = try Ledger.open(at: legacy, readOnly: false)
        try l.append([f.contact("C-1000")], signer: f.police, clock: f.clock, newID: f.newID)
        let head = try XCTUnwrap(try l.head())
        let root = try l.treeRoot().root
        var e = try Envelope(json: JSONParser.parse(try XCTUnwrap(try l.entry(seq: 13)).envelope, mode: .canonical))
        e.seq = head.lastSeq + 1
        e.eventID = f.newID()
        e.prevHash = head.hash
        let entry = try Entry(signing: e, with: e.actor.keyID == f.police.publicKey.keyID ? f.police : f.csc)
        try DatabaseQueue(path: legacy).writeWithoutTransaction { db in
            try Fixture.insertRaw(StoredEntry(e, entry: entry, details: nil), db)
            try TreeStore.addLeaf(db, index: e.seq, hash: entry.entryHash)
        }
        XCTAssertThrowsError(try l.verify(trustAnchor: f.root.publicKey)) { error in
            XCTAssertEqual((error as? VerificationFailure)?.reason, .rule(.formatDowngrade(format: 1, previous: 2)), "\(error)")
            XCTAssertEqual((error as? VerificationFailure)?.seq, e.seq)
        }
        XCTAssertThrowsError(try l.verify(from: .checkpoint(size: head.size, root: root), trustAnchor: f.root.publicKey)) { error in
            XCTAssertEqual((error as? VerificationFailure)?.reason, .rule(.formatDowngrade(format: 1, previous: 2)), "\(error)")
        }
    }
}
