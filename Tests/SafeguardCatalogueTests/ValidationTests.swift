import SafeguardCatalogue
import SafeguardCore
import XCTest

/// An in-memory ledger view for validation tests.
final class MemoryContext: RecordingContext {
    var policy = PolicyDocument.toolkit
    var now = Timestamp(rfc3339: "2026-11-30T12:00:00Z")!
    var cases: [String: CaseStatus] = [:]
    var events: [String: EventSummary] = [:]
    var facts: [String: [String: JSONValue]] = [:]
    func caseStatus(_ caseID: String) -> CaseStatus { cases[caseID] ?? .neverOpened }
    func event(_ eventID: String) -> EventSummary? { events[eventID] }
    func caseFact(_ caseID: String, _ fact: String) -> JSONValue? { facts[caseID]?[fact] }
    /// What the recording checks read of a case (an empty record for a case opened here).
    var records: [String: CaseBook.Record] = [:]
    func caseRecord(_ caseID: String) -> CaseBook.Record? { records[caseID] ?? (cases[caseID].map { _ in CaseBook.Record() }) }
    func meetingsDiscussing(_ caseID: String) -> Set<String> { records[caseID]?.discussedIn ?? [] }
}

extension Catalogue {
    /// `validate` with the policy and time the test context holds.
    static func validate(_ d: EventDraft, agency: String, context: MemoryContext) throws(CatalogueError) {
        try validate(d, agency: agency, now: context.now, policy: context.policy, context: context)
    }
}

final class ValidationTests: XCTestCase {
    var ctx: MemoryContext!
    let when = Timestamp(rfc3339: "2026-11-30T09:00:00Z")!
    let missingID = "11111111-1111-4111-8111-111111111111"
    let maseID = "33333333-3333-4333-8333-333333333333"
    let phoneID = "44444444-4444-4444-8444-444444444444"

    override func setUp() {
        ctx = MemoryContext()
        ctx.cases = ["C-1": .open, "C-2": .open, "C-9": .closed(at: Timestamp(rfc3339: "2026-10-01T00:00:00Z")!)]
        ctx.events = [
            missingID: EventSummary(type: "missing.started", caseID: "C-1", occurredAt: Timestamp(rfc3339: "2026-11-29T20:00:00Z")!, agency: "csc"),
            maseID: EventSummary(type: "meeting.mase", caseID: "C-2", occurredAt: Timestamp(rfc3339: "2026-11-20T10:00:00Z")!, agency: "partnership"),
            phoneID: EventSummary(type: "referral.mash_telephone", caseID: "C-1", occurredAt: Timestamp(rfc3339: "2026-11-30T08:00:00Z")!, agency: "education"),
        ]
        ctx.facts = ["C-1": ["birth_month": "2011-04", "learning_disability": false], "C-2": ["birth_month": "2015-01", "learning_disability": true, "police_cris_recorded": true]]
        // The MASE meeting, recorded under C-2, discussed C-1 too.
        var discussed = CaseBook.Record()
        discussed.discussedIn = [maseID]
        ctx.records["C-1"] = discussed
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
        ["policy_version": .integer(ToolkitPolicy.version), "indicators": indicators, "age_years": .integer(age), "learning_disability": false,
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
            draft("acknowledgement.recorded", ["decision_event": .string(maseID), "recorded_on_own_system": true]),
            draft("governance.legal_hold", ["action": "placed", "scope": "case", "case_ref": "C-1", "reason": "inquiry"], caseID: nil),
        ]
        for d in ok {
            XCTAssertNoThrow(try Catalogue.validate(d, agency: "csc", context: ctx), d.type)
        }
        XCTAssertEqual(Set(Catalogue.specs.keys).union(["governance.genesis", "governance.key_enrolled", "governance.key_revoked", "governance.policy_set",
                                                                "governance.root_rotated", "governance.log_key_set"]),
                       EventType.all, "every event type has a catalogue entry")
    }

