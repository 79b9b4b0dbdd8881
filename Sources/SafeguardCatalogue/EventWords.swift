import SafeguardCore

/// A record's coded facts in words, for a practitioner reading a case's chronology: each fact
/// in the catalogue's order, codes with their labels (indicators, vulnerabilities, disruption
/// tactics), yes or no for flags, and earlier events by the name the reader gives them (their
/// seq). It reads facts only: never the details (names, narrative).
public enum EventWords {
    public static func describe(type: String, facts: Facts, policy: PolicyDocument, eventName: (String) -> String = { String($0.prefix(8)) }) -> String {
        guard let spec = Catalogue.specs[type] else { return facts.values.keys.sorted().map { "\(words($0)) \(facts[$0].map(plain) ?? "")" }.joined(separator: "; ") }
        var parts: [String] = []
        for field in spec.fields {
            guard let v = facts[field.name], let text = value(v, field.kind, policy: policy, eventName: eventName), !text.isEmpty else { continue }
            parts.append("\(label(field.name)): \(text)")
        }
        // A screening says why the policy suggests its level.
        if type.hasPrefix("screening."), let s = Screening(facts: facts) {
            parts.append("why: " + LevelSuggestion.suggest(s, policy: policy).reasons.joined(separator: "; "))
        }
        // Common facts outside the spec (historic, and the like).
        for k in facts.values.keys.sorted() where !spec.names.contains(k) {
            parts.append("\(label(k)): \(plain(facts[k]!))")
        }
        return parts.joined(separator: "; ")
    }

    static func value(_ v: JSONValue, _ kind: FieldKind, policy: PolicyDocument, eventName: (String) -> String) -> String? {
        switch kind {
        case .indicator:
            guard let c = v.stringValue else { return plain(v) }
            return policy.indicators[c].map { "\(c) \($0.label)" } ?? c
        case .vulnerability:
            guard let c = v.stringValue else { return plain(v) }
            return policy.vulnerabilities[c].map { "\(c) \($0)" } ?? c
        case .disruption:
            guard let c = v.stringValue else { return plain(v) }
            return policy.disruptions[c].map { "\(c) \($0)" } ?? c
        case .eventRef:
            return v.stringValue.map(eventName) ?? plain(v)
        case .oneOf, .agency:
            return v.stringValue.map(words) ?? plain(v)
        case .bool:
            return v.boolValue.map { $0 ? "yes" : "no" } ?? plain(v)
        case .list(let inner, _):
            guard let items = v.arrayValue else { return plain(v) }
            if items.isEmpty { return "none" }
            return items.compactMap { value($0, inner, policy: policy, eventName: eventName) }.joined(separator: ", ")
        case .screeningIndicators:
            guard let items = v.arrayValue else { return plain(v) }
            if items.isEmpty { return "none" }
            return items.map { item -> String in
                let code = item["code"]?.stringValue ?? "?"
                let label = policy.indicators[code].map { " \($0.label)" } ?? ""
                return code + label + (item["timing"]?.stringValue.map { " (\($0))" } ?? "")
            }.joined(separator: ", ")
        case .caseRef, .reference, .date, .month, .integer:
            return plain(v)
        }
    }

    /// `face_to_face` as "face to face".
    /// (A code with digits, such as a lawful basis, stays as it is.)
    static func words(_ s: String) -> String { s.contains(where: \.isNumber) ? s : String(s.map { $0 == "_" ? " " : $0 }) }

    /// A fact's name as a reader says it.
    static func label(_ name: String) -> String {
        let special = ["age_years": "age", "practitioner_level": "level (practitioner)", "suggested_level": "level (suggested)", "to_agency": "with",
                       "police_cris_recorded": "police CSE CRIS number recorded", "lessons_reported_to_mase": "lessons reported to MASE",
                       "subject_informed": "child or family told", "decision_event": "MASE meeting", "cases_discussed": "cases"]
        return special[name] ?? words(name)
    }

    static func plain(_ v: JSONValue) -> String {
        if let s = v.stringValue { return s }
        if let b = v.boolValue { return b ? "yes" : "no" }
        if let i = v.integerValue { return String(i) }
        if let a = v.arrayValue { return a.map(plain).joined(separator: ", ") }
        return (try? CanonicalJSON.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}

/// What reports print beside a type or a coded value: a few words a panel reads at a glance.
public enum CodeLabels {
    static let types: [String: String] = [
        "referral.mash_written": "written MASH referral", "referral.mash_telephone": "telephone MASH referral",
        "referral.mase": "referral to the MASE panel", "referral.ewo": "referral to the education welfare officer",
        "referral.adult_social_care": "referral to adult social care", "referral.rhi_provider": "referral to the return home interview provider",
        "decision.mash": "MASH decision", "decision.s17": "section 17 assessment outcome", "decision.strategy": "strategy meeting outcome",
        "decision.s47": "section 47 enquiry outcome", "decision.cin_plan": "child in need plan", "decision.early_help": "early help",
        "decision.nfa": "no further action",
    ]
    static let values: [String: String] = [
        "strategy_discussion": "strategy discussion", "s17_assessment": "section 17 assessment", "s47_enquiry": "section 47 enquiry",
        "refer_other_agency": "referred to another agency", "nfa": "no further action", "cin_plan": "child in need plan",
        "step_up_s47": "stepped up to a section 47 enquiry", "s47": "section 47 enquiry", "early_help_plan": "early help plan",
        "child_protection_conference": "child protection conference", "family_caf": "Family CAF", "early_help_assessment": "early help assessment",
        "no_cse_concerns": "no CSE concerns", "threshold_not_met": "threshold not met",
    ]

    /// The type in a few words (`decision.s47` → "section 47 enquiry outcome"); its catalogue
    /// summary when there is no shorter one.
    public static func type(_ type: String) -> String { types[type] ?? Catalogue.specs[type]?.summary ?? type }

    /// A coded value in words (`s17_assessment` → "section 17 assessment").
    public static func value(_ code: String) -> String { values[code] ?? EventWords.words(code) }
}
