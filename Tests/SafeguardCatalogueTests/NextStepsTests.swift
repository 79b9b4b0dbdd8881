import SafeguardCatalogue
import SafeguardCore
import XCTest

final class NextStepsTests: XCTestCase {
    let policy = PolicyDocument.toolkit
    var n = 0

    func ev(_ type: String, _ at: String, _ facts: [String: JSONValue], id: String? = nil, agency: String = "") -> CaseEvent {
        n += 1
        return CaseEvent(eventID: id ?? "00000000-0000-4000-8000-\(String(repeating: "0", count: 12 - String(n).count))\(n)", type: type,
                         occurredAt: Timestamp(rfc3339: at)!, facts: Facts(facts), agency: agency, seq: Int64(n))
    }

    func screening(_ at: String, _ indicators: JSONValue, level: String, age: Int64 = 15) -> CaseEvent {
        ev("screening.cse_tool", at, ["policy_version": .integer(ToolkitPolicy.version), "indicators": indicators, "age_years": .integer(age), "learning_disability": false,
                                     "suggested_level": .string(level), "practitioner_level": .string(level)])
    }

    func steps(_ events: [CaseEvent], today: String) -> [NextStep] {
        CasePractice("C-1", events: events, policy: policy).nextSteps(today: Day(iso: today)!)
    }

    func actions(_ events: [CaseEvent]) -> [String] {
        CasePractice("C-1", events: events, policy: policy).toolkitActions().map(\.sentence)
    }

    /// What the toolkit asks at each level besides deadlines (DOMAIN.md "What each level
    /// requires"), each until a record shows it done.
    func testTheToolkitsActionsForEachLevel() {
        XCTAssertEqual(actions([screening("2026-11-30T10:00:00Z", [], level: "none")]), ["No risk indicators: consider a CAF, or close the case (toolkit §8)"])
        var low = screening("2026-11-30T10:00:00Z", [], level: "none")
        low = ev("screening.cse_tool", "2026-11-30T10:00:00Z", low.facts.values.merging(["practitioner_level": "low"]) { $1 })
        XCTAssertEqual(actions([low]).count, 1)
        XCTAssertTrue(actions([low])[0].hasPrefix("Keep records and monitor"))

        let medium = screening("2026-11-30T10:00:00Z", [["code": "A2"]], level: "medium")
        let away = ev("missing.started", "2026-12-01T22:00:00Z", ["reported_by": "parent_carer"], agency: "csc")
        XCTAssertEqual(actions([medium, away]), [
            "Refer the child to the MASE operational subgroup (its pre-MASE meeting) (toolkit §8 medium)",
            "Consider disruption tactics (§7.5) and record what was considered (toolkit §8 medium)",
            "Discuss the missing episode of Tue 1 Dec 2026 with police (toolkit §8)",
        ])
        let done = [medium, away,
                    ev("meeting.pre_mase", "2026-12-03T10:00:00Z", ["meeting_ref": "PRE-1", "attendees": ["csc", "police"], "cases_discussed": ["C-1"]], agency: "csc"),
                    ev("disruption.recorded", "2026-12-03T11:00:00Z", ["tactic": "D4", "status": "considered"], agency: "police")]
        XCTAssertEqual(actions(done), [], "a pre-MASE meeting with police present and a tactic considered")

        // A police officer's significant screening is not "nothing outstanding": police know, but
        // an S47 enquiry and disruption are still to consider.
        let significant = ev("screening.cse_tool", "2026-11-30T10:00:00Z", screening("2026-11-30T10:00:00Z", [["code": "S4", "timing": "current"]], level: "significant").facts.values,
                             agency: "police")
        XCTAssertEqual(actions([significant]), [
            "Consider an S47 enquiry: a strategy discussion decides (toolkit §8 significant)",
            "Put disruption tactics (§7.5) in place and record each (toolkit §8 significant)",
        ])
        let bySchool = ev("screening.cse_tool", "2026-11-30T10:00:00Z", significant.facts.values, agency: "education")
        XCTAssertTrue(actions([bySchool]).contains("If there is immediate risk, tell police now, and record what was shared with them (toolkit §8 significant)"))

        // MASH decides a strategy discussion: it is asked for until held.
        let mash = ev("decision.mash", "2026-12-01T10:00:00Z", ["outcome": "strategy_discussion"], agency: "mash")
        XCTAssertEqual(actions([significant, mash]), [
            "Hold the strategy discussion MASH decided on Tue 1 Dec 2026 (police, children's social care and health), and record its outcome (toolkit §6)",
            "Put disruption tactics (§7.5) in place and record each (toolkit §8 significant)",
        ])
        let held = ev("meeting.strategy", "2026-12-02T10:00:00Z", ["meeting_ref": "S-1", "attendees": ["police", "csc"], "cases_discussed": ["C-1"]], agency: "csc")
        XCTAssertFalse(actions([significant, mash, held]).contains { $0.contains("§6") })
        XCTAssertEqual(actions([significant, mash, held, ev("case.closed", "2026-12-03T10:00:00Z", ["reason": "risk_reduced"], agency: "csc")]), [], "a closed case asks nothing")
    }

