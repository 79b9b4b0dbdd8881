import SafeguardCatalogue
import SafeguardCore
import XCTest

/// An in-memory ledger view for validation tests.
final class MemoryContext: RecordingContext {
    var policy = PolicyDocument.toolkit
    var now = Timestamp(rfc3339: "2026-11-30T12:00:00Z")!
    var cases: [String: CaseStatus] = [:]
    var events: [String: EventSummary] = [:]
    func caseStatus(_ caseID: String) -> CaseStatus { cases[caseID] ?? .neverOpened }
    func event(_ eventID: String) -> EventSummary? { events[eventID] }
}

final class ValidationTests: XCTestCase {
    var ctx: MemoryContext!
    let when = Timestamp(rfc3339: "2026-11-30T09:00:00Z")!
    let missingID = "11111111-1111-4111-8111-111111111111"

    override func setUp() {
        ctx = MemoryContext()
        ctx.cases = ["C-1": .open, "C-2": .open, "C-9": .closed(at: Timestamp(rfc3339: "2026-10-01T00:00:00Z")!)]
        ctx.events = [missingID: EventSummary(type: "missing.started", caseID: "C-1", occurredAt: Timestamp(rfc3339: "2026-11-29T20:00:00Z")!)]
    }

    func draft(_ type: String, _ facts: [String: JSONValue], caseID: String? = "C-1", at: Timestamp? = nil) -> EventDraft {
        EventDraft(type: type, caseID: caseID, occurredAt: at ?? when, facts: facts)
    }

