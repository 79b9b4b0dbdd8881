import SafeguardCore

/// One event of a case, as the next-steps rules read it.
public struct CaseEvent: Sendable {
    public let eventID: String
    public let type: String
    public let occurredAt: Timestamp
    public let facts: Facts
    /// The agency that recorded it.
    public let agency: String

    public init(eventID: String, type: String, occurredAt: Timestamp, facts: Facts, agency: String = "") {
        self.eventID = eventID; self.type = type; self.occurredAt = occurredAt; self.facts = facts; self.agency = agency
    }

    public init(_ e: Envelope) {
        self.init(eventID: e.eventID, type: e.type, occurredAt: e.occurredAt, facts: Facts(e.facts), agency: e.actor.agency)
    }

    var day: Day { Day(london: occurredAt) }
}

/// Something the toolkit requires next for a case.
public struct NextStep: Equatable, Sendable {
    /// The recording-practice rule it comes from (R1-R15).
    public let rule: String
    public let what: String
    public let due: Day?
    /// Working days past `due` on the day asked about; nil when not overdue.
    public let overdueBy: Int?

    /// e.g. "Referral to MASH required by Tue 1 Dec 2026 (R1)".
    public var sentence: String {
        var s = what
        if let due { s += " by \(due.spoken)" }
        if let o = overdueBy { s += ", overdue by \(o) working day\(o == 1 ? "" : "s")" }
        return s + " (\(rule))"
    }
}

/// Ages from a birth month. The exact date of birth is identifying and lives in details, so
/// ages are computed conservatively: the youngest the child can be.
public enum Age {
    /// Whole years on `day` for a child born at the latest on the last day of `birthMonth`.
    public static func youngest(birthMonth: String, on day: Day) -> Int? {
        guard let first = Day(iso: birthMonth + "-01") else { return nil }
        let b = first.description, d = day.description
        let by = Int(b.prefix(4))!, bm = Int(b.dropFirst(5).prefix(2))!
        let dy = Int(d.prefix(4))!, dm = Int(d.dropFirst(5).prefix(2))!
        // Until the month after the birth month, the birthday may not have come yet.
        return dy - by - (dm > bm ? 0 : 1)
    }

    /// The earliest possible 18th birthday: the first day of the birth month, 18 years on.
    public static func earliestEighteenth(birthMonth: String) -> Day? {
        guard let y = Int(birthMonth.prefix(4)) else { return nil }
        return Day(iso: "\(y + 18)-\(birthMonth.suffix(2))-01")
    }
}

/// What both the next-steps and the late-steps rules read from a case: its events less the
/// retracted ones, and its latest screening with the level that drives action (the higher of
/// the suggested and the practitioner's) and the time of the screening before it.
struct CaseReading {
    let live: [CaseEvent]
    let screening: CaseEvent?
    let suggestion: LevelSuggestion?
    let level: RiskLevel
    let since: Timestamp

    init(_ events: [CaseEvent], policy: PolicyDocument) {
        let retracted = Set(events.filter { $0.type == "correction.recorded" && $0.facts.string("kind") == "retraction" }
            .compactMap { $0.facts.string("corrects_event") })
        live = events.filter { !retracted.contains($0.eventID) }
        let screenings = live.filter { $0.type.hasPrefix("screening.") }
        since = screenings.dropLast().last?.occurredAt ?? Timestamp(seconds: Int64.min / 2)
        if let last = screenings.last, let s = Screening(facts: last.facts) {
            screening = last
            let suggested = LevelSuggestion.suggest(s, policy: policy)
            suggestion = suggested
            level = max(last.facts.string("practitioner_level").flatMap(RiskLevel.init(rawValue:)) ?? .none, suggested.level)
        } else {
            screening = nil
            suggestion = nil
            level = .none
        }
    }
}

