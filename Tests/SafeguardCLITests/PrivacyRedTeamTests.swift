import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

/// What a cold red-team round found in sealed details (issue 18), each kept as a test through
/// the built executable: F1 a case key planted in the unsigned `case_keys` table, F2 altered
/// details shown without their digest checked, F5 wrapped keys deleted without a review, F6 a
/// reading recorded before the agency key was checked, F8 a transferred case locked out.
/// (F3, a backdated closing shortening retention, and F4, one lift lifting every hold, are in
/// PrivacyTests.testErasureAtTheEndOfRetentionKeepsEveryFigureAndProof.)
final class PrivacyRedTeamTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeSealedLedger()
        let r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(PrivacyTests.opened.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func agencyKey(_ agency: String) -> String { cli.path("agency-keys/\(agency).key") }

    /// Rows an insider with the file and an enrolled key (the teacher's, not entitled to the
    /// case) can write: a key of their own choosing, wrapped by their key for every agency's
    /// public key from the signed policy.
    func plant(_ caseID: String, key: CaseKey) throws {
        let agencies = ["csc", "education", "health", "mash", "partnership", "police", "voluntary"]
        let writer = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("teacher.key")))), passphrase: { nil })
        var shared: [String: [UInt8]] = [:]
        try DatabaseQueue(path: cli.ledger).write { db in
            try db.execute(sql: "DELETE FROM case_keys WHERE case_id = ?", arguments: [caseID])
            for a in agencies {
                let text = try String(contentsOfFile: agencyKey(a) + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                let pub = try XCTUnwrap(PublicKey(base64: text), text)
                try db.execute(sql: "INSERT INTO case_keys (case_id, agency, wrapped, wrapped_by) VALUES (?, ?, ?, ?)",
                               arguments: [caseID, a, Data(try XCTUnwrap(key.wrap(for: pub, by: writer, caseID: caseID, shared: &shared))), writer.publicKey.keyID])
            }
        }
    }

    static let contact = PrivacyTests.contact.replacingOccurrences(of: "synthetic-sealed-school-note", with: "synthetic informant")

    func testF1APlantedCaseKeyIsRefusedAndRowsForAnUnusedCaseAreReplaced() throws {
        let evil = CaseKey.generate()
        try plant("C-2026-0001", key: evil)
        let head = try cli.head()
        var r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(Self.contact.utf8))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("does not open its first sealed record"), r.stderr)
        XCTAssertEqual(try cli.head(), head)
        // A case id not used yet: the planted rows are replaced when it is opened.
        try plant("C-2026-0004", key: evil)
        let opened = PrivacyTests.opened.replacingOccurrences(of: "C-2026-0001", with: "C-2026-0004")
        r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(opened.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        let (eventID, body) = try DatabaseQueue(path: cli.ledger).read { db in
            let row = try XCTUnwrap(try Row.fetchOne(db, sql: "SELECT e.event_id, d.body FROM events e JOIN details d USING (seq) WHERE e.case_id = 'C-2026-0004'"))
            return (row[0] as String, [UInt8](row[1] as Data))
        }
        XCTAssertNil(evil.open(body, eventID: eventID, caseID: "C-2026-0004"), "the new case's record is sealed under the planted key")
    }

    func testF2AlteredDetailsAreNamedNotShownAndNoReadingIsRecorded() throws {
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub")).status, 0)
        try Tamper.asInsider(cli.ledger) { db in
            var body = try XCTUnwrap(try Data.fetchOne(db, sql: "SELECT body FROM details ORDER BY seq DESC LIMIT 1"))
            body[30] ^= 1
            try db.execute(sql: "UPDATE details SET body = ? WHERE seq = (SELECT MAX(seq) FROM details)", arguments: [body])
        }
        let head = try cli.head()
        let r = try cli.run("case", "show", "C-2026-0001", "--details", "--purpose", "case-work", "--reader-key", cli.path("police.key"), "--agency-key", agencyKey("police"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("is not the one its signed event commits to"), r.stderr)
        XCTAssertFalse(r.stdout.contains("synthetic-sealed"))
        XCTAssertEqual(try cli.head(), head)
    }

    func testF5DeletedWrappedKeysAreAProblemAndNoNewKeyIsMade() throws {
        try DatabaseQueue(path: cli.ledger).write { try $0.execute(sql: "DELETE FROM case_keys") }
        let head = try cli.head()
        var r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(Self.contact.utf8))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("the file holds no key for them"), r.stderr)
        XCTAssertEqual(try cli.head(), head)
        XCTAssertEqual(try DatabaseQueue(path: cli.ledger).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM case_keys") }, 0)
        r = try cli.run("doctor")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("have no wrapped key in the file"), r.stdout)
    }

    func testF6AWrongAgencyKeyIsRefusedBeforeAnythingIsRecorded() throws {
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub")).status, 0)
        let head = try cli.head()
        for key in [cli.path("police.key"), agencyKey("csc")] {
            let r = try cli.run("case", "show", "C-2026-0001", "--details", "--purpose", "case-work", "--reader-key", cli.path("police.key"), "--agency-key", key)
            XCTAssertEqual(r.status, 3, r.stderr)
            XCTAssertTrue(r.stderr.contains("nothing was recorded or opened") || r.stderr.contains("not police's key"), r.stderr)
            XCTAssertEqual(try cli.head(), head, key)
        }
    }

    func testF8ATransferredCaseCanBeRecordedOnByItsNewAgency() throws {
        var r = try cli.run("record", "case-transfer", "--case", "C-2026-0001", "--to", "education", "--reason", "lead-changed", "--key", cli.path("police.key"),
                            "--agency-key", agencyKey("police"))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run(["append", "--key", cli.path("teacher.key"), "--agency-key", agencyKey("education")], stdin: Data(Self.contact.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try cli.run("verify", "--trust-file", cli.path("root.key.pub")).status, 0)
    }
}
