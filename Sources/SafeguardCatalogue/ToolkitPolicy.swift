import SafeguardCore

/// The default policy document: the Sutton LSCB CSE practice toolkit (2018) as data. It is
/// recorded in the log by `safeguard init` (a `governance.policy_set` event), and a
/// partnership can record its own with `safeguard policy set`; code reads it only through
/// `Policy` (the permissions verification needs) and the catalogue's `PolicyDocument`
/// (indicators, levels, deadlines, calendar). Indicator labels paraphrase the toolkit's screening tool; deadlines
/// marked "local" are the project's assumptions (DOMAIN.md "local policy, configurable").
public enum ToolkitPolicy {
    /// The document's version: 2 since the toolkit-fidelity review (which level drives the
    /// rules, a deadline for telling the referrer of NFA, and permissions reviewed family by
    /// family against the toolkit); 3 since the recording checks (`recording_checks`).
    public static var version: Int64 { document["version"]?.integerValue ?? 0 }

    /// The document, parsed.
    public static let document: JSONValue = {
        guard let v = try? JSONParser.parse(Array(json.utf8)) else { fatalError("the built-in policy document is not valid JSON") }
        return v
    }()

    public static let json = #"""
{
  "name": "sutton-cse-toolkit-2018",
  "version": 3,
  "permissions": {
    "police": ["acknowledgement.*", "case.opened", "case.updated", "case.transferred", "case.closed", "case.transition", "contact.*", "correction.*", "decision.strategy", "disruption.*", "escalation.*", "link.*", "meeting.*", "action.*", "missing.*", "referral.mash_telephone", "referral.mash_written", "referral.rhi_provider", "screening.*", "sharing.*"],
    "csc": ["acknowledgement.*", "action.*", "case.*", "contact.*", "correction.*", "decision.*", "disruption.*", "escalation.*", "link.*", "meeting.*", "missing.*", "referral.*", "screening.*", "sharing.*"],
    "health": ["acknowledgement.*", "action.completed", "action.progressed", "case.opened", "case.updated", "contact.*", "correction.*", "decision.early_help", "escalation.*", "link.*", "meeting.network", "missing.*", "referral.mash_telephone", "referral.mash_written", "screening.cse_tool", "sharing.*"],
    "education": ["acknowledgement.*", "action.completed", "action.progressed", "case.opened", "case.updated", "contact.*", "correction.*", "decision.early_help", "escalation.*", "link.*", "meeting.network", "missing.*", "referral.ewo", "referral.mash_telephone", "referral.mash_written", "screening.cse_tool", "sharing.*"],
    "voluntary": ["acknowledgement.*", "action.completed", "action.progressed", "case.opened", "case.updated", "contact.*", "correction.*", "decision.early_help", "escalation.*", "link.*", "meeting.network", "missing.*", "referral.mash_telephone", "referral.mash_written", "screening.cse_tool", "sharing.*"],
    "mash": ["acknowledgement.*", "case.*", "contact.*", "correction.*", "decision.mash", "decision.nfa", "decision.strategy", "escalation.*", "link.*", "meeting.network", "meeting.strategy", "missing.*", "referral.mash_telephone", "referral.mash_written", "screening.*", "sharing.*"],
    "partnership": ["acknowledgement.*", "action.*", "correction.*", "governance.legal_hold", "governance.retention_review", "meeting.*"]
  },
  "restricted_facts": [
    {"type": "case.updated", "field": "police_cris_recorded", "agencies": ["police"], "why": "only police record a CSE CRIS number"},
    {"type": "sharing.shared", "field": "lawful_basis", "values": ["dpa_2018_part3_sch8_para4_law_enforcement"], "agencies": ["police"], "why": "DPA 2018 Part 3 (law enforcement) is a basis for police only"},
    {"type": "sharing.partly_shared", "field": "lawful_basis", "values": ["dpa_2018_part3_sch8_para4_law_enforcement"], "agencies": ["police"], "why": "DPA 2018 Part 3 (law enforcement) is a basis for police only"},
    {"type": "disruption.recorded", "field": "tactic", "values": ["D1", "D2"], "agencies": ["police"], "why": "only police record a PNC marker"}
  ],
  "indicators": [
    {"code": "S1", "set": "significant", "column": "complex", "label": "periods of going missing, day and/or night"},
    {"code": "S2", "set": "significant", "column": "complex", "label": "relationship of concern with a controlling adult or young person"},
    {"code": "S3", "set": "significant", "column": "complex", "label": "entering or leaving vehicles driven by unknown adults"},
    {"code": "S4", "set": "significant", "column": "complex", "label": "unexplained money, expensive clothes or other items"},
    {"code": "S5", "set": "significant", "column": "complex", "label": "frequenting areas known for risky activities (hotspots)"},
    {"code": "S6", "set": "significant", "column": "complex", "label": "groomed or abused via the internet and mobile technology"},
    {"code": "S7", "set": "significant", "column": "complex", "label": "unexplained contact with hotels, taxi companies or fast food outlets"},
    {"code": "A1", "set": "additional", "column": "additional", "label": "whereabouts unclear or unknown, day and/or night"},
    {"code": "A2", "set": "additional", "column": "additional", "label": "absence or exclusion from school, or not engaged in education, training or work"},
    {"code": "A3", "set": "additional", "column": "additional", "label": "multiple callers: unknown adults or young people"},
    {"code": "A4", "set": "additional", "column": "additional", "label": "physical injuries without plausible explanation"},
    {"code": "A5", "set": "additional", "column": "acute", "label": "sexually transmitted infections, pregnancies or terminations"},
    {"code": "A6", "set": "additional", "column": "additional", "label": "drugs misuse"},
    {"code": "A7", "set": "additional", "column": "additional", "label": "alcohol misuse"},
    {"code": "A8", "set": "additional", "column": "additional", "label": "self-harm, challenging behaviour, suicide attempts, eating disorders or aggression"},
    {"code": "A9", "set": "additional", "column": "additional", "label": "mobile phone use causing concern (sexting, multiple phones or SIMs)"},
    {"code": "A10", "set": "additional", "column": "additional", "label": "unsafe use of the internet"},
    {"code": "A11", "set": "additional", "column": "additional", "label": "has been sexually assaulted"},
    {"code": "A12", "set": "additional", "column": "acute", "label": "disclosure of sexual or physical assault followed by withdrawal"},
    {"code": "A13", "set": "additional", "column": "acute", "label": "risky or inappropriate sexual behaviour"},
    {"code": "A14", "set": "additional", "column": "additional", "label": "lack of awareness or understanding of being safe"},
    {"code": "A15", "set": "additional", "column": "complex", "label": "peers involved in sexual exploitation or risky behaviour"},
    {"code": "A16", "set": "additional", "column": "acute", "label": "living independently and failing to respond to workers"},
    {"code": "A17", "set": "additional", "column": "complex", "label": "A&E attendance because of alcohol or drug misuse"},
    {"code": "A18", "set": "additional", "column": "additional", "label": "accompanied to appointments by an unknown person causing concern"},
    {"code": "A19", "set": "additional", "column": "acute", "label": "association with gang members suggesting sexual exploitation"}
  ],
  "vulnerabilities": [
    {"code": "V1", "label": "unsuitable or inappropriate accommodation, sofa surfing"},
    {"code": "V2", "label": "isolated from peers, family or social networks"},
    {"code": "V3", "label": "sexual abuse during childhood"},
    {"code": "V4", "label": "history of local authority care"},
    {"code": "V5", "label": "involvement in criminal activity or at risk of gang involvement"}
  ],
  "columns": [
    {"column": "universal", "level": "low"},
    {"column": "additional", "level": "medium"},
    {"column": "complex", "level": "significant"},
    {"column": "acute", "level": "significant", "urgent": true}
  ],
  "level_rules": {
    "prior_only_cap": "additional",
    "significant_under_age": 13,
    "significant_with_learning_disability": true,
    "level_for_rules": "practitioner"
  },
  "deadlines": {
    "mash_referral_significant_working_days": 0,
    "mash_referral_medium_working_days": 1,
    "written_after_telephone_working_days": 1,
    "family_caf_working_days": 10,
    "rhi_offer_hours": 72,
    "late_recording_working_days": 2,
    "transition_months_before_18": 6,
    "nfa_referrer_told_working_days": 1
  },
  "recording_checks": {
    "historic_span_days": 365
  },
  "disruptions": [
    {"code": "D1", "label": "PNC marker on the child"}, {"code": "D2", "label": "PNC marker on the suspect"},
    {"code": "D3", "label": "child abduction warning notice"}, {"code": "D4", "label": "missing-episode debrief lead"},
    {"code": "D5", "label": "forensic strategy"}, {"code": "D6", "label": "civil orders"},
    {"code": "D7", "label": "other legislation (e.g. harassment)"}, {"code": "D8", "label": "phone tracker"},
    {"code": "D9", "label": "disclosure to relevant people"}, {"code": "D10", "label": "secure accommodation"},
    {"code": "D11", "label": "ANPR on vehicles"}, {"code": "D12", "label": "CCTV briefing"},
    {"code": "D13", "label": "briefing sheets"}, {"code": "D14", "label": "covert tactics"},
    {"code": "D15", "label": "source tasking"}, {"code": "D16", "label": "DNA or forensic examination"},
    {"code": "D17", "label": "financial investigation"}, {"code": "D18", "label": "home visits to suspect's address"},
    {"code": "D19", "label": "hotels"}, {"code": "D20", "label": "parks and town centres"},
    {"code": "D21", "label": "takeaways and taxi firms"}, {"code": "D22", "label": "children's homes"},
    {"code": "D23", "label": "schools"}, {"code": "D24", "label": "immigration status"},
    {"code": "D25", "label": "MAPPA or PDP referral"}, {"code": "D26", "label": "targeting for other offences"},
    {"code": "D27", "label": "technology (s18 PACE searches)"}, {"code": "D28", "label": "social media"},
    {"code": "D29", "label": "search warrants"}
  ],
  "bank_holidays": {
    "region": "England and Wales",
    "dates": [
      "2023-01-02", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08", "2023-05-29", "2023-08-28", "2023-12-25", "2023-12-26",
      "2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26", "2024-12-25", "2024-12-26",
      "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26",
      "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
      "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
      "2028-01-03", "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28", "2028-12-25", "2028-12-26"
    ]
  }
}
"""#
}

extension ToolkitPolicy {
    /// `document` with a `sealing` member (docs/FORMAT.md §3.5): each agency's key and the
    /// agencies entitled to every case; and `access.consulted` granted to every agency, so
    /// that each reading of sealed details can be recorded. The version is left as it is.
    public static func sealed(_ document: JSONValue, agencyKeys: [String: PublicKey], everyCase: [String]) -> JSONValue {
        guard case .object(var doc) = document else { return document }
        doc["sealing"] = .object([
            "agency_keys": .object(agencyKeys.mapValues { .string($0.base64) }),
            "every_case": .array(everyCase.map { .string($0) }),
        ])
        if case .object(var perms)? = doc["permissions"] {
            for (agency, list) in perms {
                guard case .array(var types) = list, !types.contains(.string("access.consulted")), !types.contains(.string("access.*")) else { continue }
                types.append(.string("access.consulted"))
                perms[agency] = .array(types)
            }
            doc["permissions"] = .object(perms)
        }
        return .object(doc)
    }

    /// The agencies entitled to every case's details unless a partnership chooses otherwise:
    /// the statutory safeguarding partners (police, the local authority's children's social
    /// care, health), the hub that screens for them, and the MASE chair.
    public static let everyCaseByDefault = ["csc", "health", "mash", "partnership", "police"]
}
