import Foundation
import SafeguardCore
import XCTest

@testable import SafeguardStore

/// A case's evidence bundle holds the governance records its rules rest on, and no others:
/// no enrolment of a practitioner who never touched the case.
final class EvidenceStoreTests: XCTestCase {
    func testABundleHoldsOnlyTheGovernanceItsRecordsRestOn() throws {
        let f = try Fixture()  // 0 genesis, 1 policy, 2 police enrolled, 3 csc enrolled, 4-9 cases opened by police
        // A police safeguarding lead (enrolled by root) enrols a second officer, who records on K-0001;
        // then the first officer's key is revoked, and csc records on K-0001 after that.
        let lead = Fixture.key(10), officer = Fixture.key(11), other = Fixture.key(12)
        try f.ledger.append([
            GovernanceDrafts.enrolment(of: lead.publicKey, agency: "police", role: "safeguarding_lead", practitioner: "DS 0010", at: Fixture.start),
            GovernanceDrafts.enrolment(of: other.publicKey, agency: "health", role: "practitioner", practitioner: "Nurse 0012", at: Fixture.start),
        ], signer: f.root, clock: f.clock, newID: f.newID)  // 10, 11
        try f.ledger.append([GovernanceDrafts.enrolment(of: officer.publicKey, agency: "police", role: "practitioner", practitioner: "PC 0011", at: Fixture.start)],
                            signer: lead, clock: f.clock, newID: f.newID)  // 12
        try f.ledger.append([f.contact("K-0001")], signer: officer, clock: f.clock, newID: f.newID)  // 13
        try f.ledger.append([GovernanceDrafts.revocation(of: f.police.publicKey.keyID, reason: "lost", at: Fixture.start)],
                            signer: f.root, clock: f.clock, newID: f.newID)  // 14
        try f.ledger.append([f.contact("C-0001")], signer: f.csc, clock: f.clock, newID: f.newID)  // 15, another case
        try f.ledger.append([f.contact("K-0001")], signer: f.csc, clock: f.clock, newID: f.newID)  // 16
        let checkpoint = try f.checkpoint(key: Fixture.key(42)).checkpoint

        let items = try f.ledger.evidence(caseID: "K-0001", size: checkpoint.size)
        // Genesis, policy; police (signed 9) with its revocation (14); csc (signed 16); the officer (13),
        // enrolled by the lead, enrolled by root. Not health's nurse (11), not case C-0001 (15).
        XCTAssertEqual(items.map(\.seq), [0, 1, 2, 3, 9, 10, 12, 13, 14, 16])
        let checked = try EvidenceBundle.check(items, checkpoint: checkpoint, root: f.root.publicKey)
        XCTAssertEqual(checked.events.map(\.seq), [9, 13, 16])
        XCTAssertEqual(checked.governance, 7)
        XCTAssertEqual(try EvidenceBundle.check(try f.ledger.evidence(caseID: "K-0001", size: checkpoint.size, withDetails: false),
                                                checkpoint: checkpoint, root: f.root.publicKey).withheld, 10)
        // Without the lead's enrolment, the officer's enrolment breaks the rules: it is needed.
        XCTAssertThrowsError(try EvidenceBundle.check(items.filter { $0.seq != 10 }, checkpoint: checkpoint, root: f.root.publicKey))
    }
}
