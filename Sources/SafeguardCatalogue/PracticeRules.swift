import SafeguardCore

/// Something the toolkit requires next for a case.
public struct NextStep: Equatable, Sendable {
    /// The recording-practice rule it comes from (R1-R15).
    public let rule: String
    public let what: String
    public let due: Day?
    /// Working days past `due` on the day asked about; nil when not overdue.
    public let overdueBy: Int?
    /// The agency expected to do it; nil when any agency working with the child may.
    public let by: String?
    /// The event types that record it done.
    public let records: [String]

    public init(rule: String, what: String, due: Day?, overdueBy: Int?, by: String? = nil, records: [String] = []) {
        self.rule = rule; self.what = what; self.due = due; self.overdueBy = overdueBy; self.by = by; self.records = records
    }

    /// e.g. "Referral to MASH required by Tue 1 Dec 2026 (R1)".
    public var sentence: String {
        var s = what
        if let due { s += " by \(due.spoken)" }
        if let o = overdueBy { s += ", overdue by \(o) working day\(o == 1 ? "" : "s")" }
        return s + " (\(rule))"
    }
}

/// A step the toolkit required that was done, but after its deadline: a recording-practice
/// exception that can no longer be put right, only reported.
public struct LateStep: Equatable, Sendable {
    public let rule: String
    public let what: String
    public let due: Day
    public let done: Day
    /// The agency whose record came late.
    public let by: String?

    public init(rule: String, what: String, due: Day, done: Day, by: String? = nil) {
        self.rule = rule; self.what = what; self.due = due; self.done = done; self.by = by
    }
}

/// One recording-practice exception (DOMAIN.md R1–R15) on a day.
public struct PracticeException: Equatable, Sendable {
    public let rule: String
    public let caseID: String
    public let what: String
    /// The date it became due, or the date of the record concerned ("" when neither applies).
    public let since: String
    /// Working days overdue on the report's day, when it has a due date.
    public let overdue: Int?
    /// The agency to act (the one a rule names: who screened, referred, decided or owns the
    /// action), or whose record broke the rule (late); nil when any agency working with the
    /// child may act.
    public let agency: String?

    public init(rule: String, caseID: String, what: String, since: String, overdue: Int?, agency: String? = nil) {
        self.rule = rule; self.caseID = caseID; self.what = what; self.since = since; self.overdue = overdue; self.agency = agency
    }

    /// R1 before R2 … before R15, then by case.
    public static func ordered(_ a: PracticeException, _ b: PracticeException) -> Bool {
        (Int(a.rule.dropFirst()) ?? 99, a.caseID) < (Int(b.rule.dropFirst()) ?? 99, b.caseID)
    }
}

/// The toolkit's recording-practice rules (DOMAIN.md R1–R15) for one case, as known on a day:
/// the one engine behind `record`'s next steps, `case next/show/list` and the practice report.
/// It reads verified events only (the case's own, and `PartnershipFacts` for what other cases'
/// records say about it) and leaves out every record made after the day asked about, so a
/// report for a past day says what was known then.
public struct CasePractice: Sendable {
    public let caseID: String
    public let policy: PolicyDocument
    public let partnership: PartnershipFacts
    /// The case's events known on the day, less the retracted ones.
    let live: [CaseEvent]
    /// The latest screening, the level the policy's rules follow, and when the screening
    /// before it happened (a referral made since then counts).
    let screening: CaseEvent?
    let suggestion: LevelSuggestion?
    let level: RiskLevel
    let since: Timestamp
    let closed: Bool

    /// `events` are the case's verified events in log order; only those recorded by the end of
    /// the partnership's `knownOn` day are read.
    public init(_ caseID: String, events: [CaseEvent], partnership: PartnershipFacts = PartnershipFacts(), policy: PolicyDocument) {
        self.caseID = caseID
        self.policy = policy
        self.partnership = partnership
        let known = events.filter { $0.known(on: partnership.knownOn) }
        let retracted = Set(known.compactMap(\.retracts))
        live = known.filter { !retracted.contains($0.eventID) && !partnership.isRetracted($0.eventID) }
        let screenings = live.filter { $0.type.hasPrefix("screening.") }
        since = screenings.dropLast().last?.occurredAt ?? Timestamp(seconds: Int64.min / 2)
        if let last = screenings.last, let s = Screening(facts: last.facts) {
            screening = last
            let suggested = LevelSuggestion.suggest(s, policy: policy)
            suggestion = suggested
            level = policy.levelForRules.level(practitioner: last.facts.string("practitioner_level").flatMap(RiskLevel.init(rawValue:)), suggested: suggested.level)
        } else {
            screening = nil
            suggestion = nil
            level = .none
        }
        closed = live.last(where: { $0.type == "case.opened" || $0.type == "case.closed" })?.type == "case.closed"
    }

