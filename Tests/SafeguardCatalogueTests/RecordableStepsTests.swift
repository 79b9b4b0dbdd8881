import SafeguardCatalogue
import SafeguardCore
import XCTest

/// Every next step the tool asks of an agency is one that agency may record under the policy
/// (an education lead told "Family CAF by …" can record the Family CAF), and every step names
/// event types the catalogue knows.
final class RecordableStepsTests: XCTestCase {
    func testEveryNextStepIsRecordableByTheAgencyAskedToDoIt() {
        let policy = PolicyDocument.toolkit
        var g = SyntheticPartnership(seed: 3, start: Timestamp(rfc3339: "2025-06-01T12:00:00Z")!, meanGapSeconds: 900)
        var cases: [String: [CaseEvent]] = [:]
        var partnership = PartnershipFacts()
        for n in 0..<40_000 {
            let item = g.next()
            let d = item.draft
            let e = CaseEvent(eventID: d.eventID ?? "e\(n)", type: d.type, occurredAt: d.occurredAt, facts: Facts(d.facts), agency: item.agency,
                              caseID: d.caseID, seq: Int64(n), recordedAt: item.recordedAt)
            partnership.add(e)
            if let c = d.caseID { cases[c, default: []].append(e) }
        }
        let agencies = policy.permissions.agencies.filter { $0 != "partnership" }
        var asked: [String: Int] = [:]
        for (id, events) in cases {
            let practice = CasePractice(id, events: events, partnership: partnership, policy: policy)
            for step in practice.nextSteps(today: nil) + practice.toolkitActions() {
                asked[step.rule, default: 0] += 1
                XCTAssertFalse(step.records.isEmpty, "\(step.rule) names nothing that records it")
                for t in step.records { XCTAssertNotNil(Catalogue.specs[t], "\(step.rule) names \(t), which the catalogue does not know") }
                if let by = step.by {
                    XCTAssertTrue(step.records.contains { policy.permissions.allows(agency: by, type: $0) },
                                  "\(step.rule) asks \(by) to record one of \(step.records), which the policy forbids it: \(step.sentence)")
                } else {
                    XCTAssertTrue(step.records.contains { t in agencies.contains { policy.permissions.allows(agency: $0, type: t) } }, "no agency may record \(step.rule)")
                }
            }
        }
        // Every rule with a step to take, and each of the toolkit's actions, arises in the synthetic partnership.
        let expected = ["R1", "R2", "R3", "R4", "R6", "R7", "R8", "R9", "R10", "R11", "R13", "R14", "R15",
                        "toolkit §6", "toolkit §8", "toolkit §8 low", "toolkit §8 medium", "toolkit §8 significant"]
        XCTAssertEqual(Set(asked.keys), Set(expected), "\(asked)")
    }

    /// The permissions the toolkit gives each family, reviewed against it (docs/CATALOGUE.md).
    func testThePermissionTableFollowsTheToolkit() {
        let p = PolicyDocument.toolkit.permissions
        for agency in ["police", "csc", "health", "education", "voluntary", "mash"] {
            // §5: professionals in any agency may call a network or professionals' meeting.
            XCTAssertTrue(p.allows(agency: agency, type: "meeting.network"), agency)
            XCTAssertTrue(p.allows(agency: agency, type: "referral.mash_written"), agency)
            XCTAssertTrue(p.allows(agency: agency, type: "acknowledgement.recorded"), agency)
        }
        for agency in ["police", "csc", "health", "education", "voluntary", "partnership"] {
            // §7: the owner of a MASE action records its progress and completion.
            XCTAssertTrue(p.allows(agency: agency, type: "action.completed"), agency)
            XCTAssertTrue(p.allows(agency: agency, type: "action.progressed"), agency)
        }
        for agency in ["csc", "health", "education", "voluntary"] {
            // Early help (a Family CAF) is led by whichever agency is best placed.
            XCTAssertTrue(p.allows(agency: agency, type: "decision.early_help"), agency)
        }
        // Only CSC refers to MASE, records S47 outcomes; only police and CSC (and MASH) record strategy outcomes.
        XCTAssertEqual(p.agencies.filter { p.allows(agency: $0, type: "referral.mase") }, ["csc"])
        XCTAssertEqual(p.agencies.filter { p.allows(agency: $0, type: "decision.s47") }, ["csc"])
        XCTAssertEqual(p.agencies.filter { p.allows(agency: $0, type: "decision.strategy") }, ["csc", "mash", "police"])
        // MASH decides, and tells the referrer of no further action.
        XCTAssertTrue(p.allows(agency: "mash", type: "decision.nfa"))
    }
}