    /// The catalogue defines the types: `EventType` is derived from its specs, a policy may grant
    /// only what it defines, and the built-in policy's permissions read back as written.
    func testTheCatalogueIsTheOneSourceOfTypes() throws {
        XCTAssertEqual(EventType.families.map(\.family), ["governance", "case", "contact", "screening", "referral", "decision", "sharing", "meeting",
                                                           "missing", "disruption", "link", "action", "acknowledgement", "escalation", "correction", "access"])
        XCTAssertEqual(EventType.families.first?.types, ["genesis", "key_enrolled", "key_revoked", "policy_set", "root_rotated", "log_key_set",
                                                          "legal_hold", "retention_review"])
        func policy(_ grants: [String]) -> JSONValue {
            ["name": "p", "version": 1, "permissions": ["police": .array(grants.map { .string($0) })]]
        }
        for bad in ["nosuch.*", "contact.teleported"] {
            let p = try Policy(json: policy([bad]))  // shaped as a grant: the log's rules accept it
            XCTAssertEqual(EventType.unknownGrant(in: p)?.grant, bad)
            XCTAssertThrowsError(try PolicyDocument(json: policy([bad])), bad)
        }
        XCTAssertNil(EventType.unknownGrant(in: try Policy(json: policy(["contact.*", "referral.mase", "governance.legal_hold"]))))
        XCTAssertEqual(try Policy(json: Policy.toolkitDefault.json), Policy.toolkitDefault)
        XCTAssertTrue(Policy.toolkitDefault.allows(agency: "csc", type: "referral.mase"))
        XCTAssertFalse(Policy.toolkitDefault.allows(agency: "education", type: "referral.mase"))
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
        assertError(draft("screening.cse_tool", old), field: "facts.policy_version", mentions: "must be \(ToolkitPolicy.version)")
        assertError(draft("contact.recorded", ["contact_type": "phone"], caseID: "C-404"), field: "case_id", mentions: "never opened")
        assertError(draft("contact.recorded", ["contact_type": "phone"], caseID: "C-9"), field: "case_id", mentions: "was closed")
        assertError(draft("case.opened", ["birth_month": "2011-04", "gender": "female", "looked_after": false, "learning_disability": false, "borough": "X"]), field: "case_id", mentions: "already open")
        assertError(draft("correction.recorded", ["corrects_event": "22222222-2222-4222-8222-222222222222", "kind": "retraction", "reason": "duplicate"]), field: "facts.corrects_event", mentions: "points at no event")
        assertError(draft("missing.returned", ["missing_episode": .string(missingID), "how": "returned_self"], at: Timestamp(rfc3339: "2026-11-29T10:00:00Z")!),
                    field: "occurred_at", mentions: "before the missing.started it follows")
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

    func testScreeningCannotLowerTheLevel() {
        // Case C-1 was born in April 2011: at most 15 on 30 November 2026.
        assertError(draft("screening.cse_tool", screeningFacts([["code": "A2"]], level: "medium", age: 16)), field: "facts.age_years", mentions: "at most 15")
        XCTAssertNoThrow(try Catalogue.validate(draft("screening.cse_tool", screeningFacts([["code": "A2"]], level: "medium", age: 15)), agency: "csc", context: ctx))
        // C-2 has a learning disability on record; leaving it off would lower the level.
        var ld = screeningFacts([["code": "A2"]], level: "medium", age: 11)
        ld["suggested_level"] = "significant"
        ld["practitioner_level"] = "significant"
        assertError(draft("screening.cse_tool", ld, caseID: "C-2"), field: "facts.learning_disability", mentions: "records a learning disability")
        // Timing belongs to S codes only: an acute A code cannot be capped by marking it prior.
        assertError(draft("screening.cse_tool", screeningFacts([["code": "A19", "timing": "prior"]], level: "medium")), field: "facts.indicators[0].timing", mentions: "additional indicator")
        // A practitioner level below the suggestion needs a rationale.
        var lower = screeningFacts([["code": "S1", "timing": "current"]], level: "significant")
        lower["practitioner_level"] = "medium"
        assertError(draft("screening.cse_tool", lower), field: "details.rationale", mentions: "differs")
        var withWhy = draft("screening.cse_tool", lower)
        withWhy.details = ["rationale": "synthetic: reviewed with the lead"]
        XCTAssertNoThrow(try Catalogue.validate(withWhy, agency: "csc", context: ctx))
    }

    func testReferencesAndDatesMustFit() {
        assertError(draft("referral.mase", ["mash_referral": .string(phoneID), "strategy_decision": .string(phoneID)]), field: "facts.strategy_decision", mentions: "decision.strategy")
        ctx.events["55555555-5555-4555-8555-555555555555"] = EventSummary(type: "decision.strategy", caseID: "C-1", occurredAt: when, agency: "csc")
        assertError(draft("referral.mase", ["mash_referral": .string(phoneID), "strategy_decision": "55555555-5555-4555-8555-555555555555"]),
                    field: "case_id", mentions: "no police CSE CRIS number")
        assertError(draft("referral.mash_written", ["urgency": "urgent", "telephone_referral": .string(phoneID)], at: Timestamp(rfc3339: "2026-11-30T07:00:00Z")!),
                    field: "occurred_at", mentions: "before the referral.mash_telephone")
        assertError(draft("action.set", ["action_ref": "A1", "owner_agency": "police", "due_date": "2026-11-01", "strand": "protect"]), field: "facts.due_date", mentions: "before the action was set")
        assertError(draft("case.opened", ["birth_month": "2027-01", "gender": "male", "looked_after": false, "learning_disability": false, "borough": "B"], caseID: "C-new"),
                    field: "facts.birth_month", mentions: "not possible")
        assertError(draft("case.opened", ["birth_month": "1990-01", "gender": "male", "looked_after": false, "learning_disability": false, "borough": "B"], caseID: "C-new"),
                    field: "facts.birth_month", mentions: "under 26")
        assertError(draft("acknowledgement.recorded", ["decision_event": .string(missingID), "recorded_on_own_system": true]), field: "facts.decision_event", mentions: "meeting.mase")
        XCTAssertNoThrow(try Catalogue.validate(draft("acknowledgement.recorded", ["decision_event": .string(maseID), "recorded_on_own_system": true]), agency: "police", context: ctx))
        assertError(draft("correction.recorded", ["corrects_event": .string(phoneID), "kind": "retraction", "reason": "duplicate"]), agency: "health",
                    field: "facts.corrects_event", mentions: "only education can correct")
        assertError(draft("sharing.shared", ["to_agency": "police", "scope": ["summary"], "purpose": "strategy_discussion", "lawful_basis": "dpa_2018_part3_sch8_para4_law_enforcement",
                                             "consent_sought": false, "consent_not_sought_reason": "risk_of_harm_to_child", "subject_informed": true,
                                             "necessary_and_proportionate": true, "identities_protected": true, "channel": "phone"]),
                    agency: "education", field: "facts.lawful_basis", mentions: "police only")
    }

    func testClosedCaseTakesLateRecordsOfWhatHappenedBefore() {
        // C-9 was closed on 1 October 2026.
        XCTAssertNoThrow(try Catalogue.validate(draft("contact.recorded", ["contact_type": "phone"], caseID: "C-9", at: Timestamp(rfc3339: "2026-09-30T10:00:00Z")!),
                                                agency: "csc", context: ctx))
        assertError(draft("contact.recorded", ["contact_type": "phone"], caseID: "C-9"), field: "case_id", mentions: "was closed")
    }

    func testABrokenPolicyIsRefused() {
        var doc = ToolkitPolicy.document.objectValue!
        doc.removeValue(forKey: "deadlines")
        assertError(EventDraft(type: "governance.policy_set", caseID: nil, occurredAt: when, facts: ["policy": .object(doc)]), field: "facts.policy", mentions: "deadlines")
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
        assertError(draft("case.updated", ["police_cris_recorded": true]), agency: "csc", field: "facts.police_cris_recorded", mentions: "only police")
        XCTAssertNoThrow(try Catalogue.validate(draft("case.updated", ["police_cris_recorded": true]), agency: "police", context: ctx))
        assertError(draft("disruption.recorded", ["tactic": "D1", "status": "done"]), agency: "csc", field: "facts.tactic", mentions: "PNC")
        XCTAssertNoThrow(try Catalogue.validate(draft("disruption.recorded", ["tactic": "D3", "status": "done"]), agency: "csc", context: ctx))
    }
}
