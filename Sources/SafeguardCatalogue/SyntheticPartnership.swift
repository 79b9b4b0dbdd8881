import SafeguardCore

/// A deterministic pseudo-random generator (SplitMix64) for synthetic data and tests: the same
/// seed gives the same partnership, and the same sequence (a failing test can be replayed).
/// Not for anything secret.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    public mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    public mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
}

/// A fully synthetic partnership: a cohort of children whose stories unfold as the toolkit
/// describes (concern, screening, referral, decisions, sharing, missing episodes, links
/// through shared venues and vehicles, disruption, MASE meetings and actions), with some late
/// recordings and some recording-practice gaps on purpose. Stories are interleaved and only
/// the children in progress are held, so memory does not grow with the number of events.
/// The same seed and start give the same events, ids included.
public struct SyntheticPartnership {
    /// One synthetic event: who records it and what.
    public struct Item {
        public let agency: String
        public let draft: EventDraft
        /// When the ledger records it (its clock in the simulation).
        public let recordedAt: Timestamp
    }

    struct Child {
        let caseID: String
        let birthMonth: String
        let learningDisability: Bool
        var steps: [Step]
        var level: RiskLevel = .none
        var ids: [String: String] = [:]  // named earlier events of the story
        var times: [String: Int64] = [:]  // and when they happened
        /// What stays open when it closes (an escalation unresolved, a MASE decision
        /// unacknowledged): the closing then says why it closes regardless.
        var leftOpen: [String] = []
    }

    enum Step { case open, contact, screening, referral, mashDecision, strategy, earlyHelp, share, notShared, missing, returned, rhi, link,
                     disruption, crisNumber, maseReferral, nfa, escalation, close }

    var rng: SplitMix64
    var clock: Int64
    let policy: PolicyDocument
    var active: [Child] = []
    var opened = 0
    var pendingMASE: [String] = []
    var meetings = 0
    var idCounter: UInt64 = 0
    let idPrefix: UInt64
    var queue: [Item] = []

    /// Children in progress at once; a bigger partnership has more.
    let concurrency: Int

    /// The mean time between recordings, in seconds.
    let meanGap: Int

    public init(seed: UInt64, start: Timestamp, meanGapSeconds: Int = 1800, policy: PolicyDocument = .toolkit, concurrency: Int = 200) {
        meanGap = max(2, meanGapSeconds)
        rng = SplitMix64(seed: seed)
        clock = start.seconds
        self.policy = policy
        self.concurrency = concurrency
        var prefix = SplitMix64(seed: seed ^ 0x5AFE)
        idPrefix = prefix.next()
    }

    static let venues = (1...40).map { "VENUE-\(pad4($0))" }
    static let vehicles = (1...25).map { "VEH-\(pad4($0))" }
    static let persons = (1...30).map { "POI-\(pad4($0))" }
    static let reporters = ["education", "health", "police", "voluntary", "csc"]

    /// The next event, in recording order.
    public mutating func next() -> Item {
        while queue.isEmpty { advance() }
        return queue.removeFirst()
    }

    mutating func newID() -> String {
        idCounter += 1
        let a = idPrefix, b = idCounter
        let hex = Hex.encode((0..<8).map { UInt8(truncatingIfNeeded: a >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: b >> (56 - 8 * $0)) })
        var u = Array(hex)
        u[12] = "4"
        u[16] = ["8", "9", "a", "b"][Int(b % 4)]
        return String(u[0..<8]) + "-" + String(u[8..<12]) + "-" + String(u[12..<16]) + "-" + String(u[16..<20]) + "-" + String(u[20..<32])
    }

    /// Moves the simulated clock on and emits one event of one child (or a MASE meeting).
    mutating func advance() {
        clock += Int64(1 + rng.int(2 * meanGap))
        while active.count < concurrency { startChild() }
        if pendingMASE.count >= 4, rng.chance(0.05) { maseMeeting(); return }
        let i = rng.int(active.count)
        var child = active[i]
        if child.steps.isEmpty {
            active.remove(at: i)
            return
        }
        let step = child.steps.removeFirst()
        emit(step, &child)
        active[i] = child
        if child.steps.isEmpty { active.remove(at: i) }
    }

