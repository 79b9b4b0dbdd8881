import SafeguardCore

/// The checks of the catalogue that span several fields or earlier events.
enum Rules {
    static let screeningScoredUnderCurrentPolicy: EventSpec.Rule = { input in
        let v = input.context.policy.version
        guard input.facts.int("policy_version") == v else {
            return CatalogueError("facts.policy_version", "must be \(v), the version of the policy in force (\(input.context.policy.name))")
        }
        return nil
    }

    static let suggestedLevelMatches: EventSpec.Rule = { input in
        guard let screening = Screening(facts: input.facts) else { return nil }
        let s = LevelSuggestion.suggest(screening, policy: input.context.policy)
        guard input.facts.string("suggested_level") == s.level.rawValue else {
            return CatalogueError("facts.suggested_level", "must be \(s.level.rawValue), the level the policy gives (\(s.reasons.joined(separator: "; "))); record your own judgement in practitioner_level")
        }
        return nil
    }

    /// The event named by `field` exists, has one of `types` (any type when nil) and, when
    /// `sameCase`, belongs to the same case.
    static func refersTo(_ field: String, types: [String]?, sameCase: Bool) -> EventSpec.Rule {
        { input in
            guard let id = input.facts.string(field) else { return nil }
            guard let target = input.context.event(id) else {
                return CatalogueError("facts.\(field)", "points at no event: \(id) is not in this ledger")
            }
            if let types, !types.contains(target.type) {
                return CatalogueError("facts.\(field)", "must point at a \(types.joined(separator: " or ")) event; \(id) is \(target.type)")
            }
            if sameCase, !sameBytes(target.caseID, input.caseID) {
                return CatalogueError("facts.\(field)", "points at an event of case \(target.caseID ?? "(none)"), not \(input.caseID ?? "(none)")")
            }
            return nil
        }
    }

    /// The event named by `field` did not happen after this one ("returned before missing").
    static func notBefore(_ field: String, _ verb: String) -> EventSpec.Rule {
        { input in
            guard let id = input.facts.string(field), let target = input.context.event(id) else { return nil }
            guard target.occurredAt <= input.occurredAt else {
                return CatalogueError("occurred_at", "\(verb) at \(input.occurredAt) is before the episode it follows started (\(target.occurredAt)); check both dates")
            }
            return nil
        }
    }

    static func requiredWhen(_ field: String, _ other: String, _ value: String) -> EventSpec.Rule {
        { input in
            if input.facts.string(other) == value, input.facts[field] == nil {
                return CatalogueError("facts.\(field)", "is required when \(other) is \(value)")
            }
            return nil
        }
    }

    static let consentAnswered: EventSpec.Rule = { input in
        let f = input.facts
        if f.bool("consent_sought") == true {
            if f["consent_given"] == nil { return CatalogueError("facts.consent_given", "is required when consent was sought: was it given?") }
            if f["consent_not_sought_reason"] != nil {
                return CatalogueError("facts.consent_not_sought_reason", "must be left out when consent was sought")
            }
        } else if f["consent_not_sought_reason"] == nil {
            return CatalogueError("facts.consent_not_sought_reason", "is required when consent was not sought; one of \(Catalogue.whyNot.joined(separator: ", "))")
        }
        return nil
    }

    static let informedOrWhyNot: EventSpec.Rule = { input in
        if input.facts.bool("subject_informed") == false, input.facts["subject_not_informed_reason"] == nil {
            return CatalogueError("facts.subject_not_informed_reason", "is required when the child or family were not told; one of \(Catalogue.whyNot.joined(separator: ", "))")
        }
        return nil
    }

    static let caseAmongDiscussed: EventSpec.Rule = { input in
        guard let c = input.caseID, input.facts.strings("cases_discussed").contains(where: { sameBytes($0, c) }) else {
            return CatalogueError("facts.cases_discussed", "must include this event's case \(input.caseID ?? "")")
        }
        return nil
    }

    static let linkedCaseOpened: EventSpec.Rule = { input in
        guard input.facts.string("link_kind") == "other_case", let target = input.facts.string("target") else { return nil }
        if sameBytes(target, input.caseID) { return CatalogueError("facts.target", "a case cannot be linked to itself") }
        if input.context.caseStatus(target) == .neverOpened {
            return CatalogueError("facts.target", "case \(target) was never opened")
        }
        return nil
    }
}
