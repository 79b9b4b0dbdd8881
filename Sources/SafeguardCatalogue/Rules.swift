import SafeguardCore

/// The checks of the catalogue that span several fields or earlier events.
public enum Rules {
    static let screeningScoredUnderCurrentPolicy = EventSpec.Rule("`policy_version` is the `version` of the policy in force (`invalid_facts`).") { input in
        let v = input.policy.version
        guard input.facts.int("policy_version") == v else {
            return CatalogueError("facts.policy_version", "must be \(v), the version of the policy in force (\(input.policy.name))")
        }
        return nil
    }

    /// The screening's age and learning disability agree with the case, so that the level
    /// cannot be lowered by entering an older age (the under-13 rule) or leaving the flag off.
    static let screeningMatchesCase = EventSpec.Rule("""
        `age_years` is not more than the youngest the case's `birth_month` allows on the event's day: the year of that day less the birth \
        year, less 1 unless that day's month is after the birth month (an age that cannot be checked, with no birth month, passes); and \
        `learning_disability` is `true` when the case records a learning disability (`invalid_facts`).
        """) { input in
        guard let caseID = input.caseID, let age = input.facts.int("age_years") else { return nil }
        if let month = input.context.caseFact(caseID, "birth_month")?.stringValue,
            let youngest = Age.youngest(birthMonth: month, on: Day(london: input.occurredAt)), age > Int64(youngest)
        {
            return CatalogueError("facts.age_years", "\(age) is older than case \(caseID)'s birth month \(month) allows on that day (at most \(youngest)); correct the case's birth month if it is wrong")
        }
        if input.context.caseFact(caseID, "learning_disability")?.boolValue == true, input.facts.bool("learning_disability") == false {
            return CatalogueError("facts.learning_disability", "case \(caseID) records a learning disability; the screening must take it into account (true)")
        }
        return nil
    }

    /// About the details: checked when they are at hand.
    static let rationaleWhenLevelsDiffer = EventSpec.Rule("""
        When `practitioner_level` differs from `suggested_level`, the details hold `rationale`, a string with a character that is not \
        white space (checked when the details are at hand; `invalid_facts`).
        """) { input in
        guard let own = input.facts.string("practitioner_level"), own != input.facts.string("suggested_level"), let details = input.details else { return nil }
        guard let why = details["rationale"]?.stringValue, why.contains(where: { !$0.isWhitespace }) else {
            return CatalogueError("details.rationale", "is required when practitioner_level (\(own)) differs from suggested_level (\(input.facts.string("suggested_level") ?? "")): say why")
        }
        return nil
    }

    static let suggestedLevelMatches = EventSpec.Rule("`suggested_level` is the level the policy suggests for the screening's facts (see \"The suggested level\"; `invalid_facts`).") { input in
        guard let screening = Screening(facts: input.facts) else { return nil }
        let s = LevelSuggestion.suggest(screening, policy: input.policy)
        guard input.facts.string("suggested_level") == s.level.rawValue else {
            return CatalogueError("facts.suggested_level", "must be \(s.level.rawValue), the level the policy gives (\(s.reasons.joined(separator: "; "))); record your own judgement in practitioner_level")
        }
        return nil
    }

    /// The event named by `field` exists, has one of `types` (any type when nil) and, when
    /// `sameCase`, belongs to the same case.
    static func refersTo(_ field: String, types: [String]?, sameCase: Bool) -> EventSpec.Rule {
        let what = types.map { $0.map { "`\($0)`" }.joined(separator: " or ") + " event" } ?? "event"
        return EventSpec.Rule("`\(field)`, when given, is the id of an earlier \(what)" + (sameCase ? " of the same case" : "") + " (`bad_reference`).") { input in
            guard let id = input.facts.string(field) else { return nil }
            guard let target = input.context.event(id) else {
                return CatalogueError("facts.\(field)", "points at no event: \(id) is not in this ledger", .reference)
            }
            if let types, !types.contains(target.type) {
                return CatalogueError("facts.\(field)", "must point at a \(types.joined(separator: " or ")) event; \(id) is \(target.type)", .reference)
            }
            if sameCase, !sameBytes(target.caseID, input.caseID) {
                return CatalogueError("facts.\(field)", "points at an event of case \(target.caseID ?? "(none)"), not \(input.caseID ?? "(none)")", .reference)
            }
            return nil
        }
    }

