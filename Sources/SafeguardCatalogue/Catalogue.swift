import SafeguardCore

/// The event catalogue: for every event type, the facts it carries (codes, dates, enums and
/// ids only; names, addresses and narrative belong in `details`) and the checks made when it
/// is recorded. Projections read `facts` alone.
public enum Catalogue {
    public static let levels = RiskLevel.allCases.map(\.rawValue)
    static let timing = ["current", "prior"]

    /// Every event type's spec, by type name. Key enrolment, revocation, genesis and policy
    /// are checked by the log's own rules (SafeguardCore's `LedgerState`).
    public static let specs: [String: EventSpec] = Dictionary(uniqueKeysWithValues: ordered.map { ($0.type, $0) })

    /// Every spec, in the order `safeguard types` and docs/CATALOGUE.md list them: the one
    /// place an event type is defined (`EventType` is derived from it).
    public static let ordered: [EventSpec] = {
        var all: [EventSpec] = [legalHold, retentionReview]
        all += caseSpecs + [contact] + screeningSpecs + referralSpecs + decisionSpecs + sharingSpecs
        all += meetingSpecs + missingSpecs + [disruption, link] + actionSpecs + [acknowledgement] + escalationSpecs
        all += [correction, consulted]
        return all
    }()

    // MARK: Case

    static let caseFields: [FieldSpec] = [
        FieldSpec("birth_month", .month, "the child's month of birth, YYYY-MM (the full date of birth goes in details)"),
        FieldSpec("gender", .oneOf(["female", "male", "non_binary", "not_known"]), "gender"),
        FieldSpec("looked_after", .bool, "whether the child is looked after (LAC)"),
        FieldSpec("learning_disability", .bool, "whether the young person has a learning disability"),
        FieldSpec("borough", .reference, "borough of residence, as a code"),
    ]

    static let caseSpecs: [EventSpec] = [
        EventSpec("case.opened", "a child or young person becomes a case (or a closed case is reopened)",
                  caseFields + [FieldSpec("lead_agency", .agency, required: false, "the agency leading on the case")],
                  rules: [Rules.plausibleBirthMonth]),
        EventSpec("case.updated", "the case's details change",
                  caseFields.map { FieldSpec($0.name, $0.kind, required: false, $0.help) } + [
                      FieldSpec("lead_agency", .agency, required: false, "the agency now leading"),
                      FieldSpec("police_cris_recorded", .bool, required: false, "police have recorded a CSE CRIS number (police only; the number itself goes in details)"),
                  ], rules: [EventSpec.Rule("`facts` holds at least one member (`invalid_facts`).") { $0.facts.values.isEmpty ? CatalogueError("facts", "an update must change at least one fact") : nil },
                           Rules.plausibleBirthMonth]),
        EventSpec("case.transferred", "the case moves to another agency or area", [
            FieldSpec("to_agency", .agency, "the agency taking the case"),
            FieldSpec("reason", .oneOf(["moved_area", "lead_changed", "service_ended", "other"]), "why"),
        ]),
        EventSpec("case.closed", "the case is closed", [
            FieldSpec("reason", .oneOf(["risk_reduced", "no_cse_concerns", "moved_out_of_area", "transferred_to_adult_services", "other"]), "why the case is closed"),
            FieldSpec("closed_despite", .bool, required: false, "closed although escalations were open or MASE decisions unacknowledged (the reason goes in details)"),
        ], rules: [Rules.closedDespite, Rules.despiteHasReason]),
        EventSpec("case.transition", "transition at 18: plan or referral to adult services (§7 principle 9)", [
            FieldSpec("plan", .oneOf(["adult_social_care_referral", "transition_plan_agreed", "leaving_care_support", "no_further_support"]), "what was put in place"),
        ]),
    ]

    // MARK: Contact and screening

    static let contact = EventSpec("contact.recorded", "contact with or about the child, with the concerns noted (§5)", [
        FieldSpec("contact_type", .oneOf(["face_to_face", "phone", "online", "about_child"]), "how the contact happened"),
        FieldSpec("indicators", .list(.indicator, minCount: 0), required: false, "risk indicators noticed"),
        FieldSpec("vulnerabilities", .list(.vulnerability, minCount: 0), required: false, "vulnerability factors noticed"),
    ])