    func assertError(_ d: EventDraft, agency: String = "csc", field: String, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try Catalogue.validate(d, agency: agency, context: ctx)
            XCTFail("accepted", file: file, line: line)
        } catch {
            XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
            XCTAssertTrue(error.problem.contains(mentions), "\(error)", file: file, line: line)
        }
    }

    func screeningFacts(_ indicators: JSONValue, level: String, age: Int64 = 15) -> [String: JSONValue] {
        ["policy_version": 1, "indicators": indicators, "age_years": .integer(age), "learning_disability": false,
         "suggested_level": .string(level), "practitioner_level": .string(level)]
    }

    func testValidEventsOfEveryFamilyPass() throws {
        let ok: [EventDraft] = [
            draft("case.opened", ["birth_month": "2011-04", "gender": "female", "looked_after": false, "learning_disability": false, "borough": "SUTTON"], caseID: "C-new"),
            draft("contact.recorded", ["contact_type": "face_to_face", "indicators": ["A2", "A9"]]),
            draft("screening.cse_tool", screeningFacts([["code": "S1", "timing": "current"], ["code": "A2"]], level: "significant")),
            draft("referral.mash_telephone", ["immediate_risk": true]),
            draft("decision.strategy", ["format": "meeting", "outcome": "s47", "organised_complex_abuse": false]),
            draft("decision.nfa", ["reason": "no_cse_concerns", "referrer_told_verbally": true, "referrer_told_in_writing": true]),
            draft("sharing.shared", ["to_agency": "police", "scope": ["summary"], "purpose": "strategy_discussion", "lawful_basis": "uk_gdpr_6_1_e_public_task",
                                     "consent_sought": false, "consent_not_sought_reason": "risk_of_harm_to_child", "subject_informed": true,
                                     "necessary_and_proportionate": true, "identities_protected": true, "channel": "secure_email"]),
            draft("meeting.mase", ["meeting_ref": "MASE-2026-11", "attendees": ["police", "csc"], "cases_discussed": ["C-1", "C-2"]]),
            draft("missing.returned", ["missing_episode": .string(missingID), "how": "found_by_police"]),
            draft("disruption.recorded", ["tactic": "D11", "status": "in_progress"]),
            draft("link.recorded", ["link_kind": "other_case", "target": "C-2"]),
            draft("action.set", ["action_ref": "MASE-2026-11-A1", "owner_agency": "police", "due_date": "2026-12-14", "strand": "pursue"]),
            draft("escalation.raised", ["with_agency": "police", "about": "threshold_decision"]),
            draft("correction.recorded", ["corrects_event": .string(missingID), "kind": "correction", "reason": "wrong_details"]),
            draft("governance.legal_hold", ["action": "placed", "scope": "case", "case_ref": "C-1", "reason": "inquiry"], caseID: nil),
        ]
        for d in ok {
            XCTAssertNoThrow(try Catalogue.validate(d, agency: "csc", context: ctx), d.type)
        }
        XCTAssertEqual(Set(Catalogue.specs.keys).union(["governance.genesis", "governance.key_enrolled", "governance.key_revoked", "governance.policy_set"]),
                       EventType.all, "every event type has a catalogue entry")
    }

    func testPreciseErrors() {
        assertError(draft("contact.recorded", ["contact_type": "telepathy"]), field: "facts.contact_type", mentions: "face_to_face, phone")
        assertError(draft("contact.recorded", ["contact_type": "phone", "indicators": ["A20"]]), field: "facts.indicators[0]", mentions: "not an indicator code")
        assertError(draft("contact.recorded", [:]), field: "facts.contact_type", mentions: "is missing")
        assertError(draft("contact.recorded", ["contact_type": "phone", "name": "x"]), field: "facts.name", mentions: "details")
        assertError(draft("screening.cse_tool", screeningFacts([["code": "S1"]], level: "significant")), field: "facts.indicators[0].timing", mentions: "current (within the past 6 months) or prior")
        assertError(draft("screening.cse_tool", screeningFacts([["code": "A2"]], level: "low")), field: "facts.suggested_level", mentions: "must be medium")
        var old = screeningFacts([["code": "A2"]], level: "medium")
        old["policy_version"] = 7
        assertError(draft("screening.cse_tool", old), field: "facts.policy_version", mentions: "must be 1")
        assertError(draft("contact.recorded", ["contact_type": "phone"], caseID: "C-404"), field: "case_id", mentions: "never opened")
        assertError(draft("contact.recorded", ["contact_type": "phone"], caseID: "C-9"), field: "case_id", mentions: "was closed")
        assertError(draft("case.opened", ["birth_month": "2011-04", "gender": "female", "looked_after": false, "learning_disability": false, "borough": "X"]), field: "case_id", mentions: "already open")
        assertError(draft("correction.recorded", ["corrects_event": "22222222-2222-4222-8222-222222222222", "kind": "retraction", "reason": "duplicate"]), field: "facts.corrects_event", mentions: "points at no event")
        assertError(draft("missing.returned", ["missing_episode": .string(missingID), "how": "returned_self"], at: Timestamp(rfc3339: "2026-11-29T10:00:00Z")!),
                    field: "occurred_at", mentions: "before the episode")
        assertError(draft("missing.returned", ["missing_episode": .string(missingID), "how": "returned_self"], caseID: "C-2"), field: "facts.missing_episode", mentions: "case C-1")
        assertError(draft("contact.recorded", ["contact_type": "phone"], at: Timestamp(rfc3339: "2026-12-25T09:00:00Z")!), field: "occurred_at", mentions: "in the future")
        assertError(draft("decision.strategy", ["format": "meeting", "outcome": "s47"]), field: "facts.organised_complex_abuse", mentions: "is missing")
        assertError(draft("sharing.not_shared", ["requested_by_agency": "mars", "reason": "not_necessary"]), field: "facts.requested_by_agency", mentions: "police")
        assertError(draft("meeting.mase", ["meeting_ref": "M-1", "attendees": ["police"], "cases_discussed": ["C-2"]]), field: "facts.cases_discussed", mentions: "include this event's case")
        assertError(draft("disruption.recorded", ["tactic": "D30", "status": "done"]), field: "facts.tactic", mentions: "D29")
        assertError(draft("disruption.recorded", ["tactic": "D3", "status": "not_pursued"]), field: "facts.not_pursued_reason", mentions: "required when status is not_pursued")
        assertError(draft("link.recorded", ["link_kind": "other_case", "target": "C-1"]), field: "facts.target", mentions: "itself")
        assertError(draft("action.set", ["action_ref": "A", "owner_agency": "police", "due_date": "2026-02-30", "strand": "pursue"]), field: "facts.due_date", mentions: "real date")
        assertError(draft("contact.recorded", ["contact_type": "phone", "indicators": ["A2", "A2"]]), field: "facts.indicators", mentions: "twice")
    }

    func testSharingRecordsConsentOrWhyNot() {
        var f: [String: JSONValue] = ["to_agency": "police", "scope": ["summary"], "purpose": "strategy_discussion", "lawful_basis": "uk_gdpr_6_1_e_public_task",
                                      "consent_sought": false, "subject_informed": false, "necessary_and_proportionate": true,
                                      "identities_protected": true, "channel": "phone"]
        assertError(draft("sharing.shared", f), field: "facts.consent_not_sought_reason", mentions: "required when consent was not sought")
        f["consent_not_sought_reason"] = "would_prejudice_investigation"
        assertError(draft("sharing.shared", f), field: "facts.subject_not_informed_reason", mentions: "required")
        f["subject_not_informed_reason"] = "would_prejudice_investigation"
        XCTAssertNoThrow(try Catalogue.validate(draft("sharing.shared", f), agency: "csc", context: ctx))
        f["consent_sought"] = true
        assertError(draft("sharing.shared", f), field: "facts.consent_given", mentions: "was it given")
    }

    func testOnlyPoliceRecordCRISNumbersAndPNCMarkers() {
        assertError(draft("case.updated", ["police_cris_number": "CRIS-0001"]), agency: "csc", field: "facts.police_cris_number", mentions: "only police")
        XCTAssertNoThrow(try Catalogue.validate(draft("case.updated", ["police_cris_number": "CRIS-0001"]), agency: "police", context: ctx))
        assertError(draft("disruption.recorded", ["tactic": "D1", "status": "done"]), agency: "csc", field: "facts.tactic", mentions: "PNC")
        XCTAssertNoThrow(try Catalogue.validate(draft("disruption.recorded", ["tactic": "D3", "status": "done"]), agency: "csc", context: ctx))
    }
}