    /// A case's details are destroyed only once it is closed, the policy's retention period has
    /// run from its closure, and no legal hold is in force on it or on the ledger.
    static let destroyedOnlyAfterRetention = EventSpec.Rule(
        "When `decision` is `destroyed`: the case is closed (`case_state`), the policy in force sets `retention.years_after_closure` and that many years have passed from the day the case was closed to this event's day (`invalid_facts`), and no legal hold is in force on the case or the ledger (`case_state`)."
    ) { input in
        guard input.facts.string("decision") == "destroyed", let c = input.facts.string("case_ref") else { return nil }
        guard let record = input.context.caseRecord(c), let closed = record.closedAt else {
            return CatalogueError("facts.case_ref", "case \(c) is open: its details are destroyed only after it is closed and its retention period has passed", .caseState)
        }
        guard let years = input.policy.retentionYears else {
            return CatalogueError("facts.decision", "the policy in force sets no retention period (retention.years_after_closure): nothing may be destroyed under it", .facts)
        }
        // From when the closing was recorded: its occurred_at may be given as any earlier time.
        let closing = Day(london: max(closed, record.closedRecordedAt ?? closed))
        let due = closing.adding(years: years)
        guard Day(london: input.occurredAt) >= due else {
            return CatalogueError("facts.decision", "case \(c)'s closing was recorded on \(closing); the policy keeps its records \(years) years from then, until \(due): record retain or destruction_due now", .facts)
        }
        if record.held || input.context.caseRecord(CaseBook.LegalHold.ledger)?.held == true {
            return CatalogueError("facts.case_ref", "a legal hold is in force on \(record.held ? "case \(c)" : "the whole ledger"): nothing is destroyed until it is lifted (governance.legal_hold, action lifted)", .caseState)
        }
        return nil
    }

    /// A legal hold is lifted only where one is in force for that reason.
    static let liftsAHoldInForce = EventSpec.Rule(
        "When `action` is `lifted`: a hold placed for the same `reason` on the same case (or, with `scope` `ledger`, on the whole ledger) is in force (`case_state`)."
    ) { input in
        guard input.facts.string("action") == "lifted", let reason = input.facts.string("reason") else { return nil }
        let target = input.facts.string("scope") == "ledger" ? CaseBook.LegalHold.ledger : input.facts.string("case_ref")
        guard let target else { return nil }
        guard input.context.caseRecord(target)?.holds.contains(reason) == true else {
            return CatalogueError("facts.action", "no legal hold for \(reason) is in force on \(target == CaseBook.LegalHold.ledger ? "the whole ledger" : "case \(target)"): a lift names the reason of a hold placed", .caseState)
        }
        return nil
    }

    /// Each event id of the list `field` names an earlier event of the same case, once.
    static func eachRefersToTheCase(_ field: String) -> EventSpec.Rule {
        EventSpec.Rule("Each id in `\(field)` is an earlier event of the same case, named once (`bad_reference`).") { input in
            var seen = Set<String>()
            for id in input.facts.strings(field) {
                guard seen.insert(id).inserted else { return CatalogueError("facts.\(field)", "names \(id) twice", .facts) }
                guard let target = input.context.event(id) else {
                    return CatalogueError("facts.\(field)", "points at no event: \(id) is not in this ledger", .reference)
                }
                if !sameBytes(target.caseID, input.caseID) {
                    return CatalogueError("facts.\(field)", "names \(id), an event of case \(target.caseID ?? "(none)"), not \(input.caseID ?? "(none)")", .reference)
                }
            }
            return nil
        }
    }

