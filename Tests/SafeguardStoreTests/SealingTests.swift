import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardStore

/// Sealed details (docs/FORMAT.md §3.5) on a real ledger file: a policy that seals, case keys
/// wrapped for the entitled agencies, entitlement by sharing, and what verify catches.
final class SealingTests: XCTestCase {
    /// Agency keys: police, csc and the rest of the toolkit policy's agencies.
    static let agencyKeys: [String: SigningKey] = Dictionary(uniqueKeysWithValues:
        ["csc", "education", "health", "mash", "partnership", "police", "voluntary"].enumerated().map { ($1, Fixture.key(UInt8(100 + $0))) })

    static func sealingPolicy(everyCase: [String] = ["csc", "police"], version: Int64 = 4) -> JSONValue {
        guard case .object(var o) = ToolkitPolicy.sealed(ToolkitPolicy.document, agencyKeys: agencyKeys.mapValues(\.publicKey), everyCase: everyCase) else { fatalError() }
        o["version"] = .integer(version)
        return .object(o)
    }

    func share(_ caseID: String, to agency: String) -> EventDraft {
        EventDraft(type: "sharing.shared", caseID: caseID, occurredAt: Fixture.start, facts: [
            "to_agency": .string(agency), "scope": ["summary"], "purpose": "strategy_discussion", "lawful_basis": "uk_gdpr_6_1_e_public_task",
            "consent_sought": false, "consent_not_sought_reason": "risk_of_harm_to_child", "subject_informed": true,
            "necessary_and_proportionate": true, "identities_protected": true, "channel": "secure_email",
        ], details: ["narrative": "synthetic: what was shared"])
    }

    /// A copy of `f`'s ledger named `name`, changed by `change` (which says at which seq it
    /// wrote), must fail verification there with `code`.
    func assertCopyFails(_ f: Fixture, _ name: String, code: String, file: StaticString = #filePath, line: UInt = #line,
                         _ change: (String) throws -> Int64) throws {
        let copy = f.dir.appendingPathComponent("\(name).sqlite").path
        try f.ledger.db.writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        let seq = try change(copy)
        do {
            _ = try Ledger.open(at: copy, readOnly: true).verify(trustAnchor: f.root.publicKey)
            XCTFail("\(name): verified", file: file, line: line)
        } catch let failure as VerificationFailure {
            XCTAssertEqual(failure.seq, seq, name, file: file, line: line)
            XCTAssertEqual(failure.code, code, "\(name): \(failure.description)", file: file, line: line)
        }
    }

    /// The fixture's ledger with `enrolled` keys (key, agency, role, name) and then `policy`.
    func sealedFixture(enrolling enrolled: [(key: SigningKey, agency: String, role: String, name: String)] = [],
                       policy: JSONValue = SealingTests.sealingPolicy()) throws -> Fixture {
        let f = try Fixture()
        try f.ledger.append(enrolled.map { GovernanceDrafts.enrolment(of: $0.key.publicKey, agency: $0.agency, role: $0.role, practitioner: $0.name, at: Fixture.start) }
                            + [GovernanceDrafts.policy(document: policy, at: Fixture.start)], signer: f.root, clock: f.clock, newID: f.newID)
        return f
    }