    /// Whether any record of the case was known on the day.
    public var isKnown: Bool { !live.isEmpty }

    private func after(_ t: Timestamp, _ types: [String]) -> [CaseEvent] {
        live.filter { types.contains($0.type) && $0.occurredAt >= t }
    }

    /// What the toolkit requires next, with due dates in working days. With `today` nil, the
    /// steps are those due whatever the date (overdue is not worked out, and the transition
    /// step is listed from birth).
    public func nextSteps(today: Day?) -> [NextStep] {
        let cal = policy.calendar
        var steps: [NextStep] = []
        func add(_ rule: String, _ what: String, _ due: Day?, by: String? = nil, _ records: [String]) {
            let overdue = due.flatMap { d in today.flatMap { t in t > d ? cal.workingDays(from: d, to: t) : nil } }
            steps.append(NextStep(rule: rule, what: what, due: due, overdueBy: overdue, by: by, records: records))
        }
        let referralTypes = ["referral.mash_written", "referral.mash_telephone"]
        // R1-R3: what the latest screening's level requires. A referral made since the screening
        // before it counts (telephoning MASH first, then completing the tool, is good practice).
        if let screening, let suggestion {
            let d = screening.day
            if level >= .medium, after(since, referralTypes).isEmpty {
                let days = level == .significant ? policy.deadlines.mashReferralSignificant : policy.deadlines.mashReferralMedium
                let how = level == .significant && suggestion.urgent ? " (urgent: telephone MASH first, then the written form)" : ""
                add("R1", "Referral to MASH required\(how)", cal.adding(workingDays: days, to: d), by: screening.agency, referralTypes)
            }
            if level == .medium {
                let statutory = !after(screening.occurredAt, ["decision.s17", "decision.s47"]).isEmpty
                    || after(screening.occurredAt, ["decision.strategy"]).contains { $0.facts.string("outcome") == "s47" }
                    || after(screening.occurredAt, ["decision.mash"]).contains { ["s17_assessment", "s47_enquiry"].contains($0.facts.string("outcome") ?? "") }
                let caf = after(screening.occurredAt, ["decision.early_help"]).contains { $0.facts.string("kind") == "family_caf" }
                if !statutory, !caf {
                    // Whoever leads: the screening agency, or another agency working with the child.
                    add("R3", "Family CAF unless S17/S47 applies", cal.adding(workingDays: policy.deadlines.familyCAF, to: d), ["decision.early_help"])
                }
            }
        }
        // R2: a telephone referral is followed by the written form.
        for phone in live where phone.type == "referral.mash_telephone" && writtenForm(after: phone) == nil {
            add("R2", "Written MASH referral form after the telephone referral of \(phone.day.spoken)",
                cal.adding(workingDays: policy.deadlines.writtenAfterTelephone, to: phone.day), by: phone.agency, ["referral.mash_written"])
        }
        // R4: no further action is recorded with its reason, and the referrer told verbally and
        // in writing (a MASH or S17 decision of NFA is followed by the NFA record itself).
        let nfaDue = { (d: CaseEvent) in cal.adding(workingDays: policy.deadlines.nfaReferrerTold, to: d.day) }
        for nfa in live where nfa.type == "decision.nfa" && !told(nfa) && !live.contains(where: { $0.type == "decision.nfa" && $0.occurredAt >= nfa.occurredAt && told($0) }) {
            add("R4", "Tell the referrer of the NFA decision of \(nfa.day.spoken) verbally and in writing, and record it", nfaDue(nfa), by: nfa.agency, ["decision.nfa"])
        }
        for d in live where ["decision.mash", "decision.s17"].contains(d.type) && d.facts.string("outcome") == "nfa"
            && !live.contains(where: { $0.type == "decision.nfa" && $0.occurredAt >= d.occurredAt })
        {
            add("R4", "Record the NFA decision of \(d.day.spoken) (\(d.type == "decision.mash" ? "MASH" : "S17 assessment")) with its reason, and tell the referrer verbally and in writing",
                nfaDue(d), by: d.agency, ["decision.nfa"])
        }
        // R8: a return home interview offered within the policy's hours of return.
        for start in live where start.type == "missing.started" {
            let refs = live.filter { $0.facts.string("missing_episode") == start.eventID }
            if refs.contains(where: { $0.type == "missing.rhi_offered" || $0.type == "missing.rhi_completed" }) { continue }
            if let back = refs.first(where: { $0.type == "missing.returned" }) {
                let due = Day(london: Timestamp(seconds: back.occurredAt.seconds + Int64(policy.deadlines.rhiOfferHours) * 3600))
                add("R8", "Offer a return home interview (returned \(back.day.spoken))", due, ["missing.rhi_offered", "missing.rhi_completed"])
            } else {
                add("R8", "Missing since \(start.day.spoken): on return, offer a return home interview within \(policy.deadlines.rhiOfferHours) hours", nil,
                    ["missing.returned"])
            }
        }
        // R10: transition plan within the policy's months of turning 18.
        if let eighteen = eighteenth, !live.contains(where: { $0.type == "case.transition" || ($0.type == "referral.adult_social_care" && $0.facts.string("reason") == "transition_at_18") }) {
            if today.map({ $0 >= transitionWindowStart(eighteen) }) ?? true {
                add("R10", "Transition plan or referral to adult services before 18", eighteen, ["case.transition", "referral.adult_social_care"])
            }
        }
        // R14: open MASE actions, for their owner.
        let done = Set(live.filter { $0.type == "action.completed" }.compactMap { $0.facts.string("action_ref") })
        var seenActions: Set<String> = []
        for a in live where a.type == "action.set" {
            guard let ref = a.facts.string("action_ref"), !done.contains(ref), seenActions.insert(ref).inserted else { continue }
            add("R14", "MASE action \(ref) (\(a.facts.string("owner_agency") ?? "?"), \(a.facts.string("strand") ?? "?"))", a.facts.day("due_date"),
                by: a.facts.string("owner_agency"), ["action.completed"])
        }
        // R15: escalations resolved, with lessons learnt reported to MASE.
        for e in live where e.type == "escalation.raised" {
            let resolutions = live.filter { $0.type == "escalation.resolved" && $0.facts.string("escalation") == e.eventID }
            if resolutions.isEmpty {
                add("R15", "Resolve the escalation of \(e.day.spoken) and report lessons learnt to MASE", nil, ["escalation.resolved"])
            } else if !resolutions.contains(where: { $0.facts.bool("lessons_reported_to_mase") == true }) {
                add("R15", "Report the lessons learnt from the escalation of \(e.day.spoken) to MASE", nil, ["escalation.resolved"])
            }
        }
        // R13: a strategy meeting records its outcome.
        for m in live where m.type == "meeting.strategy" && !live.contains(where: { $0.type == "decision.strategy" && $0.occurredAt >= m.occurredAt }) {
            add("R13", "Record the outcome of the strategy meeting of \(m.day.spoken) (S47, child in need plan or early help plan; organised and complex abuse or not)",
                m.day, by: m.agency, ["decision.strategy"])
        }
        // R7: each agency at a MASE meeting that discussed the case acknowledges its decisions as
        // recorded on its own system, whichever case it records that under.
        for m in maseMeetings {
            let acked = partnership.acknowledgers(of: m.eventID).union(ownAcknowledgers(of: m.eventID))
            for agency in m.facts.strings("attendees") where agency != "partnership" && !acked.contains(agency) {
                add("R7", "\(agency) to acknowledge the MASE decisions of \(m.facts.string("meeting_ref") ?? m.day.spoken) as recorded on its own system", nil,
                    by: agency, ["acknowledgement.recorded"])
            }
        }
        // R11: each sharing record is lawful, necessary and proportionate, protects others'
        // identities and names its condition for special-category information.
        for s in live where s.type == "sharing.shared" || s.type == "sharing.partly_shared" {
            let gaps = sharingGaps(s.facts)
            guard !gaps.isEmpty else { continue }
            add("R11", "Review the sharing with \(s.facts.string("to_agency") ?? "?") of \(s.day.spoken): \(gaps.joined(separator: "; "))", nil, by: s.agency, ["correction.recorded"])
        }
        if !closed, isOpen {
            // R6: police and children's social care should both know every open case.
            let police = live.contains { $0.agency == "police" }, csc = live.contains { $0.agency == "csc" }
            if police != csc {
                let missing = police ? "csc" : "police"
                add("R6", "Known to \(police ? "police" : "children's social care") only: \(missing == "csc" ? "children's social care" : "police") to record its involvement",
                    nil, by: missing, ["contact.recorded"])
            }
            // R9: a low-risk (or unscreened) case linked to other cases is reviewed.
            if level <= .low {
                var seen: Set<String> = []
                for l in live where l.type == "link.recorded" {
                    guard let kind = l.facts.string("link_kind"), let target = l.facts.string("target"), seen.insert(kind + " " + target).inserted else { continue }
                    guard kind == "other_case" || !partnership.otherCases(linkedLike: l.facts, than: caseID).isEmpty else { continue }
                    add("R9", "Low-risk case linked (\(kind) \(target)) to other cases: review its level", nil, ["screening.cse_tool", "screening.csc_mosaic"])
                }
            }
        }
        return closed ? steps.filter { !["R1", "R3", "R10"].contains($0.rule) } : steps
    }

