import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import XCTest

@testable import SafeguardStore

/// The file itself: its identity, version, journal mode and append-only schema.
final class LedgerFileTests: XCTestCase {
    func testFileRecordsItsIdentityAndFormatAndUsesWAL() throws {
        let f = try Fixture()
        let q = try DatabaseQueue(path: f.path)
        try q.read { db in
            XCTAssertEqual(try Int32.fetchOne(db, sql: "PRAGMA application_id"), Schema.applicationID)
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA user_version"), 5)
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
            let triggers = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            XCTAssertEqual(triggers, Schema.triggers.sorted())
        }
    }

    /// docs/FORMAT.md §10 gives the file's whole schema, which every verification requires
    /// exactly: byte for byte as a real ledger file holds it, and as `Schema.expected` has it
    /// for every format version (each object marked with the format that added it).
    func testTheDocumentedSchemaIsTheFileOne() throws {
        let doc = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/FORMAT.md"), encoding: .utf8)
        let begin = "<!-- schema:begin -->\n```sql\n", end = "\n```\n<!-- schema:end -->"
        guard let b = doc.range(of: begin), let e = doc.range(of: end, range: b.upperBound..<doc.endIndex) else {
            return XCTFail("docs/FORMAT.md has no schema block")
        }
        // "-- format N[ (removed in M)]: TYPE NAME on TABLE[, made by SQLite itself (no statement)]\nSTATEMENT;"
        var documented: [(since: Int, until: Int, object: Schema.Object)] = []
        for part in doc[b.upperBound..<e.lowerBound].components(separatedBy: "\n\n") {
            let lines = part.split(separator: "\n", maxSplits: 1).map(String.init)
            let head = try XCTUnwrap(lines.first?.firstMatch(of: /^-- format (\d)(?: \(removed in (\d)\))?: (\w+) (\w+) on (\w+)(, made by SQLite itself \(no statement\))?$/), part)
            let sql = lines.count > 1 ? String(lines[1].dropLast()) : nil
            XCTAssertEqual(sql == nil, head.6 != nil, part)
            documented.append((Int(head.1)!, head.2.map { Int($0)! } ?? Int.max,
                               Schema.Object(type: String(head.3), name: String(head.4), table: String(head.5), sql: sql)))
        }
        let f = try Fixture()
        let stored = try DatabaseQueue(path: f.path).read { db in try Schema.objectsOf(db) }
        XCTAssertEqual(documented.filter { $0.until > Schema.formatVersion }.map(\.object), stored, "the documented schema, in order, is a real file's")
        for version in 1...Schema.formatVersion {
            XCTAssertEqual(Set(documented.filter { $0.since <= version && version < $0.until }.map(\.object)), Schema.expected(version: version), "format \(version)")
        }
        XCTAssertEqual(try DatabaseQueue(path: f.path).read { db in try Schema.differences(db, version: Schema.formatVersion) }, [])
    }