    static func screening(_ type: String, _ what: String) -> EventSpec {
        EventSpec(type, what, [
            FieldSpec("policy_version", .integer(1...1_000_000), "the version of the policy the screening was scored under"),
            FieldSpec("indicators", .screeningIndicators, "indicators identified; S codes marked current (within 6 months) or prior (before that)"),
            FieldSpec("vulnerabilities", .list(.vulnerability, minCount: 0), required: false, "vulnerability factors (they never raise the level)"),
            FieldSpec("age_years", .integer(0...25), "the child's age on the day of the screening"),
            FieldSpec("learning_disability", .bool, "whether the young person has a learning disability"),
            FieldSpec("suggested_level", .oneOf(levels), "the level the policy suggests (computed)"),
            FieldSpec("practitioner_level", .oneOf(levels), "the level in the practitioner's professional judgement"),
        ], rules: [Rules.screeningScoredUnderCurrentPolicy, Rules.screeningMatchesCase, Rules.suggestedLevelMatches, Rules.rationaleWhenLevelsDiffer])
    }

    static let screeningSpecs = [
        screening("screening.cse_tool", "the LSCB CSE Risk Screening Tool (§8)"),
        screening("screening.csc_mosaic", "the CSC Risk Screening Assessment (MOSAIC)"),
    ]

    // MARK: Referrals

    static let referralSpecs: [EventSpec] = [
        EventSpec("referral.mash_written", "referral to MASH on the written referral form", [
            FieldSpec("urgency", .oneOf(["standard", "urgent"]), "standard, or urgent (after a telephone referral)"),
            FieldSpec("telephone_referral", .eventRef, required: false, "the telephone referral this form follows up"),
            FieldSpec("indicators", .list(.indicator, minCount: 0), required: false, "the risk indicators the form highlights"),
        ], rules: [Rules.refersTo("telephone_referral", types: ["referral.mash_telephone"], sameCase: true), Rules.notBefore("telephone_referral", "the written form")]),
        EventSpec("referral.mash_telephone", "urgent referral to MASH by telephone, to be followed by the written form", [
            FieldSpec("immediate_risk", .bool, "whether there is immediate risk (police informed)"),
        ]),
        EventSpec("referral.mase", "referral to the MASE panel (children's social care only; never a first referral)", [
            FieldSpec("mash_referral", .eventRef, "the earlier MASH referral"),
            FieldSpec("strategy_decision", .eventRef, "the strategy meeting or discussion decision"),
        ], rules: [Rules.refersTo("mash_referral", types: ["referral.mash_written", "referral.mash_telephone"], sameCase: true),
                   Rules.refersTo("strategy_decision", types: ["decision.strategy"], sameCase: true),
                   Rules.notBefore("mash_referral", "the MASE referral"), Rules.notBefore("strategy_decision", "the MASE referral"),
                   Rules.crisRecordedBeforeMASE]),
        EventSpec("referral.ewo", "referral to the education welfare officer", [
            FieldSpec("reason", .oneOf(["attendance", "exclusion", "children_missing_education", "other"]), "why"),
        ]),
        EventSpec("referral.adult_social_care", "referral to adult social care", [
            FieldSpec("reason", .oneOf(["transition_at_18", "care_and_support_needs", "other"]), "why"),
        ]),
        EventSpec("referral.rhi_provider", "referral to the return home interview provider", [
            FieldSpec("missing_episode", .eventRef, "the missing episode (missing.started event)"),
        ], rules: [Rules.refersTo("missing_episode", types: ["missing.started"], sameCase: true), Rules.notBefore("missing_episode", "the referral")]),
    ]

    // MARK: Decisions