    mutating func startChild() {
        opened += 1
        let age = 11 + rng.int(7)
        let now = Timestamp(seconds: clock)
        let year = Int(now.date.prefix(4))! - age
        let month = 1 + rng.int(12)
        var steps: [Step] = [.open, .contact]
        if rng.chance(0.5) { steps.append(.contact) }
        steps.append(.screening)
        active.append(Child(caseID: "C-\(pad4(opened / 10000))-\(pad4(opened % 10000))",
                            birthMonth: "\(year)-\(month < 10 ? "0" : "")\(month)", learningDisability: rng.chance(0.06), steps: steps))
    }

    mutating func add(_ agency: String, _ type: String, _ child: inout Child, _ facts: [String: JSONValue], name: String? = nil,
                      after earlier: [String] = [], details: [String: JSONValue] = [:]) {
        // Usually recorded within minutes to hours; 4% more than two working days late.
        let late = rng.chance(0.04)
        let delay = late ? Int64(3 * 86400 + rng.int(7 * 86400)) : Int64(60 + rng.int(4 * 3600))
        var occurred = clock - delay
        // Never before the events it follows (a return after the start, a MASE referral after
        // the MASH referral and the strategy decision it cites).
        for name in earlier { if let t = child.times[name] { occurred = max(occurred, t + 60) } }
        // A chain of such events can run ahead of the clock when recordings are seconds apart
        // (10M events a year): the recording then waits for the event, never the other way.
        clock = max(clock, occurred)
        let id = newID()
        if let name {
            child.ids[name] = id
            child.times[name] = occurred
        }
        var d = details
        d["narrative"] = .string("Synthetic record \(idCounter) for \(child.caseID); no real person.")
        queue.append(Item(agency: agency, draft: EventDraft(type: type, caseID: child.caseID, occurredAt: Timestamp(seconds: occurred),
                                                              facts: facts, details: d, eventID: id), recordedAt: Timestamp(seconds: clock)))
    }