    func testMediumScreeningNeedsMASHNextWorkingDayAndCAFInTen() {
        let s = steps([screening("2026-11-30T10:00:00Z", [["code": "A2"]], level: "medium")], today: "2026-11-30")
        XCTAssertEqual(s.map(\.sentence), [
            "Referral to MASH required by Tue 1 Dec 2026 (R1)",
            "Family CAF unless S17/S47 applies by Mon 14 Dec 2026 (R3)",
        ])
    }

    func testSignificantAcuteScreeningNeedsTelephoneSameDayAndGoesOverdue() {
        let s = steps([screening("2026-12-24T16:00:00Z", [["code": "A12"]], level: "significant")], today: "2026-12-31")
        XCTAssertEqual(s.count, 1)
        XCTAssertEqual(s[0].due, Day(iso: "2026-12-24"))
        XCTAssertTrue(s[0].what.contains("telephone MASH first"))
        XCTAssertEqual(s[0].overdueBy, 3)  // 29, 30, 31 December
    }

    func testReferralAndEarlyHelpSatisfyTheSteps() {
        let e = [
            screening("2026-11-30T10:00:00Z", [["code": "A2"]], level: "medium"),
            ev("referral.mash_written", "2026-12-01T09:00:00Z", ["urgency": "standard"]),
            ev("decision.early_help", "2026-12-02T09:00:00Z", ["kind": "family_caf", "status": "started"]),
        ]
        XCTAssertEqual(steps(e, today: "2026-12-03"), [])
    }

    func testTelephoneReferralNeedsWrittenFormNextWorkingDay() {
        let phone = ev("referral.mash_telephone", "2026-12-24T11:00:00Z", ["immediate_risk": true])
        let s = steps([phone], today: "2026-12-24")
        XCTAssertEqual(s.map(\.sentence), ["Written MASH referral form after the telephone referral of Thu 24 Dec 2026 by Tue 29 Dec 2026 (R2)"])
    }

    func testMissingEpisodeNeedsReturnHomeInterviewWithin72Hours() {
        let start = ev("missing.started", "2026-11-27T22:00:00Z", ["reported_by": "parent_carer"])
        XCTAssertEqual(steps([start], today: "2026-11-28").first?.due, nil)
        let back = ev("missing.returned", "2026-11-28T18:00:00Z", ["missing_episode": .string(start.eventID), "how": "returned_self"])
        let s = steps([start, back], today: "2026-12-02")
        XCTAssertEqual(s.first?.rule, "R8")
        XCTAssertEqual(s.first?.due, Day(iso: "2026-12-01"))
        XCTAssertEqual(s.first?.overdueBy, 1)
        let offered = ev("missing.rhi_offered", "2026-11-30T10:00:00Z", ["missing_episode": .string(start.eventID)])
        XCTAssertEqual(steps([start, back, offered], today: "2026-12-02"), [])
    }

    func testNFAMustTellTheReferrerBothWays() {
        let nfa = ev("decision.nfa", "2026-11-30T10:00:00Z", ["reason": "threshold_not_met", "referrer_told_verbally": true, "referrer_told_in_writing": false])
        let s = steps([nfa], today: "2026-11-30")
        XCTAssertEqual(s.map(\.rule), ["R4"])
        XCTAssertEqual(s[0].due, Day(iso: "2026-12-01"), "a working day to tell the referrer: not overdue on the decision day itself")
        XCTAssertNil(s[0].overdueBy)
        XCTAssertEqual(steps([nfa], today: "2026-12-02")[0].overdueBy, 1)
        // Telling them later, recorded as a fresh NFA record, puts it right.
        let told = ev("decision.nfa", "2026-12-01T10:00:00Z", ["reason": "threshold_not_met", "referrer_told_verbally": true, "referrer_told_in_writing": true])
        XCTAssertEqual(steps([nfa, told], today: "2026-12-02"), [])
    }