    /// The event named by `field` did not happen after this one ("returned before missing").
    static func notBefore(_ field: String, _ verb: String) -> EventSpec.Rule {
        EventSpec.Rule("The event `\(field)` names did not happen after this one: its `occurred_at` is not later (`bad_reference`).") { input in
            guard let id = input.facts.string(field), let target = input.context.event(id) else { return nil }
            guard target.occurredAt <= input.occurredAt else {
                return CatalogueError("occurred_at", "\(verb) at \(input.occurredAt) is before the \(target.type) it follows (\(field), at \(target.occurredAt)); check both dates", .reference)
            }
            return nil
        }
    }

    /// R5: MASE never takes a first referral; police must have recorded a CSE CRIS number.
    static let crisRecordedBeforeMASE = EventSpec.Rule("The case's `police_cris_recorded` is `true` (`case_state`).") { input in
        guard let c = input.caseID, input.context.caseFact(c, "police_cris_recorded")?.boolValue == true else {
            return CatalogueError("case_id", "case \(input.caseID ?? "") has no police CSE CRIS number on record: police record it (case-update --cris-number) before a MASE referral", .caseState)
        }
        return nil
    }

    /// A correction changes only what its own agency recorded, and never the log's governance.
    static let correctsOwnAgencysEvent = EventSpec.Rule("""
        The event `corrects_event` names is not a governance event, and was recorded by the agency recording the correction \
        (`not_own_event`).
        """) { input in
        guard let id = input.facts.string("corrects_event"), let target = input.context.event(id) else { return nil }
        if LogType.family(of: target.type) == LogType.governanceFamily {
            return CatalogueError("facts.corrects_event", "governance events are not corrected; the log's own events (keys, policy) change by new governance events", .correction)
        }
        guard sameBytes(target.agency, input.agency) else {
            return CatalogueError("facts.corrects_event", "\(target.type) was recorded by \(target.agency); only \(target.agency) can correct or retract it (ask them, or record your own account)", .correction)
        }
        return nil
    }

    static let dueNotBeforeSet = EventSpec.Rule("`due_date` is not before the event's day (`invalid_facts`).") { input in
        guard let due = input.facts.day("due_date"), due >= Day(london: input.occurredAt) else {
            return input.facts["due_date"] == nil ? nil : CatalogueError("facts.due_date", "\(input.facts.string("due_date") ?? "") is before the action was set (\(Day(london: input.occurredAt)))")
        }
        return nil
    }

    /// A birth month the child can have: not after the event, and under 26 at it.
    static let plausibleBirthMonth = EventSpec.Rule("""
        `birth_month`, when given, is a month whose first day is not after the event's day, and the youngest age it allows on that day \
        (as for a screening's `age_years`) is at most 25 (`invalid_facts`).
        """) { input in
        guard let month = input.facts.string("birth_month"), let age = Age.youngest(birthMonth: month, on: Day(london: input.occurredAt)) else { return nil }
        guard let first = Day(iso: month + "-01"), first <= Day(london: input.occurredAt), age <= 25 else {
            return CatalogueError("facts.birth_month", "\(month) is not possible for a child or young person at \(input.occurredAt.date) (born by then, under 26)")
        }
        return nil
    }

    static func requiredWhen(_ field: String, _ other: String, _ value: String) -> EventSpec.Rule {
        EventSpec.Rule("`\(field)` is given when `\(other)` is `\(value)` (`invalid_facts`).") { input in
            if input.facts.string(other) == value, input.facts[field] == nil {
                return CatalogueError("facts.\(field)", "is required when \(other) is \(value)")
            }
            return nil
        }
    }