    mutating func emit(_ step: Step, _ c: inout Child) {
        let reporter = rng.pick(Self.reporters)
        switch step {
        case .open:
            add(reporter, "case.opened", &c, [
                "birth_month": .string(c.birthMonth), "gender": .string(rng.pick(["female", "female", "male", "non_binary", "not_known"])),
                "looked_after": .bool(rng.chance(0.2)), "learning_disability": .bool(c.learningDisability),
                "borough": .string(rng.pick(["BOROUGH-A", "BOROUGH-B", "BOROUGH-C"])),
            ], name: "open", details: ["name": .string("Child \(opened) (synthetic)")])
        case .contact:
            let inds = (0..<(1 + rng.int(3))).map { _ in rng.pick(policy.indicatorOrder) }
            var f: [String: JSONValue] = ["contact_type": .string(rng.pick(["face_to_face", "phone", "online", "about_child"])),
                                          "indicators": .array(Array(Set(inds)).sorted().map { .string($0) })]
            if rng.chance(0.3) { f["vulnerabilities"] = .array([.string(rng.pick(policy.vulnerabilityOrder))]) }
            add(reporter, "contact.recorded", &c, f)
        case .screening:
            var marks: [Screening.Mark] = []
            // About 30% no indicators, 50% additional-column ones only, 20% significant ones.
            let riskRoll = rng.int(10)
            let count = riskRoll < 3 ? 0 : 1 + rng.int(3)
            let additional = policy.indicatorOrder.filter { policy.indicators[$0]?.column == "additional" }
            var codes = Set<String>()
            for _ in 0..<count {
                let code = riskRoll >= 8 ? rng.pick(policy.indicatorCodes(set: "significant") + policy.indicatorCodes(set: "additional"))
                    : rng.pick(additional)
                guard codes.insert(code).inserted else { continue }
                let timing: Screening.Timing? = policy.indicators[code]?.set == "significant" ? (rng.chance(0.25) ? .prior : .current) : nil
                marks.append(.init(code, timing))
            }
            // Age on the earliest day the screening can be dated (late records go back 10 days).
            let age = Age.youngest(birthMonth: c.birthMonth, on: Day(london: Timestamp(seconds: clock - 11 * 86400))) ?? 15
            let s = Screening(indicators: marks, ageYears: max(0, min(25, age)), learningDisability: c.learningDisability)
            let suggestion = LevelSuggestion.suggest(s, policy: policy)
            c.level = suggestion.level
            let agency = ["education", "health", "voluntary", "police", "csc"].contains(reporter) ? reporter : "csc"
            add(agency, "screening.cse_tool", &c, [
                "policy_version": .integer(policy.version), "indicators": Screening.json(marks), "age_years": .integer(Int64(s.ageYears)),
                "learning_disability": .bool(c.learningDisability), "suggested_level": .string(suggestion.level.rawValue),
                "practitioner_level": .string(suggestion.level.rawValue),
            ])
            plan(&c, urgent: suggestion.urgent)
        case .referral:
            add(rng.pick(["education", "health", "police", "csc"]), "referral.mash_written", &c, ["urgency": "standard"], name: "mash")
        case .mashDecision:
            let outcome = c.level == .significant ? "strategy_discussion" : rng.pick(["s17_assessment", "early_help", "nfa"])
            add("mash", "decision.mash", &c, ["outcome": .string(outcome)], after: ["mash"])
        case .strategy:
            add("csc", "meeting.strategy", &c, ["meeting_ref": .string("STRAT-\(idCounter)"), "attendees": ["police", "csc", "health"],
                                                "cases_discussed": .array([.string(c.caseID)])], name: "strategy_meeting", after: ["mash"])
            add("csc", "decision.strategy", &c, ["format": .string(rng.pick(["meeting", "discussion"])), "outcome": .string(rng.pick(["s47", "cin_plan", "early_help_plan"])),
                                                 "organised_complex_abuse": .bool(rng.chance(0.05))], name: "strategy", after: ["strategy_meeting"])
        case .earlyHelp:
            add("csc", "decision.early_help", &c, ["kind": "family_caf", "status": "started"])
        case .share:
            add("csc", "sharing.shared", &c, [
                "to_agency": .string(rng.pick(["police", "health", "education"])), "scope": .array([.string(rng.pick(["summary", "risk_assessment", "chronology"]))]),
                "purpose": .string(rng.pick(["strategy_discussion", "safeguarding_assessment", "mase_planning"])),
                "lawful_basis": "uk_gdpr_6_1_e_public_task", "consent_sought": false, "consent_not_sought_reason": "risk_of_harm_to_child",
                "subject_informed": true, "necessary_and_proportionate": true, "identities_protected": true, "channel": "secure_email",
            ])
        case .notShared:
            add("health", "sharing.not_shared", &c, ["requested_by_agency": "police", "reason": .string(rng.pick(["not_necessary", "not_proportionate"]))])
        case .missing:
            add(rng.pick(["police", "csc"]), "missing.started", &c, ["reported_by": .string(rng.pick(["parent_carer", "childrens_home", "foster_carer"]))], name: "missing")
        case .returned:
            if let m = c.ids["missing"] {
                add("police", "missing.returned", &c, ["missing_episode": .string(m), "how": .string(rng.pick(["returned_self", "found_by_police"]))], name: "returned", after: ["missing"])
            }
        case .rhi:
            if let m = c.ids["missing"] {
                add("csc", "missing.rhi_offered", &c, ["missing_episode": .string(m)], after: ["missing", "returned"])
            }
        case .link:
            let kind = rng.pick(["location", "vehicle", "person_of_concern"])
            let target = kind == "location" ? rng.pick(Self.venues) : kind == "vehicle" ? rng.pick(Self.vehicles) : rng.pick(Self.persons)
            add("police", "link.recorded", &c, ["link_kind": .string(kind), "target": .string(target)], details: ["description": "synthetic intelligence"])
        case .disruption:
            let status = rng.pick(["considered", "in_progress", "done", "not_pursued"])
            var f: [String: JSONValue] = ["tactic": .string(rng.pick(policy.disruptionOrder)), "status": .string(status)]
            if status == "not_pursued" { f["not_pursued_reason"] = .string(rng.pick(["insufficient_evidence", "victim_declined"])) }
            if status == "done" { f["positive_outcome"] = .bool(rng.chance(0.6)) }
            add("police", "disruption.recorded", &c, f)
        case .crisNumber:
            add("police", "case.updated", &c, ["police_cris_recorded": true], name: "cris", details: ["police_cris_number": .string("CRIS-\(idCounter)")])
        case .maseReferral:
            if let m = c.ids["mash"], let s = c.ids["strategy"] {
                add("csc", "referral.mase", &c, ["mash_referral": .string(m), "strategy_decision": .string(s)], after: ["mash", "strategy", "cris"])
                pendingMASE.append(c.caseID)
            }
        case .nfa:
            add("csc", "decision.nfa", &c, ["reason": .string(rng.pick(["no_cse_concerns", "threshold_not_met"])),
                                            "referrer_told_verbally": true, "referrer_told_in_writing": .bool(!rng.chance(0.15))])
        case .escalation:
            add("education", "escalation.raised", &c, ["with_agency": "csc", "about": "threshold_decision"], name: "escalation")
            if let e = c.ids["escalation"], rng.chance(0.7) {
                let lessons = rng.chance(0.8)
                add("csc", "escalation.resolved", &c, ["escalation": .string(e), "outcome": "agreed", "lessons_reported_to_mase": .bool(lessons)], after: ["escalation"])
                if !lessons { c.leftOpen.append("lessons from the escalation not yet reported") }
            } else {
                c.leftOpen.append("escalation unresolved")
            }
        case .close:
            var facts: [String: JSONValue] = ["reason": .string(rng.pick(["risk_reduced", "no_cse_concerns", "moved_out_of_area"]))]
            var details: [String: JSONValue] = [:]
            if !c.leftOpen.isEmpty {
                facts["closed_despite"] = true
                details["closed_despite_reason"] = .string("synthetic: closed with " + c.leftOpen.joined(separator: ", "))
            }
            add("csc", "case.closed", &c, facts, details: details)
            pendingMASE.removeAll { $0 == c.caseID }
        }
    }