    static let decisionSpecs: [EventSpec] = [
        EventSpec("decision.mash", "the MASH decision on a referral", [
            FieldSpec("outcome", .oneOf(["strategy_discussion", "s17_assessment", "s47_enquiry", "early_help", "refer_other_agency", "nfa"]), "what MASH decided"),
        ]),
        EventSpec("decision.s17", "the outcome of a section 17 (child in need) assessment", [
            FieldSpec("outcome", .oneOf(["cin_plan", "early_help", "step_up_s47", "nfa"]), "the assessment's outcome"),
        ]),
        EventSpec("decision.strategy", "the outcome of a strategy meeting or discussion (§6)", [
            FieldSpec("format", .oneOf(["meeting", "discussion"]), "meeting or discussion"),
            FieldSpec("outcome", .oneOf(["s47", "cin_plan", "early_help_plan"]), "one of the toolkit's three outcomes: S47 enquiry, child in need plan, early help plan"),
            FieldSpec("organised_complex_abuse", .bool, "whether organised and complex abuse procedures are invoked"),
        ]),
        EventSpec("decision.s47", "the outcome of a section 47 enquiry", [
            FieldSpec("outcome", .oneOf(["child_protection_conference", "cin_plan", "nfa"]), "the enquiry's outcome"),
        ]),
        EventSpec("decision.cin_plan", "a child in need plan started, reviewed or ended", [
            FieldSpec("status", .oneOf(["started", "reviewed", "ended"]), "what happened to the plan"),
        ]),
        EventSpec("decision.early_help", "early help: a Family CAF or early help assessment", [
            FieldSpec("kind", .oneOf(["family_caf", "early_help_assessment", "team_around_family"]), "which early help"),
            FieldSpec("status", .oneOf(["started", "completed"]), "started or completed"),
        ]),
        EventSpec("decision.nfa", "no further action, with the reason and how the referrer was told (§6)", [
            FieldSpec("reason", .oneOf(["no_cse_concerns", "needs_met_elsewhere", "moved_out_of_area", "threshold_not_met", "other"]), "why no further action"),
            FieldSpec("referrer_told_verbally", .bool, "whether the referrer was told verbally"),
            FieldSpec("referrer_told_in_writing", .bool, "whether the referrer was told in writing"),
        ]),
    ]

    // MARK: Information sharing

    static let lawfulBases = ["uk_gdpr_6_1_e_public_task", "uk_gdpr_6_1_c_legal_obligation", "dpa_2018_part3_sch8_para4_law_enforcement"]
    static let specialCategoryConditions = ["uk_gdpr_9_2_g_dpa_sch1_para18_safeguarding", "dpa_2018_part3_sensitive_processing"]
    static let whyNot = ["risk_of_harm_to_child", "would_prejudice_investigation", "not_practicable", "not_needed_lawful_basis"]

    static func sharing(_ type: String, _ what: String) -> EventSpec {
        EventSpec(type, what, [
            FieldSpec("to_agency", .agency, "the agency the information went to"),
            FieldSpec("scope", .list(.oneOf(["summary", "risk_assessment", "incident", "chronology", "health_information", "education_information", "police_intelligence", "full_record"]), minCount: 1), "what was shared (rarely the whole file)"),
            FieldSpec("purpose", .oneOf(["safeguarding_assessment", "strategy_discussion", "mase_planning", "disruption", "health_care", "education_support", "other"]), "why it was shared"),
            FieldSpec("lawful_basis", .oneOf(lawfulBases), "the lawful basis for sharing (UK GDPR Art 6, or DPA 2018 Part 3 for police)"),
            FieldSpec("special_category_condition", .oneOf(specialCategoryConditions), required: false, "for health or other special-category information, the Art 9 condition"),
            FieldSpec("consent_sought", .bool, "whether consent was sought (often the wrong basis when a child is at risk)"),
            FieldSpec("consent_given", .bool, required: false, "the answer, when consent was sought"),
            FieldSpec("consent_not_sought_reason", .oneOf(whyNot), required: false, "why consent was not sought"),
            FieldSpec("subject_informed", .bool, "whether the child or family were told"),
            FieldSpec("subject_not_informed_reason", .oneOf(whyNot), required: false, "why they were not told"),
            FieldSpec("necessary_and_proportionate", .bool, "whether the sharing was necessary and proportionate"),
            FieldSpec("identities_protected", .bool, "whether the identities of others at risk were protected"),
            FieldSpec("channel", .oneOf(["secure_email", "phone", "meeting", "case_system", "letter"]), "how it was shared"),
        ], rules: [Rules.consentAnswered, Rules.informedOrWhyNot])
    }

    static let sharingSpecs: [EventSpec] = [
        sharing("sharing.shared", "information shared with another agency (HM Government information-sharing advice)"),
        sharing("sharing.partly_shared", "information partly shared: some withheld"),
        EventSpec("sharing.not_shared", "a decision not to share, with the reason; it stays open to review", [
            FieldSpec("requested_by_agency", .agency, "the agency that asked"),
            FieldSpec("reason", .oneOf(["not_necessary", "not_proportionate", "no_lawful_basis", "would_prejudice_investigation", "other"]), "why not"),
            FieldSpec("review_by", .date, required: false, "when the decision will be reviewed"),
        ]),
        EventSpec("sharing.request_received", "a request for information received", [
            FieldSpec("from_agency", .agency, "the agency asking"),
            FieldSpec("purpose", .oneOf(["safeguarding_assessment", "strategy_discussion", "mase_planning", "disruption", "health_care", "education_support", "other"]), "why they ask"),
        ]),
    ]