    /// What the toolkit asks beyond the rules' deadlines (DOMAIN.md "What each level requires",
    /// toolkit §6 and §8): for the level that drives the rules, what to do or consider, and
    /// the strategy discussion a MASH decision calls for. Each is listed until a record shows
    /// it done; none has a deadline, so none is ever a recording-practice exception. A closed
    /// case asks nothing.
    public func toolkitActions() -> [NextStep] {
        guard !closed else { return [] }
        var out: [NextStep] = []
        func add(_ section: String, _ what: String, by: String? = nil, _ records: [String]) {
            out.append(NextStep(rule: "toolkit \(section)", what: what, due: nil, overdueBy: nil, by: by, records: records))
        }
        // §6: MASH decided a strategy discussion; it is held and its outcome recorded.
        for d in live where d.type == "decision.mash" && d.facts.string("outcome") == "strategy_discussion"
            && !live.contains(where: { ["meeting.strategy", "decision.strategy"].contains($0.type) && $0.occurredAt >= d.occurredAt })
        {
            add("§6", "Hold the strategy discussion MASH decided on \(d.day.spoken) (police, children's social care and health), and record its outcome",
                by: "csc", ["meeting.strategy", "decision.strategy"])
        }
        guard let screening else {
            if isOpen { add("§8", "Complete the CSE risk screening tool: it suggests the level and what follows", ["screening.cse_tool", "screening.csc_mosaic"]) }
            return out
        }
        let t = screening.occurredAt
        let since = { (types: [String]) in live.contains { types.contains($0.type) && $0.occurredAt >= t } }
        let disruption = live.contains { $0.type == "disruption.recorded" }
        switch level {
        case .none:
            if !since(["decision.early_help"]) { add("§8", "No risk indicators: consider a CAF, or close the case", ["decision.early_help", "case.closed"]) }
        case .low:
            add("§8 low", "Keep records and monitor; share through the risk screening tool; if the risk rises, screen again and tell your safeguarding lead",
                ["contact.recorded", "screening.cse_tool"])
        case .medium:
            let subgroup = live.contains { ["referral.mase", "meeting.pre_mase"].contains($0.type) } || !maseMeetings.isEmpty
            if !subgroup { add("§8 medium", "Refer the child to the MASE operational subgroup (its pre-MASE meeting)", by: "csc", ["meeting.pre_mase", "referral.mase"]) }
            if !disruption { add("§8 medium", "Consider disruption tactics (§7.5) and record what was considered", by: "police", ["disruption.recorded"]) }
        case .significant:
            let statutory = since(["meeting.strategy", "decision.strategy", "decision.s47"])
                || live.contains { $0.type == "decision.mash" && $0.occurredAt >= t && ["strategy_discussion", "s47_enquiry"].contains($0.facts.string("outcome") ?? "") }
            if !statutory { add("§8 significant", "Consider an S47 enquiry: a strategy discussion decides", by: "csc", ["meeting.strategy", "decision.strategy"]) }
            let policeKnow = live.contains { $0.occurredAt >= t && ($0.agency == "police" || ($0.type.hasPrefix("sharing.") && $0.facts.string("to_agency") == "police")) }
            if !policeKnow { add("§8 significant", "If there is immediate risk, tell police now, and record what was shared with them", ["sharing.shared"]) }
            if !disruption { add("§8 significant", "Put disruption tactics (§7.5) in place and record each", by: "police", ["disruption.recorded"]) }
        }
        // §8: at medium and above, missing episodes are discussed with police.
        if level >= .medium {
            for start in live where start.type == "missing.started" && start.agency != "police" {
                let discussed = live.contains { e in
                    e.occurredAt >= start.occurredAt && (e.agency == "police" || (e.type.hasPrefix("sharing.") && e.facts.string("to_agency") == "police")
                        || (e.type.hasPrefix("meeting.") && e.facts.strings("attendees").contains("police")))
                }
                if !discussed { add("§8", "Discuss the missing episode of \(start.day.spoken) with police", ["sharing.shared", "meeting.network"]) }
            }
        }
        return out
    }