    /// The rest of a child's story, from the screened level; some steps left out on purpose.
    mutating func plan(_ c: inout Child, urgent: Bool) {
        var s: [Step] = []
        switch c.level {
        case .none, .low:
            if rng.chance(0.5) { s += [.close] }
        case .medium:
            if !rng.chance(0.06) { s.append(.referral) }  // R1 gap now and then
            s += [.mashDecision, .share]
            if !rng.chance(0.25) { s.append(.earlyHelp) }  // R3 gap
            if rng.chance(0.3) { s += [.missing, .returned, .rhi] }
            if rng.chance(0.2) { s.append(.link) }
            if rng.chance(0.1) { s.append(.notShared) }
            if rng.chance(0.05) { s.append(.escalation) }
            s.append(rng.chance(0.5) ? .close : .nfa)
        case .significant:
            if !rng.chance(0.04) { s.append(.referral) }
            s += [.mashDecision, .strategy, .share, .crisNumber]
            if rng.chance(0.6) { s += [.missing, .returned] }
            if rng.chance(0.85) { s.append(.rhi) }  // R8 gap otherwise
            s += [.link, .link, .disruption]
            if s.contains(.referral) { s.append(.maseReferral) }
            if rng.chance(0.5) { s.append(.disruption) }
            if rng.chance(0.05) { s.append(.escalation) }
            if rng.chance(0.3) { s.append(.close) }
        }
        // Keep dependent steps in order: a return follows its start, the RHI the return.
        c.steps = s.filter { $0 != .rhi || s.contains(.missing) }
    }

    /// A MASE meeting over up to five referred cases, with an action and acknowledgements.
    mutating func maseMeeting() {
        meetings += 1
        let cases = Array(pendingMASE.prefix(5))
        pendingMASE.removeFirst(cases.count)
        let openCases = cases.filter { id in active.contains { $0.caseID == id } }
        guard let lead = openCases.first, let i = active.firstIndex(where: { $0.caseID == lead }) else { return }
        var child = active[i]
        let ref = "MASE-\(pad4(meetings))"
        add("partnership", "meeting.mase", &child, ["meeting_ref": .string(ref), "attendees": ["police", "csc", "health", "education"],
                                                    "cases_discussed": .array(openCases.map { .string($0) })], name: "mase")
        let due = Day(london: Timestamp(seconds: clock)).adding(days: Int64(14 + rng.int(21)))
        add("partnership", "action.set", &child, ["action_ref": .string("\(ref)-A1"), "owner_agency": .string(rng.pick(["police", "csc", "health"])),
                                                  "due_date": .string(due.description), "strand": .string(rng.pick(["prepare", "prevent", "protect", "pursue"]))])
        var unacknowledged = false
        if let mase = child.ids["mase"] {
            for agency in ["police", "csc", "health", "education"] {
                guard rng.chance(0.85) else { unacknowledged = true; continue }  // R7 gap
                add(agency, "acknowledgement.recorded", &child, ["decision_event": .string(mase), "recorded_on_own_system": true], after: ["mase"])
            }
        }
        if rng.chance(0.7) { add("partnership", "action.completed", &child, ["action_ref": .string("\(ref)-A1")]) }
        active[i] = child
        if unacknowledged {
            for j in active.indices where openCases.contains(active[j].caseID) { active[j].leftOpen.append("MASE decisions of \(ref) unacknowledged") }
        }
    }
}

private func pad4(_ v: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}