    // MARK: Meetings, missing episodes, disruption, links, actions

    static func meeting(_ type: String, _ what: String) -> EventSpec {
        EventSpec(type, what, [
            FieldSpec("meeting_ref", .reference, "the meeting's reference, e.g. MASE-2026-11"),
            FieldSpec("attendees", .list(.agency, minCount: 1), "the agencies that attended"),
            FieldSpec("cases_discussed", .list(.caseRef, minCount: 1), "the cases discussed (including this one)"),
        ], rules: [Rules.caseAmongDiscussed])
    }

    static let meetingSpecs = [
        meeting("meeting.strategy", "a strategy meeting (§6)"),
        meeting("meeting.network", "a network or professionals meeting"),
        meeting("meeting.pre_mase", "a pre-MASE meeting (§7): overdue actions reviewed"),
        meeting("meeting.mase", "a monthly MASE meeting (§7)"),
    ]

    static let missingSpecs: [EventSpec] = [
        EventSpec("missing.started", "the child went missing", [
            FieldSpec("reported_by", .oneOf(["parent_carer", "childrens_home", "foster_carer", "school", "police", "other"]), "who reported it"),
        ]),
        EventSpec("missing.returned", "the child was found or returned", [
            FieldSpec("missing_episode", .eventRef, "the missing.started event"),
            FieldSpec("how", .oneOf(["returned_self", "found_by_police", "found_by_family", "other"]), "how the episode ended"),
        ], rules: [Rules.refersTo("missing_episode", types: ["missing.started"], sameCase: true), Rules.notBefore("missing_episode", "returned")]),
        EventSpec("missing.rhi_offered", "a return home interview was offered", [
            FieldSpec("missing_episode", .eventRef, "the missing.started event"),
        ], rules: [Rules.refersTo("missing_episode", types: ["missing.started"], sameCase: true), Rules.notBefore("missing_episode", "offered")]),
        EventSpec("missing.rhi_completed", "the return home interview took place", [
            FieldSpec("missing_episode", .eventRef, "the missing.started event"),
            FieldSpec("accepted", .bool, "whether the child took part"),
        ], rules: [Rules.refersTo("missing_episode", types: ["missing.started"], sameCase: true), Rules.notBefore("missing_episode", "completed")]),
    ]

    static let disruption = EventSpec("disruption.recorded", "a disruption tactic (§7.5) and its status", [
        FieldSpec("tactic", .disruption, "the tactic's code, D1-D29"),
        FieldSpec("status", .oneOf(["considered", "in_progress", "done", "not_pursued"]), "where it stands"),
        FieldSpec("not_pursued_reason", .oneOf(["insufficient_evidence", "not_proportionate", "victim_declined", "other"]), required: false, "why not pursued (required then)"),
        FieldSpec("positive_outcome", .bool, required: false, "whether it led to a positive intervention"),
    ], rules: [Rules.requiredWhen("not_pursued_reason", "status", "not_pursued")])

    static let link = EventSpec("link.recorded", "an intelligence link to a venue, vehicle, person of concern or another case (§7)", [
        FieldSpec("link_kind", .oneOf(["location", "vehicle", "person_of_concern", "other_case"]), "what the case is linked to"),
        FieldSpec("target", .reference, "a pseudonymous reference (VENUE-…, VEH-…, POI-…) or, for other_case, the case id"),
    ], rules: [Rules.linkedCaseOpened])

    static let strands = ["prepare", "prevent", "protect", "pursue"]
    static let actionSpecs: [EventSpec] = [
        EventSpec("action.set", "a MASE action with owner agency, due date and strand", [
            FieldSpec("action_ref", .reference, "the action's reference, e.g. MASE-2026-11-A3"),
            FieldSpec("owner_agency", .agency, "the agency that owns the action"),
            FieldSpec("due_date", .date, "when it is due"),
            FieldSpec("strand", .oneOf(strands), "Prepare, Prevent, Protect or Pursue"),
        ], rules: [Rules.dueNotBeforeSet, Rules.actionRefFree]),
        EventSpec("action.progressed", "progress on a MASE action", [FieldSpec("action_ref", .reference, "the action's reference")],
                  rules: [Rules.actionWasSet(completing: false)]),
        EventSpec("action.completed", "a MASE action completed", [FieldSpec("action_ref", .reference, "the action's reference")],
                  rules: [Rules.actionWasSet(completing: true)]),
    ]