    func testSealedDetailsOpenOnlyForEntitledAgenciesAndVerifyCatchesTampering() throws {
        let health = Fixture.key(4)
        let f = try sealedFixture(enrolling: [(health, "health", "practitioner", "Nurse 0003")])
        let policeRing = CaseKeyring(agencyKey: Self.agencyKeys["police"])
        // A new case: opened by health, which needs no key to open it.
        try f.ledger.append([f.openCase("S-0001")], signer: health, clock: f.clock, newID: f.newID)
        // police (every case) records on it; its details are sealed in the file.
        let written = try f.ledger.append([f.contact("S-0001", narrative: "synthetic sealed narrative")], signers: [f.police], clock: f.clock,
                                          newID: f.newID, keyring: policeRing)
        let row = try XCTUnwrap(written.first)
        XCTAssertEqual(row.details?.isSealed, true)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: f.path)) + ((try? Data(contentsOf: URL(fileURLWithPath: f.path + "-wal"))) ?? Data())
        XCTAssertNil(bytes.range(of: Data("synthetic sealed narrative".utf8)), "the narrative is in the file in the clear")
        // The wrapped keys: the two every-case agencies and the opener.
        let wrapped = try f.ledger.db.read { try String.fetchAll($0, sql: "SELECT agency FROM case_keys WHERE case_id = 'S-0001' ORDER BY agency") }
        XCTAssertEqual(wrapped, ["csc", "health", "police"])
        // Each entitled agency opens it; education (not entitled) holds no key and opens nothing.
        for agency in ["police", "csc", "health"] {
            let opened = try f.ledger.openDetails(written, agencyKey: Self.agencyKeys[agency]!)
            XCTAssertEqual(opened[row.seq]?["narrative"]?.stringValue, "synthetic sealed narrative", agency)
        }
        XCTAssertTrue(try f.ledger.openDetails(written, agencyKey: Self.agencyKeys["education"]!).isEmpty)
        // An education practitioner is refused: not entitled.
        let teacher = Fixture.key(5)
        try f.ledger.append([GovernanceDrafts.enrolment(of: teacher.publicKey, agency: "education", role: "practitioner", practitioner: "DSL 0004",
                                                        at: Fixture.start)], signer: f.root, clock: f.clock, newID: f.newID)
        XCTAssertThrowsError(try f.ledger.append([f.contact("S-0001")], signers: [teacher], clock: f.clock, newID: f.newID,
                                                 keyring: CaseKeyring(agencyKey: Self.agencyKeys["education"]))) { e in
            XCTAssertTrue("\(e)".contains("education is not entitled to case S-0001"), "\(e)")
        }
        // Once csc shares the case with education, education reads and records.
        try f.ledger.append([share("S-0001", to: "education")], signers: [f.csc], clock: f.clock, newID: f.newID,
                            keyring: CaseKeyring(agencyKey: Self.agencyKeys["csc"]))
        XCTAssertEqual(try f.ledger.openDetails(written, agencyKey: Self.agencyKeys["education"]!)[row.seq]?["narrative"]?.stringValue,
                       "synthetic sealed narrative")
        try f.ledger.append([f.contact("S-0001")], signers: [teacher], clock: f.clock, newID: f.newID,
                            keyring: CaseKeyring(agencyKey: Self.agencyKeys["education"]))
        XCTAssertNil(try f.verify())
        // A changed byte of the ciphertext breaks the digest: verify fails at that event.
        try assertCopyFails(f, "tampered", code: "details_mismatch") { copy in
            try Tamper.asInsider(copy) { db in
                var body = try XCTUnwrap(try Data.fetchOne(db, sql: "SELECT body FROM details WHERE seq = ?", arguments: [row.seq]))
                body[40] ^= 0x01
                try db.execute(sql: "UPDATE details SET body = ? WHERE seq = ?", arguments: [body, row.seq])
            }
            return row.seq
        }
    }

    /// What append refuses, verify refuses, even when an enrolled practitioner writes it
    /// straight into the file: details in the clear under a policy that seals, and a record
    /// by an agency not entitled to the case (sealed under a key of its own making).
    func testVerifyRefusesWhatAppendWouldUnderSealing() throws {
        let teacher = Fixture.key(5)
        let f = try sealedFixture(enrolling: [(teacher, "education", "practitioner", "DSL 0004")])
        let contact: [String: JSONValue] = ["contact_type": "face_to_face", "indicators": ["A2"]]
        let cases: [(name: String, insider: Insider, key: CaseKey?, code: String)] = [
            ("clear", Insider(key: f.police, agency: "police", role: "practitioner", practitioner: "PC 0001"), nil, "details_mismatch"),
            ("unentitled", Insider(key: teacher, agency: "education", role: "practitioner", practitioner: "DSL 0004"), CaseKey.generate(), "not_entitled"),
        ]
        for c in cases {
            try assertCopyFails(f, c.name, code: c.code) { copy in
                try c.insider.insert(into: copy, type: "contact.recorded", caseID: "C-0001", facts: contact, details: ["narrative": "synthetic"],
                                     sealedWith: c.key).seq
            }
        }
        // The writer refuses the same two: a police record is sealed (never in the clear), and
        // education cannot record on a case it is not entitled to.
        let sealed = try f.ledger.append([f.contact("C-0001")], signers: [f.police], clock: f.clock, newID: f.newID,
                                         keyring: CaseKeyring(agencyKey: Self.agencyKeys["police"]))
        XCTAssertEqual(sealed.first?.details?.isSealed, true)
        XCTAssertThrowsError(try f.ledger.append([f.contact("C-0001")], signers: [teacher], clock: f.clock, newID: f.newID,
                                                 keyring: CaseKeyring(agencyKey: Self.agencyKeys["education"])))
        XCTAssertNil(try f.verify())
    }

    /// `access.consulted` (granted by a sealing policy): append and verify agree on its rule.
    func testAConsultationNamesRecordsOfItsOwnCaseOnly() throws {
        let f = try sealedFixture()
        let ring = CaseKeyring(agencyKey: Self.agencyKeys["police"])
        let own = try f.ledger.append([f.contact("C-0001")], signers: [f.police], clock: f.clock, newID: f.newID, keyring: ring)[0]
        let other = try f.ledger.append([f.contact("C-0002")], signers: [f.police], clock: f.clock, newID: f.newID, keyring: ring)[0]
        func consult(_ ids: [String]) -> EventDraft {
            EventDraft(type: "access.consulted", caseID: "C-0001", occurredAt: Fixture.start, facts: ["records": .array(ids.map { .string($0) }), "purpose": "case_work"])
        }
        XCTAssertThrowsError(try f.ledger.append([consult([own.eventID, other.eventID])], signers: [f.police], clock: f.clock, newID: f.newID, keyring: ring)) {
            XCTAssertTrue("\($0)".contains("an event of case C-0002"), "\($0)")
        }
        try f.ledger.append([consult([own.eventID])], signers: [f.police], clock: f.clock, newID: f.newID, keyring: ring)
        XCTAssertNil(try f.verify())
        // Written straight into the file by the practitioner, the refused one fails verify.
        try assertCopyFails(f, "consulted", code: "bad_reference") { copy in
            try Insider(key: f.police, agency: "police", role: "practitioner", practitioner: "PC 0001").insert(
                into: copy, type: "access.consulted", caseID: "C-0001", facts: ["records": .array([.string(other.eventID)]), "purpose": "case_work"],
                sealedWith: CaseKey.generate()).seq
        }
    }

    /// Erasure at the end of retention (docs/FORMAT.md §3.6): refused while the case is open,
    /// before the retention period has run, or under a legal hold; then the case's wrapped keys
    /// and details records are gone from the file and its WAL, and verify still passes.
    func testDestroyingACaseErasesItsKeyAndDetailsAndVerifyStillPasses() throws {
        let chair = Fixture.key(6)
        guard case .object(var doc) = Self.sealingPolicy() else { return XCTFail() }
        doc["retention"] = ["years_after_closure": 6]
        let f = try sealedFixture(enrolling: [(chair, "partnership", "mase_chair", "Chair 0005")], policy: .object(doc))
        let ring = CaseKeyring(agencyKey: Self.agencyKeys["police"])
        let opened = try f.ledger.append([f.openCase("S-0009"), f.contact("S-0009", narrative: "synthetic narrative to be erased")],
                                         signers: [f.police], clock: f.clock, newID: f.newID, keyring: ring)
        let kept = try f.ledger.append([f.contact("C-0001", narrative: "synthetic narrative that stays")], signers: [f.police], clock: f.clock,
                                       newID: f.newID, keyring: ring)[0]
        let (cipher, wrapped) = try f.ledger.db.read { db in
            (try Data.fetchOne(db, sql: "SELECT body FROM details WHERE seq = ?", arguments: [opened[1].seq])!,
             try Data.fetchAll(db, sql: "SELECT wrapped FROM case_keys WHERE case_id = 'S-0009'"))
        }
        XCTAssertEqual(wrapped.count, 2)
        var at = Timestamp(rfc3339: "2026-04-01T09:00:00Z")!
        let clock = { () -> Timestamp in at = Timestamp(seconds: at.seconds + 60); return at }
        func review(_ decision: String) -> EventDraft {
            EventDraft(type: "governance.retention_review", caseID: nil, occurredAt: at, facts: ["case_ref": "S-0009", "decision": .string(decision)])
        }
        func hold(_ action: String) -> EventDraft {
            EventDraft(type: "governance.legal_hold", caseID: nil, occurredAt: at, facts: ["action": .string(action), "scope": "case", "case_ref": "S-0009", "reason": "inquiry"])
        }
        func refused(_ draft: EventDraft, _ says: String, line: UInt = #line) {
            XCTAssertThrowsError(try f.ledger.append([draft], signers: [chair], clock: clock, newID: f.newID), line: line) {
                XCTAssertTrue("\($0)".contains(says), "\($0)", line: line)
            }
        }
        refused(review("destroyed"), "is open")
        try f.ledger.append([EventDraft(type: "case.closed", caseID: "S-0009", occurredAt: at, facts: ["reason": "risk_reduced"])], signers: [f.police],
                            clock: clock, newID: f.newID, keyring: ring)
        refused(review("destroyed"), "keeps its records 6 years")
        at = Timestamp(rfc3339: "2032-05-01T09:00:00Z")!
        try f.ledger.append([hold("placed")], signers: [chair], clock: clock, newID: f.newID)
        refused(review("destroyed"), "a legal hold is in force on case S-0009")
        // Deleting details by hand is refused by the file's trigger while nothing destroyed them.
        XCTAssertThrowsError(try f.ledger.db.write { try $0.execute(sql: "DELETE FROM details WHERE seq = ?", arguments: [opened[1].seq]) })
        try f.ledger.append([hold("lifted"), review("destroyed")], signers: [chair], clock: clock, newID: f.newID)
        let left = try f.ledger.db.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM case_keys WHERE case_id = 'S-0009'")!,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM details JOIN events USING (seq) WHERE case_id = 'S-0009'")!,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM details WHERE seq = ?", arguments: [kept.seq])!)
        }
        XCTAssertEqual(left.0, 0)
        XCTAssertEqual(left.1, 0)
        XCTAssertEqual(left.2, 1, "another case's details stay")
        XCTAssertNil(try f.verify())
        var bytes = try Data(contentsOf: URL(fileURLWithPath: f.path))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: f.path + "-wal")) { bytes += wal }
        XCTAssertNil(bytes.range(of: cipher.subdata(in: 30..<70)), "the ciphertext is still in the file or its WAL")
        for w in wrapped { XCTAssertNil(bytes.range(of: w.subdata(in: 10..<50)), "a wrapped key is still in the file or its WAL") }
        // An insider deleting another case's details record (past the trigger) is caught.
        try assertCopyFails(f, "deleted", code: "details_mismatch") { copy in
            try Tamper.asInsider(copy) { try $0.execute(sql: "DELETE FROM details WHERE seq = ?", arguments: [kept.seq]) }
            return kept.seq
        }
    }
}