/// What the toolkit requires next for one case, with due dates in working days.
public enum NextSteps {
    /// With `today` nil, the steps are those due whatever the date (overdue is not worked out,
    /// and the transition step is listed from birth): what a projection stores.
    public static func forCase(_ events: [CaseEvent], policy: PolicyDocument, today: Day?) -> [NextStep] {
        forCase(events, CaseReading(events, policy: policy), policy: policy, today: today)
    }

    /// The next steps (as `forCase` with no day) and the late steps of a case, reading it once.
    public static func stored(_ events: [CaseEvent], policy: PolicyDocument) -> (next: [NextStep], late: [LateStep]) {
        let reading = CaseReading(events, policy: policy)
        return (forCase(events, reading, policy: policy, today: nil), lateSteps(reading, policy: policy))
    }

    static func forCase(_ events: [CaseEvent], _ reading: CaseReading, policy: PolicyDocument, today: Day?) -> [NextStep] {
        let cal = policy.calendar
        var steps: [NextStep] = []
        func add(_ rule: String, _ what: String, _ due: Day?) {
            let overdue = due.flatMap { d in today.flatMap { t in t > d ? cal.workingDays(from: d, to: t) : nil } }
            steps.append(NextStep(rule: rule, what: what, due: due, overdueBy: overdue))
        }
        func after(_ t: Timestamp, _ types: [String]) -> [CaseEvent] {
            events.filter { types.contains($0.type) && $0.occurredAt >= t }
        }
        let live = reading.live
        // A closed case needs nothing more done (R1, R3, R10 look forward), but what was left
        // unrecorded before it closed (R2, R4, R7, R8, R13-R15) stays an exception.
        let closed = live.last(where: { $0.type == "case.opened" || $0.type == "case.closed" })?.type == "case.closed"

        // R1-R3: what the latest screening's level requires. A referral made since the screening
        // before it counts (telephoning MASH first, then completing the tool, is good practice).
        if let screening = reading.screening, let suggestion = reading.suggestion {
            let (since, level) = (reading.since, reading.level)
            let d = screening.day
            let referrals = after(since, ["referral.mash_written", "referral.mash_telephone"])
            if level >= .medium, referrals.isEmpty {
                let days = level == .significant ? policy.deadlines.mashReferralSignificant : policy.deadlines.mashReferralMedium
                let how = level == .significant && suggestion.urgent ? " (urgent: telephone MASH first, then the written form)" : ""
                add("R1", "Referral to MASH required\(how)", cal.adding(workingDays: days, to: d))
            }
            if level == .medium {
                let statutory = after(screening.occurredAt, ["decision.s17", "decision.s47"]).isEmpty == false
                    || after(screening.occurredAt, ["decision.strategy"]).contains { $0.facts.string("outcome") == "s47" }
                    || after(screening.occurredAt, ["decision.mash"]).contains { ["s17_assessment", "s47_enquiry"].contains($0.facts.string("outcome") ?? "") }
                let caf = after(screening.occurredAt, ["decision.early_help"]).contains { $0.facts.string("kind") == "family_caf" }
                if !statutory, !caf {
                    add("R3", "Family CAF unless S17/S47 applies", cal.adding(workingDays: policy.deadlines.familyCAF, to: d))
                }
            }
        }
        // R2: a telephone referral is followed by the written form.
        for phone in live where phone.type == "referral.mash_telephone" {
            let followed = live.contains { $0.type == "referral.mash_written" && ($0.facts.string("telephone_referral") == phone.eventID || $0.occurredAt >= phone.occurredAt) }
            if !followed {
                add("R2", "Written MASH referral form after the telephone referral of \(phone.day.spoken)",
                    cal.adding(workingDays: policy.deadlines.writtenAfterTelephone, to: phone.day))
            }
        }
        // R4: NFA tells the referrer verbally and in writing.
        for nfa in live where nfa.type == "decision.nfa" {
            if nfa.facts.bool("referrer_told_verbally") != true || nfa.facts.bool("referrer_told_in_writing") != true {
                add("R4", "Tell the referrer of the NFA decision of \(nfa.day.spoken) verbally and in writing", nfa.day)
            }
        }
        // R8: a return home interview offered within the policy's hours of return.
        for start in live where start.type == "missing.started" {
            let refs = live.filter { $0.facts.string("missing_episode") == start.eventID }
            if refs.contains(where: { $0.type == "missing.rhi_offered" || $0.type == "missing.rhi_completed" }) { continue }
            if let back = refs.first(where: { $0.type == "missing.returned" }) {
                let due = Day(london: Timestamp(seconds: back.occurredAt.seconds + Int64(policy.deadlines.rhiOfferHours) * 3600))
                add("R8", "Offer a return home interview (returned \(back.day.spoken))", due)
            } else {
                add("R8", "Missing since \(start.day.spoken): on return, offer a return home interview within \(policy.deadlines.rhiOfferHours) hours", nil)
            }
        }
        // R10: transition plan within the policy's months of turning 18.
        if let birth = live.last(where: { $0.facts.string("birth_month") != nil })?.facts.string("birth_month"),
            let eighteen = Age.earliestEighteenth(birthMonth: birth),
            !live.contains(where: { $0.type == "case.transition" || ($0.type == "referral.adult_social_care" && $0.facts.string("reason") == "transition_at_18") })
        {
            let months = policy.deadlines.transitionMonthsBefore18
            if let windowStart = Day(iso: shiftMonths(eighteen.description, by: -months)), today.map({ $0 >= windowStart }) ?? true {
                add("R10", "Transition plan or referral to adult services before 18", eighteen)
            }
        }
        // R14: open MASE actions.
        let done = Set(live.filter { $0.type == "action.completed" }.compactMap { $0.facts.string("action_ref") })
        for a in live where a.type == "action.set" {
            guard let ref = a.facts.string("action_ref"), !done.contains(ref) else { continue }
            add("R14", "MASE action \(ref) (\(a.facts.string("owner_agency") ?? "?"), \(a.facts.string("strand") ?? "?"))", a.facts.day("due_date"))
        }
        // R15: escalations resolved, with lessons learnt reported to MASE.
        for e in live where e.type == "escalation.raised" {
            let resolutions = live.filter { $0.type == "escalation.resolved" && $0.facts.string("escalation") == e.eventID }
            if resolutions.isEmpty {
                add("R15", "Resolve the escalation of \(e.day.spoken) and report lessons learnt to MASE", nil)
            } else if !resolutions.contains(where: { $0.facts.bool("lessons_reported_to_mase") == true }) {
                add("R15", "Report the lessons learnt from the escalation of \(e.day.spoken) to MASE", nil)
            }
        }
        // R13: a strategy meeting records its outcome.
        for m in live where m.type == "meeting.strategy" {
            if !live.contains(where: { $0.type == "decision.strategy" && $0.occurredAt >= m.occurredAt }) {
                add("R13", "Record the outcome of the strategy meeting of \(m.day.spoken) (S47, child in need plan or early help plan; organised and complex abuse or not)", m.day)
            }
        }
        // R7: each agency at a MASE meeting acknowledges its decisions as recorded on its own system.
        for m in live where m.type == "meeting.mase" {
            let acked = Set(live.filter {
                $0.type == "acknowledgement.recorded" && $0.facts.string("decision_event") == m.eventID && $0.facts.bool("recorded_on_own_system") == true
            }.map(\.agency))
            for agency in m.facts.strings("attendees") where agency != "partnership" && !acked.contains(agency) {
                add("R7", "\(agency) to acknowledge the MASE decisions of \(m.day.spoken) as recorded on its own system", nil)
            }
        }
        return closed ? steps.filter { !["R1", "R3", "R10"].contains($0.rule) } : steps
    }