    func testNewerFormatIsRefused() throws {
        let f = try Fixture()
        try DatabaseQueue(path: f.path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = 6") }
        XCTAssertThrowsError(try Ledger.open(at: f.path, readOnly: true)) { error in
            XCTAssertEqual(error as? LedgerError, .newerFormat(path: f.path, found: 6, supported: 5))
            XCTAssertTrue("\(error)".contains("upgrade safeguard"))
        }
    }

    /// The stored tree gives the same roots and proofs as a tree built in memory from the
    /// entry hashes, at every size; a format-1 file gets its tree when opened for writing.
    func testTheStoredMerkleTreeMatchesTheEntries() throws {
        let f = try Fixture()
        for i in 0..<40 {
            let d = EventDraft(type: "contact.recorded", caseID: "C-0001", occurredAt: Fixture.start, facts: ["contact_type": "phone"])
            try f.ledger.append([d], signer: f.police, clock: f.clock, newID: { "00000000-0000-4000-8000-1000000000" + String(format: "%02d", i) })
        }
        var memory = InMemoryTree()
        try f.ledger.forEach { memory.append($0.entryHash) }
        let n = memory.size
        XCTAssertGreaterThan(n, 40)
        for size in 0...n {
            XCTAssertEqual(try f.ledger.treeRoot(size: size).root, memory.root(size: size), "root at \(size)")
            for old in 0...size { XCTAssertEqual(try f.ledger.consistencyProof(old: old, new: size), memory.consistencyProof(old: old, new: size)) }
        }
        for seq in 0..<n { XCTAssertEqual(try f.ledger.inclusionProof(seq: seq, size: n), memory.inclusionProof(index: seq, size: n)) }
        XCTAssertThrowsError(try f.ledger.inclusionProof(seq: n, size: n))
        XCTAssertThrowsError(try f.ledger.treeRoot(size: n + 1))

        // Make it a format-1 file: no tree, version 1 (the details records are kept aside, as
        // this test is about the tree). Read-only, it says what to do; opened for writing, it
        // gets the same tree back.
        try DatabaseQueue(path: f.path).writeWithoutTransaction { db in
            try db.execute(sql: "DROP TABLE tree_nodes")
            try db.execute(sql: "DROP TABLE checkpoints")
            try db.execute(sql: "ALTER TABLE details RENAME TO kept_details")
            for t in ["details_append_only_update", "details_deleted_when_destroyed", "details_at_head"] { try db.execute(sql: "DROP TRIGGER \(t)") }
            try db.execute(sql: "DROP INDEX events_by_case_type")
            try db.execute(sql: "DROP TABLE case_keys")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier IN ('v2', 'v3', 'v4', 'v5')")
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        XCTAssertThrowsError(try Ledger.open(at: f.path, readOnly: true).treeRoot()) { XCTAssertTrue("\($0)".contains("predates the Merkle tree"), "\($0)") }
        let upgraded = try Ledger.open(at: f.path, readOnly: false)
        XCTAssertEqual(try upgraded.treeRoot().root, memory.root())
        try DatabaseQueue(path: f.path).read { XCTAssertEqual(try Int.fetchOne($0, sql: "PRAGMA user_version"), 5) }
        // The tree's rows cannot be changed or removed.
        XCTAssertThrowsError(try DatabaseQueue(path: f.path).write { try $0.execute(sql: "DELETE FROM tree_nodes") })
        XCTAssertThrowsError(try DatabaseQueue(path: f.path).write { try $0.execute(sql: "UPDATE tree_nodes SET hash = zeroblob(32)") })
    }

    func testVersionZeroIsNotALedger() throws {
        let f = try Fixture()
        try DatabaseQueue(path: f.path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = 0") }
        XCTAssertThrowsError(try Ledger.open(at: f.path, readOnly: true)) { XCTAssertEqual($0 as? LedgerError, .notALedger(path: f.path)) }
    }

    func testAppendRefusesWhatVerificationWouldReject() throws {
        // Library callers can build drafts the CLI parser would never produce.
        let f = try Fixture()
        let before = try f.ledger.head()
        // Facts the catalogue accepts, with what only the envelope rules catch.
        let withNull = EventDraft(type: "contact.recorded", caseID: "C-0001", occurredAt: Fixture.start, facts: ["contact_type": "phone"], details: ["x": .null])
        let early = EventDraft(type: "contact.recorded", caseID: "C-0001", occurredAt: Timestamp(seconds: Timestamp.minimum.seconds - 1), facts: ["contact_type": "phone"])
        for draft in [withNull, early] {
            XCTAssertThrowsError(try f.ledger.append([draft], signer: f.police, clock: f.clock, newID: f.newID)) {
                guard case LedgerError.invalidEvent(let why, 0) = $0 else { return XCTFail("\($0)") }
                XCTAssertTrue(why.contains("would not verify"), why)
            }
        }
        XCTAssertEqual(try f.ledger.head(), before)
        XCTAssertNil(try f.verify())
    }

    func testAPolicyTheCatalogueCannotReadIsRefused() throws {
        let f = try Fixture()
        var doc = ToolkitPolicy.document.objectValue!
        doc.removeValue(forKey: "bank_holidays")
        XCTAssertThrowsError(try f.ledger.append([GovernanceDrafts.policy(document: .object(doc), at: Fixture.start)], signer: f.root,
                                                 clock: f.clock, newID: f.newID)) {
            guard case LedgerError.invalidFacts(let e, 0) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(e.field, "facts.policy")
        }
        // A readable new version is accepted, and records go on under it.
        doc = ToolkitPolicy.document.objectValue!
        doc["version"] = 2
        try f.ledger.append([GovernanceDrafts.policy(document: .object(doc), at: Fixture.start)], signer: f.root, clock: f.clock, newID: f.newID)
        try f.ledger.append([f.contact()], signer: f.police, clock: f.clock, newID: f.newID)
        XCTAssertEqual(try f.ledger.policyDocument().version, 2)
        XCTAssertNil(try f.verify())
    }

    func testOtherFilesAreNotLedgers() throws {
        let f = try Fixture()
        let text = f.dir.appendingPathComponent("notes.txt").path
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: text))
        let other = f.dir.appendingPathComponent("other.sqlite").path
        try DatabaseQueue(path: other).write { try $0.execute(sql: "CREATE TABLE t (x)") }
        for path in [text, other, f.dir.path] {
            XCTAssertThrowsError(try Ledger.open(at: path, readOnly: true), path) { error in
                XCTAssertEqual(error as? LedgerError, .notALedger(path: path))
            }
        }
        XCTAssertThrowsError(try Ledger.open(at: f.dir.appendingPathComponent("nope").path, readOnly: true)) {
            guard case LedgerError.notFound = $0 else { return XCTFail("\($0)") }
        }
    }

    func testRefusedBatchLeavesNothingBehind() throws {
        let f = try Fixture()
        let before = try f.ledger.head()
        let bad = EventDraft(type: "referral.mase", caseID: "C-1", occurredAt: Fixture.start, facts: [:])
        XCTAssertThrowsError(try f.ledger.append([f.contact(), f.contact(), bad], signer: f.police, clock: f.clock, newID: f.newID)) {
            guard case LedgerError.rejected(.notPermitted, let index) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(index, 2)
        }
        XCTAssertEqual(try f.ledger.head(), before)
    }

    func testAppendBuildsOnTheHeadAndReturnsWhatItWrote() throws {
        let f = try Fixture()
        let written = try f.ledger.append([f.contact(), f.contact("C-0002")], signer: f.csc, clock: f.clock, newID: f.newID)
        XCTAssertEqual(written.map(\.seq), [10, 11])
        XCTAssertEqual(written[1].prevHash, written[0].entryHash)
        let head = try XCTUnwrap(try f.ledger.head())
        XCTAssertEqual(head.size, 12)
        XCTAssertEqual(head.hash, written[1].entryHash)
        let envelope = try Envelope(json: JSONParser.parse(written[0].envelope, mode: .canonical))
        XCTAssertEqual(envelope.actor, Actor(agency: "csc", role: "practitioner", practitioner: "SW 0002", keyID: f.csc.publicKey.keyID))
        var seen: [Int64] = []
        try f.ledger.forEach(Ledger.Filter(caseID: "C-0002")) { seen.append($0.seq) }
        XCTAssertEqual(seen, [5, 11])
        seen = []
        try f.ledger.forEach(Ledger.Filter(type: "governance.*", limit: 3)) { seen.append($0.seq) }
        XCTAssertEqual(seen, [0, 1, 2])
    }

    func testSafeguardingLeadEnrolsOnlyOwnAgencyPractitioners() throws {
        let f = try Fixture()
        let lead = Fixture.key(10), newPC = Fixture.key(11), outsider = Fixture.key(12)
        try f.ledger.append([GovernanceDrafts.enrolment(of: lead.publicKey, agency: "police", role: "safeguarding_lead", practitioner: "DS 0010", at: Fixture.start)],
                            signer: f.root, clock: f.clock, newID: f.newID)
        try f.ledger.append([GovernanceDrafts.enrolment(of: newPC.publicKey, agency: "police", role: "practitioner", practitioner: "PC 0011", at: Fixture.start)],
                            signer: lead, clock: f.clock, newID: f.newID)
        XCTAssertThrowsError(try f.ledger.append([GovernanceDrafts.enrolment(of: outsider.publicKey, agency: "csc", role: "practitioner", practitioner: "SW 0012", at: Fixture.start)],
                                                 signer: lead, clock: f.clock, newID: f.newID))
        XCTAssertThrowsError(try f.ledger.append([GovernanceDrafts.revocation(of: f.csc.publicKey.keyID, reason: "left_agency", at: Fixture.start)],
                                                 signer: lead, clock: f.clock, newID: f.newID))
        try f.ledger.append([GovernanceDrafts.revocation(of: newPC.publicKey.keyID, reason: "left_agency", at: Fixture.start)],
                            signer: lead, clock: f.clock, newID: f.newID)
        XCTAssertNil(try f.verify())
        XCTAssertEqual(try f.ledger.state().registry[newPC.publicKey.keyID]?.revokedAt, 12)
    }
}