    /// R1, R2, R3 and R8 done, but late.
    public func lateSteps() -> [LateStep] {
        let cal = policy.calendar
        var out: [LateStep] = []
        if let screening {
            if level >= .medium, let first = live.first(where: { ["referral.mash_written", "referral.mash_telephone"].contains($0.type) && $0.occurredAt >= since }) {
                let days = level == .significant ? policy.deadlines.mashReferralSignificant : policy.deadlines.mashReferralMedium
                let due = cal.adding(workingDays: days, to: screening.day)
                if first.day > due { out.append(LateStep(rule: "R1", what: "MASH referral made after its deadline", due: due, done: first.day, by: first.agency)) }
            }
            if level == .medium, let caf = live.first(where: { $0.type == "decision.early_help" && $0.facts.string("kind") == "family_caf" && $0.occurredAt >= screening.occurredAt }) {
                let due = cal.adding(workingDays: policy.deadlines.familyCAF, to: screening.day)
                if caf.day > due { out.append(LateStep(rule: "R3", what: "Family CAF started after its deadline", due: due, done: caf.day, by: caf.agency)) }
            }
        }
        for phone in live where phone.type == "referral.mash_telephone" {
            if let form = writtenForm(after: phone) {
                let due = cal.adding(workingDays: policy.deadlines.writtenAfterTelephone, to: phone.day)
                if form.day > due { out.append(LateStep(rule: "R2", what: "written MASH referral form sent after its deadline", due: due, done: form.day, by: form.agency)) }
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
                                    due: Day(london: Timestamp(seconds: limit)), done: offer.day, by: offer.agency))
            }
        }
        return out
    }

    /// Every recording-practice exception of the case on `day`, which must be the day the
    /// partnership facts are known on: the steps overdue (or, without a deadline, outstanding),
    /// the steps done late, and the records that break a rule as made (R5, R12).
    public func exceptions(on day: Day) -> [PracticeException] {
        precondition(partnership.knownOn == day, "exceptions are worked out from what was known on the day")
        let cal = policy.calendar
        var out: [PracticeException] = []
        for s in nextSteps(today: day) {
            if s.rule == "R10", let due = s.due {
                // From six months before 18 (never before the case was opened) until a plan or referral is recorded.
                let start = max(transitionWindowStart(due), openedDay ?? transitionWindowStart(due))
                out.append(PracticeException(rule: s.rule, caseID: caseID, what: s.what, since: start.description, overdue: day > due ? cal.workingDays(from: due, to: day) : nil, agency: s.by))
                continue
            }
            if let due = s.due {
                guard due < day else { continue }  // not yet due: not an exception
                out.append(PracticeException(rule: s.rule, caseID: caseID, what: s.what, since: due.description, overdue: cal.workingDays(from: due, to: day), agency: s.by))
            } else if s.rule != "R8" {  // R8 with no deadline: still missing, nothing to record yet
                out.append(PracticeException(rule: s.rule, caseID: caseID, what: s.what, since: "", overdue: nil, agency: s.by))
            }
        }
        for l in lateSteps() where l.done <= day {
            out.append(PracticeException(rule: l.rule, caseID: caseID, what: "\(l.what) (on \(l.done.spoken))", since: l.due.description,
                                         overdue: cal.workingDays(from: l.due, to: l.done), agency: l.by))
        }
        // R5: a case discussed at MASE needs a MASH referral, a strategy decision, a police CSE
        // CRIS number and a MASE referral first (MASE never takes a first referral).
        for m in maseMeetings where m.day <= day {
            let before = live.filter { $0.seq < m.seq }
            var missing: [String] = []
            if !before.contains(where: { ["referral.mash_written", "referral.mash_telephone"].contains($0.type) }) { missing.append("a MASH referral") }
            if !before.contains(where: { $0.type == "decision.strategy" }) { missing.append("a strategy decision") }
            if !(before.last(where: { $0.facts["police_cris_recorded"] != nil })?.facts.bool("police_cris_recorded") ?? false) { missing.append("a police CSE CRIS number") }
            if !before.contains(where: { $0.type == "referral.mase" }) { missing.append("a MASE referral") }
            guard !missing.isEmpty else { continue }
            out.append(PracticeException(rule: "R5", caseID: caseID, what: "discussed at \(m.facts.string("meeting_ref") ?? "MASE") without " + missing.joined(separator: ", "),
                                         since: m.day.description, overdue: nil))
        }
        // R12: records made more than the policy's working days after what they record.
        for e in live {
            let delay = cal.workingDays(from: e.day, to: e.recordedDay)
            guard delay > policy.deadlines.lateRecording else { continue }
            out.append(PracticeException(rule: "R12", caseID: caseID, what: "\(e.type) at seq \(e.seq) recorded \(delay) working days after it happened",
                                         since: e.day.description, overdue: nil, agency: e.agency))
        }
        return out.sorted(by: PracticeException.ordered)
    }

    // MARK: What the rules read

    private func told(_ nfa: CaseEvent) -> Bool {
        nfa.facts.bool("referrer_told_verbally") == true && nfa.facts.bool("referrer_told_in_writing") == true
    }

    private func writtenForm(after phone: CaseEvent) -> CaseEvent? {
        live.first { $0.type == "referral.mash_written" && ($0.facts.string("telephone_referral") == phone.eventID || $0.occurredAt >= phone.occurredAt) }
    }

    /// The MASE meetings that discussed the case: recorded under it or under another case.
    private var maseMeetings: [CaseEvent] {
        var seen: Set<String> = []
        return (partnership.meetings(discussing: caseID) + live.filter { $0.type == "meeting.mase" })
            .filter { seen.insert($0.eventID).inserted }.sorted { $0.seq < $1.seq }
    }

    private func ownAcknowledgers(of meetingID: String) -> Set<String> {
        Set(live.filter { $0.type == "acknowledgement.recorded" && $0.facts.string("decision_event") == meetingID && $0.facts.bool("recorded_on_own_system") == true }.map(\.agency))
    }

    private var isOpen: Bool { live.contains { $0.type == "case.opened" } }
    private var openedDay: Day? { live.last(where: { $0.type == "case.opened" })?.day }

    /// The 18th birthday the rules use: the last day of the birth month, 18 years on (the full
    /// date of birth is identifying and stays in the details, which the rules never read).
    private var eighteenth: Day? {
        live.last(where: { $0.facts.string("birth_month") != nil })?.facts.string("birth_month").flatMap(Age.eighteenth(birthMonth:))
    }

    private func transitionWindowStart(_ eighteen: Day) -> Day {
        Day(iso: Age.shiftMonths(eighteen.description, by: -policy.deadlines.transitionMonthsBefore18)) ?? eighteen
    }

    /// What a sharing record lacks under R11 (DOMAIN.md "What a sharing record holds").
    func sharingGaps(_ f: Facts) -> [String] {
        var gaps: [String] = []
        if f["lawful_basis"] == nil { gaps.append("no lawful basis") }
        if f.bool("necessary_and_proportionate") != true { gaps.append("not recorded as necessary and proportionate") }
        if f.bool("identities_protected") != true { gaps.append("identities of others at risk not protected") }
        if f.strings("scope").contains(where: { ["health_information", "full_record"].contains($0) }), f["special_category_condition"] == nil {
            gaps.append("special-category information without its Art 9 condition")
        }
        return gaps
    }
}