    /// A reading of sealed details, recorded before they are opened (docs/PRIVACY.md).
    static let consulted = EventSpec("access.consulted", "details of a case's records read, with why, recorded before they were opened (DPA 2018 s.62)", [
        FieldSpec("records", .list(.eventRef, minCount: 1), "the events of the case whose details were read"),
        FieldSpec("purpose", .oneOf(["case_work", "strategy_discussion", "mase_panel", "quality_assurance", "subject_access_request", "legal_proceedings", "other"]),
                  "why they were read"),
    ], rules: [Rules.eachRefersToTheCase("records")])

    static let acknowledgement = EventSpec("acknowledgement.recorded", "the agency confirms it recorded a MASE decision on its own system (§7 principle 7)", [
        FieldSpec("decision_event", .eventRef, "the MASE meeting whose decisions are acknowledged"),
        FieldSpec("recorded_on_own_system", .bool, "whether it is recorded on the agency's own system"),
    ], rules: [Rules.refersTo("decision_event", types: ["meeting.mase"], sameCase: false), Rules.notBefore("decision_event", "the acknowledgement"),
               Rules.oneAcknowledgementPerAgency, Rules.acknowledgedUnderItsCase])

    static let escalationSpecs: [EventSpec] = [
        EventSpec("escalation.raised", "a professional disagreement escalated (§7)", [
            FieldSpec("with_agency", .agency, "the agency disagreed with"),
            FieldSpec("about", .oneOf(["threshold_decision", "no_response", "case_closure", "risk_level", "other"]), "what it is about"),
        ]),
        EventSpec("escalation.resolved", "an escalation resolved, with lessons reported to MASE", [
            FieldSpec("escalation", .eventRef, "the escalation.raised event"),
            FieldSpec("outcome", .oneOf(["agreed", "decision_changed", "escalated_further"]), "how it ended"),
            FieldSpec("lessons_reported_to_mase", .bool, "whether lessons learnt were reported to MASE"),
        ], rules: [Rules.refersTo("escalation", types: ["escalation.raised"], sameCase: true), Rules.notBefore("escalation", "the resolution")]),
    ]

    static let correction = EventSpec("correction.recorded", "a later event that corrects or retracts an earlier one (nothing is ever edited)", [
        FieldSpec("corrects_event", .eventRef, "the event being corrected or retracted"),
        FieldSpec("kind", .oneOf(["correction", "retraction"]), "correct it, or retract it altogether"),
        FieldSpec("reason", .oneOf(["wrong_case", "wrong_details", "duplicate", "recorded_in_error", "other"]), "why"),
    ], rules: [Rules.refersTo("corrects_event", types: nil, sameCase: false), Rules.correctsOwnAgencysEvent, Rules.notBefore("corrects_event", "the correction"),
               Rules.correctsItsOwnCase])

    static let legalHold = EventSpec("governance.legal_hold", "a hold on destroying records (inquiry, litigation)", [
        FieldSpec("action", .oneOf(["placed", "lifted"]), "placed or lifted"),
        FieldSpec("scope", .oneOf(["case", "ledger"]), "one case or the whole ledger"),
        FieldSpec("case_ref", .caseRef, required: false, "the case, when the scope is a case"),
        FieldSpec("reason", .oneOf(["inquiry", "litigation", "police_investigation", "other"]), "why"),
    ], rules: [Rules.requiredWhen("case_ref", "scope", "case"), Rules.liftsAHoldInForce])

    static let retentionReview = EventSpec("governance.retention_review", "a review of whether records are still kept", [
        FieldSpec("case_ref", .caseRef, "the case reviewed"),
        FieldSpec("decision", .oneOf(["retain", "destruction_due", "held", "destroyed"]),
                  "the outcome; destroyed: the case's details are erased now (its key and details records deleted), its facts kept"),
        FieldSpec("review_again_by", .date, required: false, "the next review"),
    ], rules: [Rules.destroyedOnlyAfterRetention])
}