    /// `YYYY-MM-DD` moved by whole months (day kept; months are 1st-of-month here).
    /// The same day `n` months on (or back), clamped to the end of a shorter month.
    public static func shiftMonths(_ iso: String, by n: Int) -> String {
        let y = Int(iso.prefix(4))!, m = Int(iso.dropFirst(5).prefix(2))!, d = Int(iso.suffix(2))!
        let total = y * 12 + (m - 1) + n
        let ny = total / 12, nm = total % 12 + 1
        let last = Int(Timestamp.days(fromCivil: Int64(nm == 12 ? ny + 1 : ny), Int64(nm == 12 ? 1 : nm + 1), 1) - Timestamp.days(fromCivil: Int64(ny), Int64(nm), 1))
        let day = min(d, last)
        return String(ny) + "-" + (nm < 10 ? "0" : "") + String(nm) + "-" + (day < 10 ? "0" : "") + String(day)
    }
}

/// A step the toolkit required that was done, but after its deadline: a recording-practice
/// exception that can no longer be put right, only reported.
public struct LateStep: Equatable, Sendable {
    public let rule: String
    public let what: String
    public let due: Day
    public let done: Day

    public init(rule: String, what: String, due: Day, done: Day) {
        self.rule = rule; self.what = what; self.due = due; self.done = done
    }
}

