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