    /// A MASH (or S17) decision of NFA needs the NFA record, with its reason and the referrer told.
    func testMASHDecisionOfNFANeedsTheNFARecord() {
        let mash = ev("decision.mash", "2026-11-30T10:00:00Z", ["outcome": "nfa"], agency: "mash")
        let s = steps([mash], today: "2026-12-03")
        XCTAssertEqual(s.map(\.rule), ["R4"])
        XCTAssertEqual(s[0].by, "mash")
        XCTAssertEqual(s[0].records, ["decision.nfa"])
        XCTAssertEqual(s[0].overdueBy, 2)
        let nfa = ev("decision.nfa", "2026-11-30T11:00:00Z", ["reason": "threshold_not_met", "referrer_told_verbally": true, "referrer_told_in_writing": true])
        XCTAssertEqual(steps([mash, nfa], today: "2026-12-03"), [])
    }

    /// R11: each sharing record lawful, necessary and proportionate, identities protected, and
    /// special-category information with its condition.
    func testSharingGapsAreSteps() {
        func shared(_ extra: [String: JSONValue]) -> CaseEvent {
            var f: [String: JSONValue] = ["to_agency": "health", "scope": ["summary"], "purpose": "safeguarding_assessment", "lawful_basis": "uk_gdpr_6_1_e_public_task",
                                          "consent_sought": false, "consent_not_sought_reason": "risk_of_harm_to_child", "subject_informed": true,
                                          "necessary_and_proportionate": true, "identities_protected": true, "channel": "secure_email"]
            for (k, v) in extra { f[k] = v }
            return ev("sharing.shared", "2026-11-30T10:00:00Z", f, agency: "csc")
        }
        XCTAssertEqual(steps([shared([:])], today: "2026-12-01"), [])
        let bad = steps([shared(["necessary_and_proportionate": false, "identities_protected": false, "scope": ["health_information"]])], today: "2026-12-01")
        XCTAssertEqual(bad.map(\.rule), ["R11"])
        XCTAssertTrue(bad[0].what.contains("not recorded as necessary and proportionate; identities of others at risk not protected; special-category information without its Art 9 condition"), bad[0].what)
        XCTAssertEqual(bad[0].by, "csc")
    }

    /// R10 is an exception from six months before 18, but never from before the case opened.
    func testTransitionExceptionNeverStartsBeforeTheCaseOpened() {
        let opened = ev("case.opened", "2026-11-02T10:00:00Z", ["birth_month": "2009-03", "gender": "male", "looked_after": true, "learning_disability": false, "borough": "B"])
        let facts = PartnershipFacts(knownOn: Day(iso: "2026-11-30")!)
        let ex = CasePractice("C-1", events: [opened], partnership: facts, policy: policy).exceptions(on: Day(iso: "2026-11-30")!)
        XCTAssertEqual(ex.map(\.rule), ["R10"])
        XCTAssertEqual(ex[0].since, "2026-11-02", "the window opened on 30 Sep 2026, before the case did")
    }

    /// Which level drives the rules is the policy's: the toolkit's version 2 follows the
    /// practitioner's judgement, a policy that does not say (version 1) the higher of both.
    func testTheLevelThatDrivesTheRulesIsAPolicySetting() throws {
        let judged = ev("screening.cse_tool", "2026-11-30T10:00:00Z", ["policy_version": .integer(ToolkitPolicy.version), "indicators": [["code": "S1", "timing": "current"]], "age_years": 15,
                                                                      "learning_disability": false, "suggested_level": "significant", "practitioner_level": "medium"])
        XCTAssertEqual(policy.levelForRules, .practitioner)
        XCTAssertEqual(steps([judged], today: "2026-11-30").map(\.rule), ["R1", "R3"], "medium: a day for the referral, and a Family CAF")
        XCTAssertEqual(steps([judged], today: "2026-11-30")[0].due, Day(iso: "2026-12-01"))
        guard case .object(var doc) = ToolkitPolicy.document, case .object(var rules)? = doc["level_rules"] else { return XCTFail() }
        rules["level_for_rules"] = "higher_of_both"
        doc["level_rules"] = .object(rules)
        let higher = try PolicyDocument(json: .object(doc))
        let s = CasePractice("C-1", events: [judged], policy: higher).nextSteps(today: Day(iso: "2026-11-30")!)
        XCTAssertEqual(s.map(\.rule), ["R1"], "significant's same-day referral, and no Family CAF")
        rules["level_for_rules"] = "loudest"
        doc["level_rules"] = .object(rules)
        XCTAssertThrowsError(try PolicyDocument(json: .object(doc)))
    }