extension NextSteps {
    /// R1, R2, R3 and R8 done, but late.
    public static func lateSteps(_ events: [CaseEvent], policy: PolicyDocument) -> [LateStep] {
        lateSteps(CaseReading(events, policy: policy), policy: policy)
    }

    static func lateSteps(_ reading: CaseReading, policy: PolicyDocument) -> [LateStep] {
        let cal = policy.calendar
        var out: [LateStep] = []
        let live = reading.live
        if let screening = reading.screening {
            let (since, level) = (reading.since, reading.level)
            if level >= .medium,
                let first = live.first(where: { ["referral.mash_written", "referral.mash_telephone"].contains($0.type) && $0.occurredAt >= since })
            {
                let days = level == .significant ? policy.deadlines.mashReferralSignificant : policy.deadlines.mashReferralMedium
                let due = cal.adding(workingDays: days, to: screening.day)
                if first.day > due { out.append(LateStep(rule: "R1", what: "MASH referral made after its deadline", due: due, done: first.day)) }
            }
            if level == .medium, let caf = live.first(where: { $0.type == "decision.early_help" && $0.facts.string("kind") == "family_caf" && $0.occurredAt >= screening.occurredAt }) {
                let due = cal.adding(workingDays: policy.deadlines.familyCAF, to: screening.day)
                if caf.day > due { out.append(LateStep(rule: "R3", what: "Family CAF started after its deadline", due: due, done: caf.day)) }
            }
        }
        for phone in live where phone.type == "referral.mash_telephone" {
            if let form = live.first(where: { $0.type == "referral.mash_written" && ($0.facts.string("telephone_referral") == phone.eventID || $0.occurredAt >= phone.occurredAt) }) {
                let due = cal.adding(workingDays: policy.deadlines.writtenAfterTelephone, to: phone.day)
                if form.day > due { out.append(LateStep(rule: "R2", what: "written MASH referral form sent after its deadline", due: due, done: form.day)) }
            }
        }
        for start in live where start.type == "missing.started" {
            let refs = live.filter { $0.facts.string("missing_episode") == start.eventID }
            guard let back = refs.first(where: { $0.type == "missing.returned" }),
                let offer = refs.first(where: { $0.type == "missing.rhi_offered" || $0.type == "missing.rhi_completed" })
            else { continue }
            let limit = back.occurredAt.seconds + Int64(policy.deadlines.rhiOfferHours) * 3600
            if offer.occurredAt.seconds > limit {
                out.append(LateStep(rule: "R8", what: "return home interview offered more than \(policy.deadlines.rhiOfferHours) hours after return",
                                    due: Day(london: Timestamp(seconds: limit)), done: offer.day))
            }
        }
        return out
    }
}