    static let consentAnswered = EventSpec.Rule("""
        When `consent_sought` is `true`, `consent_given` is given and `consent_not_sought_reason` is not; otherwise \
        `consent_not_sought_reason` is given (`invalid_facts`).
        """) { input in
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

    static let informedOrWhyNot = EventSpec.Rule("When `subject_informed` is `false`, `subject_not_informed_reason` is given (`invalid_facts`).") { input in
        if input.facts.bool("subject_informed") == false, input.facts["subject_not_informed_reason"] == nil {
            return CatalogueError("facts.subject_not_informed_reason", "is required when the child or family were not told; one of \(Catalogue.whyNot.joined(separator: ", "))")
        }
        return nil
    }

    static let caseAmongDiscussed = EventSpec.Rule("`cases_discussed` includes the event's own case (`invalid_facts`).") { input in
        guard let c = input.caseID, input.facts.strings("cases_discussed").contains(where: { sameBytes($0, c) }) else {
            return CatalogueError("facts.cases_discussed", "must include this event's case \(input.caseID ?? "")")
        }
        return nil
    }

    static let linkedCaseOpened = EventSpec.Rule("""
        When `link_kind` is `other_case`, `target` is not the event's own case (`invalid_facts`) and is a case that has been opened \
        (`case_state`).
        """) { input in
        guard input.facts.string("link_kind") == "other_case", let target = input.facts.string("target") else { return nil }
        if sameBytes(target, input.caseID) { return CatalogueError("facts.target", "a case cannot be linked to itself") }
        if input.context.caseStatus(target) == .neverOpened {
            return CatalogueError("facts.target", "case \(target) was never opened", .caseState)
        }
        return nil
    }

    // MARK: Recording checks (a policy with `recording_checks`)

    static let actionRefFree = EventSpec.Rule("""
        Under a policy with `recording_checks`: `action_ref` is not already set for the case, even by an action since retracted \
        (`case_state`).
        """) { input in
        guard input.policy.recordingChecks != nil, let c = input.caseID, let ref = input.facts.string("action_ref"),
            input.context.caseRecord(c)?.actionsSet.contains(ref) == true else { return nil }
        return CatalogueError("facts.action_ref", "\(ref) is already set for case \(c): give this action its own reference (record progress on \(ref) with action-progressed)", .caseState)
    }

    static func actionWasSet(completing: Bool) -> EventSpec.Rule {
        EventSpec.Rule("Under a policy with `recording_checks`: `action_ref` was set for the case (`action.set`)"
                       + (completing ? " and has not been completed already" : "") + " (`case_state`).") { input in
            guard input.policy.recordingChecks != nil, let c = input.caseID, let ref = input.facts.string("action_ref"),
                let r = input.context.caseRecord(c) else { return nil }
            guard r.actionsSet.contains(ref) else {
                return CatalogueError("facts.action_ref", "no MASE action \(ref) was set for case \(c): check the reference ('safeguard case next \(c)' lists the open actions), or record action-set first", .caseState)
            }
            if completing, r.actionsCompleted.contains(ref) {
                return CatalogueError("facts.action_ref", "MASE action \(ref) of case \(c) is already completed", .caseState)
            }
            return nil
        }
    }

    static let oneAcknowledgementPerAgency = EventSpec.Rule("""
        Under a policy with `recording_checks`: the recording agency has not already acknowledged the MASE meeting `decision_event` \
        names, under any case (`case_state`).
        """) { input in
        guard input.policy.recordingChecks != nil, let m = input.facts.string("decision_event"), let held = input.context.event(m)?.caseID,
            input.context.caseRecord(held)?.meetings[m]?.acknowledged.contains(input.agency) == true else { return nil }
        return CatalogueError("facts.decision_event", "\(input.agency) has already acknowledged the decisions of this MASE meeting; one acknowledgement per agency is kept", .caseState)
    }

    /// Whether `text` holds a character a reader can see: not white space, a control or a
    /// format character (such as a zero-width space).
    public static func isVisible(_ text: String) -> Bool {
        text.unicodeScalars.contains { s in
            switch s.properties.generalCategory {
            case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .unassigned, .surrogate, .privateUse: return false
            default: return !s.properties.isWhitespace
            }
        }
    }

    static let despiteHasReason = EventSpec.Rule("""
        When `closed_despite` is `true`, the details hold `closed_despite_reason`, a string with a character a reader can see (checked \
        when the details are at hand; `invalid_facts`).
        """) { input in
        guard input.facts.bool("closed_despite") == true, let details = input.details else { return nil }
        guard let why = details["closed_despite_reason"]?.stringValue, isVisible(why) else {
            return CatalogueError("details.closed_despite_reason", "is required when closed_despite is true: say why the case closes with them open (--despite REASON)")
        }
        return nil
    }

    static let acknowledgedUnderItsCase = EventSpec.Rule("""
        Under a policy with `recording_checks`: the MASE meeting `decision_event` names was recorded under the acknowledgement's \
        case or discussed it (`bad_reference`).
        """) { input in
        guard input.policy.recordingChecks != nil, let m = input.facts.string("decision_event"), let c = input.caseID,
            let target = input.context.event(m), !sameBytes(target.caseID, c), !input.context.meetingsDiscussing(c).contains(m) else { return nil }
        return CatalogueError("facts.decision_event", "is a MASE meeting of case \(target.caseID ?? "(none)") that did not discuss \(c): record the acknowledgement under a case it discussed", .reference)
    }

    static let correctsItsOwnCase = EventSpec.Rule("""
        Under a policy with `recording_checks`: the event `corrects_event` names is a record of the same case (`bad_reference`), so that \
        the case's own log shows what corrects it.
        """) { input in
        guard input.policy.recordingChecks != nil, let id = input.facts.string("corrects_event"), let target = input.context.event(id),
            !sameBytes(target.caseID, input.caseID) else { return nil }
        return CatalogueError("facts.corrects_event", "is a record of case \(target.caseID ?? "(none)"), not \(input.caseID ?? "(none)"): record the correction under that case", .reference)
    }

    static let closedDespite = EventSpec.Rule("""
        Under a policy with `recording_checks`: when the case has an `escalation.raised` not resolved with lessons reported to MASE \
        (nor retracted), or a MASE meeting recorded under it or discussing it (not retracted) with an attendee other than the \
        partnership that has not acknowledged its decisions, `closed_despite` is `true` (`case_state`).
        """) { input in
        guard input.policy.recordingChecks != nil, let c = input.caseID, input.facts.bool("closed_despite") != true else { return nil }
        let open = openAtClosing(c, input.context)
        guard !open.isEmpty else { return nil }
        return CatalogueError("facts.closed_despite", "case \(c) has \(open.joined(separator: " and ")): record them first, or close with --despite REASON", .caseState)
    }

    /// What stands open when case `c` closes: escalations and unacknowledged MASE decisions.
    static func openAtClosing(_ c: String, _ context: RecordingContext) -> [String] {
        guard let r = context.caseRecord(c) else { return [] }
        var open: [String] = []
        if !r.openEscalations.isEmpty {
            let days = r.openEscalations.compactMap { context.event($0)?.occurredAt }.sorted().map { Day(london: $0).spoken }
            open.append("the escalation\(days.count == 1 ? "" : "s") of \(days.joined(separator: ", ")) not resolved with lessons reported to MASE")
        }
        var pending = Set<String>()
        for m in r.meetings.values { pending.formUnion(m.pending) }
        for id in context.meetingsDiscussing(c) {
            guard let held = context.event(id)?.caseID, let m = context.caseRecord(held)?.meetings[id] else { continue }
            pending.formUnion(m.pending)
        }
        if !pending.isEmpty { open.append("MASE decisions not yet acknowledged by \(pending.sorted().joined(separator: ", "))") }
        return open
    }

    /// Every event of a case but its opening: not before the child's birth month, and not more
    /// than the policy's span before the case was first opened unless recorded as `historic`.
    static func withinCase(_ entry: Catalogue.Entry, _ checks: PolicyDocument.RecordingChecks, _ context: RecordingContext) -> CatalogueError? {
        guard let c = entry.caseID, entry.type != "case.opened", let r = context.caseRecord(c) else { return nil }
        let day = Day(london: entry.occurredAt)
        if let month = r.birthMonth, let first = Day(iso: month + "-01"), day < first {
            return CatalogueError("occurred_at", "\(day) is before case \(c)'s birth month \(month): check the date (or correct the birth month with case-update)")
        }
        if let opened = r.openedAt, entry.facts["historic"]?.boolValue != true {
            let before = Day(london: opened).number - day.number
            if before > Int64(checks.historicSpanDays) {
                return CatalogueError("occurred_at", "\(day) is \(before) days before case \(c) was opened (\(Day(london: opened))); the policy allows \(checks.historicSpanDays): check the date, or record it with --historic REASON if it really happened then")
            }
        }
        return nil
    }
}