    func testOpenActionsTransitionAndEscalations() {
        let e = [
            ev("case.opened", "2026-01-05T10:00:00Z", ["birth_month": "2009-03", "gender": "male", "looked_after": true, "learning_disability": false, "borough": "B"]),
            ev("action.set", "2026-11-02T10:00:00Z", ["action_ref": "A1", "owner_agency": "police", "due_date": "2026-11-20", "strand": "pursue"]),
            ev("action.set", "2026-11-02T10:00:00Z", ["action_ref": "A2", "owner_agency": "csc", "due_date": "2026-12-20", "strand": "protect"]),
            ev("action.completed", "2026-11-10T10:00:00Z", ["action_ref": "A2"]),
            ev("escalation.raised", "2026-11-12T10:00:00Z", ["with_agency": "police", "about": "no_response"]),
        ]
        let s = steps(e, today: "2026-11-30")
        XCTAssertEqual(s.map(\.rule), ["R10", "R14", "R15"])
        XCTAssertEqual(s[0].due, Day(iso: "2027-03-31"), "the last day of the birth month, 18 years on")
        XCTAssertEqual(s[1].overdueBy, 6)
    }

    func testReferralBeforeTheScreeningCounts() {
        let e = [ev("referral.mash_telephone", "2026-11-30T09:00:00Z", ["immediate_risk": true]),
                 screening("2026-11-30T10:00:00Z", [["code": "A12"]], level: "significant"),
                 ev("referral.mash_written", "2026-11-30T12:00:00Z", ["urgency": "urgent"])]
        XCTAssertEqual(steps(e, today: "2026-11-30"), [])
    }

    func testStrategyOutcomeMASEAcknowledgementsAndLessons() {
        let meeting = ev("meeting.strategy", "2026-11-30T10:00:00Z", ["meeting_ref": "S1", "attendees": ["police", "csc"], "cases_discussed": ["C-1"]])
        XCTAssertEqual(steps([meeting], today: "2026-11-30").map(\.rule), ["R13"])
        let mase = ev("meeting.mase", "2026-11-30T10:00:00Z", ["meeting_ref": "M1", "attendees": ["police", "csc", "partnership"], "cases_discussed": ["C-1"]])
        let ack = CaseEvent(eventID: "a0000000-0000-4000-8000-000000000001", type: "acknowledgement.recorded", occurredAt: Timestamp(rfc3339: "2026-12-01T10:00:00Z")!,
                            facts: Facts(["decision_event": .string(mase.eventID), "recorded_on_own_system": true]), agency: "police")
        XCTAssertEqual(steps([mase, ack], today: "2026-12-01").map(\.sentence), ["csc to acknowledge the MASE decisions of M1 as recorded on its own system (R7)"])
        let raised = ev("escalation.raised", "2026-11-12T10:00:00Z", ["with_agency": "police", "about": "no_response"])
        let resolved = ev("escalation.resolved", "2026-11-13T10:00:00Z", ["escalation": .string(raised.eventID), "outcome": "agreed", "lessons_reported_to_mase": false])
        XCTAssertEqual(steps([raised, resolved], today: "2026-11-30").map(\.what), ["Report the lessons learnt from the escalation of Thu 12 Nov 2026 to MASE"])
    }

    func testAdultSocialCareReferralAtEighteenIsATransition() {
        let e = [ev("case.opened", "2026-01-05T10:00:00Z", ["birth_month": "2009-03", "gender": "male", "looked_after": true, "learning_disability": false, "borough": "B"]),
                 ev("referral.adult_social_care", "2026-11-05T10:00:00Z", ["reason": "transition_at_18"])]
        XCTAssertEqual(steps(e, today: "2026-11-30"), [])
    }

    func testClosedCaseAndRetractedScreeningHaveNoSteps() {
        let screeningEvent = screening("2026-11-30T10:00:00Z", [["code": "S1", "timing": "current"]], level: "significant")
        XCTAssertEqual(steps([screeningEvent, ev("case.closed", "2026-11-30T11:00:00Z", ["reason": "other"])], today: "2026-12-01"), [])
        let retraction = ev("correction.recorded", "2026-11-30T11:00:00Z", ["corrects_event": .string(screeningEvent.eventID), "kind": "retraction", "reason": "wrong_case"])
        XCTAssertEqual(steps([screeningEvent, retraction], today: "2026-12-01"), [])
    }
}
