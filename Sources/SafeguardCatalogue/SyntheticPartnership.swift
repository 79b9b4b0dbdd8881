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
    /// A whole number of seconds from `lo` to `hi` hours.
    mutating func hours(_ lo: Double, _ hi: Double) -> Int64 { Int64(lo * 3600) + Int64(int(max(1, Int((hi - lo) * 3600)))) }
    mutating func days(_ lo: Double, _ hi: Double) -> Int64 { hours(lo * 24, hi * 24) }
}

/// A fully synthetic partnership: children's stories unfold in time as the toolkit describes
/// (concern, screening, referral, MASH decision, strategy meeting, early help or NFA, sharing,
/// missing episodes and return home interviews, links to the venues, vehicles and persons of
/// a few exploitation networks, disruption, re-screening with escalation and de-escalation,
/// transition at 18, and a monthly MASE meeting per borough discussing its referred cases,
/// setting actions and collecting acknowledgements). Every step has a deadline-aware time,
/// and each recording-practice rule (R1–R15) is broken now and then, at rates a panel would
/// recognise. Events come out in recording order; only the children whose stories are still
/// unfolding are held, so memory does not grow with the number of events. The same seed and
/// start give the same events, ids included.
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
        let borough: String
        /// What the child's screenings will find: 0 none, 1 additional-column indicators, 2 significant ones.
        var profile: Int
        var level: RiskLevel = .none
        var screenings = 0
        var closed = false
        var network: Int?
        var ids: [String: String] = [:]  // named earlier events of the story
        /// Story steps still to come; the child is let go when none are left.
        var tasks = 0
        var awaitingMASE = false
        /// The agency that screened the child (it leads on the referral).
        var screenerAgency = "csc"
        /// When the child's latest record is recorded: closing, and the MASE meetings that
        /// discuss it, are recorded after it.
        var lastRecorded: Int64 = 0
        /// When the opening, and each named record, is recorded: what refers to a record is
        /// recorded after it (a late record does not hold up the others).
        var recorded: [String: Int64] = [:]
        /// What stays open (an escalation unresolved, MASE decisions unacknowledged): closing
        /// then says why it closes regardless.
        var open: Set<String> = []
    }

    enum Step {
        case open, contact, screening, referral, written, mashDecision, strategyMeeting, strategyDecision, earlyHelp, s17, nfa(told: Int)
        case share, notShared, missing, returned, rhiOffered, rhiCompleted, rhiReferral, link, disruption, cris, maseReferral
        case escalation, escalationResolved, transition, ewo, close, actionProgress(String), actionDone(String)
        case arrival, maseMeeting(borough: String), acknowledge(meeting: String, ref: String, agency: String, cases: [String], after: Int64)
    }

    struct Task: Comparable {
        let at: Int64
        let serial: UInt64
        let caseID: String
        let step: Step
        static func < (a: Task, b: Task) -> Bool { (a.at, a.serial) < (b.at, b.serial) }
        static func == (a: Task, b: Task) -> Bool { a.serial == b.serial }
    }

    struct Pending: Comparable {
        let item: Item
        let serial: UInt64
        static func < (a: Pending, b: Pending) -> Bool { (a.item.recordedAt.seconds, a.serial) < (b.item.recordedAt.seconds, b.serial) }
        static func == (a: Pending, b: Pending) -> Bool { a.serial == b.serial }
    }

    var rng: SplitMix64
    let policy: PolicyDocument
    var now: Int64
    var children: [String: Child] = [:]
    var tasks = MinHeap<Task>()
    var out = MinHeap<Pending>()
    var serial: UInt64 = 0
    var opened = 0
    var awaitingMASE: [String: [String]] = [:]
    var meetings = 0
    /// Acknowledgements still to come for each meeting, and whether every attendee will give one.
    var acksLeft: [String: (left: Int, all: Bool)] = [:]
    var idCounter: UInt64 = 0
    let idPrefix: UInt64
    /// The mean time between children coming to notice, in seconds.
    let arrivalGap: Int64

    static let boroughs = ["BOROUGH-A", "BOROUGH-B", "BOROUGH-C"]
    static let reporters = ["education", "health", "police", "voluntary", "csc"]
    /// About how many records a child's story makes (measured on the generator): the arrival
    /// rate is set so that `meanGapSeconds` is the mean time between records.
    static let recordsPerChild: Int64 = 13

    /// `meanGapSeconds` is the mean time between recordings.
    public init(seed: UInt64, start: Timestamp, meanGapSeconds: Int = 1800, policy: PolicyDocument = .toolkit) {
        rng = SplitMix64(seed: seed)
        now = start.seconds
        self.policy = policy
        arrivalGap = max(1, Int64(max(1, meanGapSeconds)) * Self.recordsPerChild)
        var prefix = SplitMix64(seed: seed ^ 0x5AFE)
        idPrefix = prefix.next()
        schedule(at: now, "", .arrival)
        for b in Self.boroughs { schedule(at: Self.maseDay(after: now, borough: b), b, .maseMeeting(borough: b)) }
    }

    /// The next event, in recording order.
    public mutating func next() -> Item {
        while true {
            if let first = out.peek, first.item.recordedAt.seconds <= (tasks.peek?.at ?? .max) { return out.pop()!.item }
            let task = tasks.pop()!
            now = max(now, task.at)
            run(task)
        }
    }

    /// A version 4 UUID that follows from the seed and the event's number, and looks random
    /// (so that the first 8 hex digits, by which people name events, differ from event to event).
    mutating func newID() -> String {
        idCounter += 1
        return Self.uuid("synthetic event \(idPrefix) \(idCounter)")
    }

    /// A version 4 UUID made from `text` (its SHA-256): the same text, the same id.
    public static func uuid(_ text: String) -> String {
        var u = Array(Hex.encode(Array(SHA256.hash(Array(text.utf8)).prefix(16))))
        u[12] = "4"
        u[16] = ["8", "9", "a", "b"][Int(u[16].hexDigitValue ?? 0) % 4]
        return String(u[0..<8]) + "-" + String(u[8..<12]) + "-" + String(u[12..<16]) + "-" + String(u[16..<20]) + "-" + String(u[20..<32])
    }

    mutating func schedule(at: Int64, _ caseID: String, _ step: Step) {
        serial += 1
        tasks.push(Task(at: max(at, now), serial: serial, caseID: caseID, step: step))
        if !caseID.isEmpty { children[caseID]?.tasks += 1 }
    }

    /// A step of the child's story `delay` seconds from now (or at `at`).
    mutating func later(_ c: inout Child, _ delay: Int64, _ step: Step, at: Int64? = nil) {
        serial += 1
        tasks.push(Task(at: max(at ?? now + delay, now), serial: serial, caseID: c.caseID, step: step))
        c.tasks += 1
    }

    /// The second Wednesday of the month after `t`'s (or of `t`'s own month when still to
    /// come), at 10:00, 11:30 or 13:00 by borough.
    static func maseDay(after t: Int64, borough: String) -> Int64 {
        let offset: Int64 = borough == "BOROUGH-A" ? 36000 : borough == "BOROUGH-B" ? 41400 : 46800
        var month = String(Timestamp(seconds: t).date.prefix(7)) + "-01"
        while true {
            var d = Day(iso: month)!
            while d.weekday != 3 { d = d.adding(days: 1) }
            let at = d.adding(days: 7).number * 86400 + offset
            if at > t { return at }
            month = Age.shiftMonths(month, by: 1)
        }
    }

    /// Records an event of the child, happening now (or `at`), by `agency`: usually recorded
    /// within minutes to hours, 4% more than two working days late, and never before the
    /// child's earlier records.
    @discardableResult
    mutating func add(_ agency: String, _ type: String, _ c: inout Child, _ facts: [String: JSONValue], name: String? = nil,
                      details: [String: JSONValue] = [:], at: Int64? = nil, after: [String] = [], floor: Int64 = 0) -> String {
        let occurred = max(at ?? now, now)
        let delay = rng.chance(0.025) ? rng.days(3.5, 10) : rng.hours(0.02, 4)
        var recorded = max(occurred + delay, floor + 1, (c.recorded["open"] ?? 0) + 1)
        for name in after { recorded = max(recorded, (c.recorded[name] ?? 0) + 1) }
        c.lastRecorded = max(c.lastRecorded, recorded)
        let id = newID()
        if let name {
            c.ids[name] = id
            c.recorded[name] = recorded
        }
        var d = details
        d["narrative"] = .string("Synthetic record \(idCounter) for \(c.caseID); no real person.")
        serial += 1
        out.push(Pending(item: Item(agency: agency, draft: EventDraft(type: type, caseID: c.caseID, occurredAt: Timestamp(seconds: occurred),
                                                                       facts: facts, details: d, eventID: id), recordedAt: Timestamp(seconds: recorded)),
                         serial: serial))
        return id
    }

    mutating func run(_ task: Task) {
        switch task.step {
        case .arrival:
            startChild()
            schedule(at: now + 1 + Int64(rng.int(Int(2 * arrivalGap))), "", .arrival)
            return
        case .maseMeeting(let borough):
            maseMeeting(borough)
            schedule(at: Self.maseDay(after: now + 86400, borough: borough), borough, .maseMeeting(borough: borough))
            return
        case .acknowledge(let meeting, let ref, let agency, let cases, let after):
            acknowledge(meeting, ref, agency, cases, after: after)
            return
        default: break
        }
        guard var c = children[task.caseID] else { return }
        c.tasks -= 1
        if !c.closed { step(task.step, &c) }
        keep(c)
    }

    /// Holds the child while its story goes on; lets it go when nothing more is to come.
    mutating func keep(_ c: Child) {
        children[c.caseID] = c.tasks <= 0 && (!c.awaitingMASE || c.closed) ? nil : c
    }

    mutating func startChild() {
        opened += 1
        let age = rng.pick([11, 12, 13, 13, 14, 14, 14, 15, 15, 15, 16, 16, 16, 17, 17])
        let date = Timestamp(seconds: now).date
        let month = 1 + rng.int(12)
        let roll = rng.int(100)
        let c = Child(caseID: "C-\(pad4(opened / 10000))-\(pad4(opened % 10000))",
                      birthMonth: "\(Int(date.prefix(4))! - age)-\(month < 10 ? "0" : "")\(month)", learningDisability: rng.chance(0.06),
                      borough: rng.pick(Self.boroughs), profile: roll < 28 ? 0 : roll < 80 ? 1 : 2)
        children[c.caseID] = c
        schedule(at: now, c.caseID, .open)
    }

    /// The exploitation networks children are drawn into: a few venues, a vehicle and two
    /// persons of concern each; more networks as the partnership grows.
    mutating func joinNetwork(_ c: inout Child) -> Int {
        if let n = c.network { return n }
        let n = rng.int(max(8, opened / 30))
        c.network = n
        return n
    }

    mutating func linkFacts(_ c: inout Child) -> [String: JSONValue] {
        let n = joinNetwork(&c)
        switch rng.int(3) {
        case 0: return ["link_kind": "location", "target": .string("VENUE-\(pad4(3 * n + 1 + rng.int(3)))")]
        case 1: return ["link_kind": "vehicle", "target": .string("VEH-\(pad4(n + 1))")]
        default: return ["link_kind": "person_of_concern", "target": .string("POI-\(pad4(2 * n + 1 + rng.int(2)))")]
        }
    }

    /// Who leads for the child now: the agency that screened, else children's social care.
    func lead(_ c: Child, may type: String) -> String {
        policy.permissions.allows(agency: c.screenerAgency, type: type) ? c.screenerAgency : "csc"
    }

    mutating func step(_ step: Step, _ c: inout Child) {
        let reporter = rng.pick(Self.reporters)
        switch step {
        case .open:
            add(reporter, "case.opened", &c, [
                "birth_month": .string(c.birthMonth), "gender": .string(rng.pick(["female", "female", "female", "male", "male", "non_binary", "not_known"])),
                "looked_after": .bool(rng.chance(0.2)), "learning_disability": .bool(c.learningDisability), "borough": .string(c.borough),
            ], name: "open", details: ["name": .string("Child \(opened) (synthetic)")])
            later(&c, rng.hours(0.2, 3), .contact)
            if rng.chance(0.5) { later(&c, rng.days(1, 10), .contact) }
            later(&c, rng.days(c.profile == 2 ? 0.2 : 2, 12), .screening)
            if c.profile > 0, rng.chance(0.12) { later(&c, rng.days(3, 20), .ewo) }
            // Transition: from six months before the 18th birthday, while the case is open.
            if let eighteen = Age.eighteenth(birthMonth: c.birthMonth) {
                let windowStart = Day(iso: Age.shiftMonths(eighteen.description, by: -6))!.number * 86400
                if windowStart - now < 300 * 86400 { later(&c, 0, .transition, at: max(now, windowStart) + rng.days(0, 70)) }
            }
        case .contact:
            var marks = c.profile == 0 ? [] : (0..<(1 + rng.int(3))).map { _ in rng.pick(policy.indicatorOrder) }
            if c.profile == 1 { marks = marks.filter { policy.indicators[$0]?.column == "additional" } }
            var f: [String: JSONValue] = ["contact_type": .string(rng.pick(["face_to_face", "phone", "online", "about_child"])),
                                          "indicators": .array(Array(Set(marks)).sorted().map { .string($0) })]
            if rng.chance(0.35) { f["vulnerabilities"] = .array([.string(rng.pick(policy.vulnerabilityOrder))]) }
            add(reporter, "contact.recorded", &c, f)
        case .screening:
            screen(&c, agency: c.screenings == 0 ? (["police", "csc", "mash"].contains(reporter) ? reporter : rng.pick(["education", "health", "voluntary", "csc"])) : c.screenerAgency)
        case .referral:
            let agency = policy.permissions.allows(agency: c.screenerAgency, type: "referral.mash_written") ? c.screenerAgency : "csc"
            if c.level == .significant, c.ids["urgent"] != nil || rng.chance(0.3) {
                add(agency, "referral.mash_telephone", &c, ["immediate_risk": .bool(rng.chance(0.4))], name: "phone")
                let r = rng.int(100)  // the written form: next working day, late, or never (R2)
                if r < 88 { later(&c, rng.hours(3, 26), .written) } else if r < 95 { later(&c, rng.days(3, 6), .written) }
            } else {
                add(agency, "referral.mash_written", &c, ["urgency": "standard"], name: "mash")
            }
            later(&c, c.level == .significant ? rng.hours(1, 20) : rng.days(1, 3), .mashDecision)
        case .written:
            var f: [String: JSONValue] = ["urgency": "urgent"]
            if let p = c.ids["phone"] { f["telephone_referral"] = .string(p) }
            add(policy.permissions.allows(agency: c.screenerAgency, type: "referral.mash_written") ? c.screenerAgency : "csc", "referral.mash_written", &c, f, name: "mash", after: ["phone"])
        case .mashDecision:
            let outcome: String
            if c.level == .significant {
                outcome = rng.chance(0.92) ? "strategy_discussion" : "s47_enquiry"
            } else {
                let r = rng.int(100)
                outcome = r < 42 ? "early_help" : r < 65 ? "s17_assessment" : r < 85 ? "nfa" : r < 93 ? "strategy_discussion" : "refer_other_agency"
            }
            add("mash", "decision.mash", &c, ["outcome": .string(outcome)])
            // At medium a Family CAF follows unless an S17 or S47 assessment applies.
            if c.level == .medium, !["s17_assessment", "s47_enquiry"].contains(outcome) { planCAF(&c) }
            switch outcome {
            case "strategy_discussion", "s47_enquiry": later(&c, rng.days(0.3, 3), .strategyMeeting)
            case "s17_assessment": later(&c, rng.days(10, 35), .s17)
            case "early_help", "refer_other_agency": break
            default:  // NFA: recorded with its reason and the referrer told (R4 gaps now and then)
                let r = rng.int(100)
                if r < 86 { later(&c, rng.hours(1, 20), .nfa(told: 2)) } else if r < 95 { later(&c, rng.hours(1, 20), .nfa(told: 1)) }
            }
        case .strategyMeeting:
            let id = add(rng.pick(["csc", "police"]), "meeting.strategy", &c, ["meeting_ref": .string("STRAT-\(idCounter + 1)"), "attendees": ["police", "csc", "health"],
                                                                               "cases_discussed": .array([.string(c.caseID)])])
            c.ids["strategy_meeting"] = id
            let r = rng.int(100)  // the outcome the same day, late, or never (R13)
            if r < 93 { later(&c, rng.hours(0.5, 3), .strategyDecision) } else if r < 97 { later(&c, rng.days(2, 6), .strategyDecision) }
        case .strategyDecision:
            let outcome = c.level == .significant ? rng.pick(["s47", "s47", "cin_plan"]) : rng.pick(["cin_plan", "early_help_plan", "s47"])
            add(rng.pick(["csc", "police", "mash"]), "decision.strategy", &c, ["format": .string(rng.pick(["meeting", "discussion"])), "outcome": .string(outcome),
                                                                               "organised_complex_abuse": .bool(c.network != nil && rng.chance(0.08))], name: "strategy")
            if c.level == .significant {
                if rng.chance(0.95) { later(&c, rng.days(0.5, 5), .cris) }
                if rng.chance(0.9) { later(&c, rng.days(5.5, 15), .maseReferral) }
            }
        case .earlyHelp:
            add(lead(c, may: "decision.early_help"), "decision.early_help", &c, ["kind": "family_caf", "status": "started"])
        case .s17:
            let outcome = rng.pick(["cin_plan", "early_help", "nfa", "cin_plan"])
            add("csc", "decision.s17", &c, ["outcome": .string(outcome)])
            if outcome == "nfa", rng.chance(0.9) { later(&c, rng.hours(1, 30), .nfa(told: rng.chance(0.9) ? 2 : 1)) }
        case .nfa(let told):
            add(rng.pick(["mash", "csc"]), "decision.nfa", &c, ["reason": .string(rng.pick(["no_cse_concerns", "threshold_not_met", "needs_met_elsewhere"])),
                                                               "referrer_told_verbally": true, "referrer_told_in_writing": .bool(told == 2)])
            if rng.chance(0.7) { later(&c, rng.days(3, 20), .close) }
        case .share:
            var f: [String: JSONValue] = [
                "scope": .array([.string(rng.pick(["summary", "risk_assessment", "chronology", "incident"]))]),
                "purpose": .string(rng.pick(["strategy_discussion", "safeguarding_assessment", "mase_planning"])),
                "lawful_basis": "uk_gdpr_6_1_e_public_task", "consent_sought": false, "consent_not_sought_reason": "risk_of_harm_to_child",
                "subject_informed": true, "necessary_and_proportionate": true, "identities_protected": true, "channel": .string(rng.pick(["secure_email", "meeting", "case_system"])),
            ]
            var from = rng.pick(["csc", "police", "health"])
            if from == "health" {
                f["scope"] = ["health_information"]
                if !rng.chance(0.05) { f["special_category_condition"] = "uk_gdpr_9_2_g_dpa_sch1_para18_safeguarding" }  // R11 otherwise
            } else if rng.chance(0.02) {
                f[rng.chance(0.5) ? "necessary_and_proportionate" : "identities_protected"] = false  // R11
            }
            if from == "police" { f["lawful_basis"] = "dpa_2018_part3_sch8_para4_law_enforcement" }
            f["to_agency"] = .string(rng.pick(["police", "csc", "health", "education"].filter { $0 != from }))
            if !policy.permissions.allows(agency: from, type: "sharing.shared") { from = "csc" }
            add(from, "sharing.shared", &c, f)
        case .notShared:
            add("health", "sharing.not_shared", &c, ["requested_by_agency": "police", "reason": .string(rng.pick(["not_necessary", "not_proportionate"]))])
        case .missing:
            add(rng.pick(["police", "csc"]), "missing.started", &c, ["reported_by": .string(rng.pick(["parent_carer", "childrens_home", "foster_carer", "school"]))], name: "missing")
            later(&c, rng.hours(6, 80), .returned)
        case .returned:
            guard let m = c.ids["missing"] else { return }
            add("police", "missing.returned", &c, ["missing_episode": .string(m), "how": .string(rng.pick(["returned_self", "found_by_police", "found_by_family"]))], after: ["missing"])
            if rng.chance(0.3) { later(&c, rng.hours(1, 12), .rhiReferral) }
            let r = rng.int(100)  // offered within 72 hours, late, or never (R8)
            if r < 85 { later(&c, rng.hours(2, 70), .rhiOffered) } else if r < 93 { later(&c, rng.hours(80, 200), .rhiOffered) }
        case .rhiReferral:
            guard let m = c.ids["missing"] else { return }
            add("csc", "referral.rhi_provider", &c, ["missing_episode": .string(m)], after: ["missing"])
        case .rhiOffered:
            guard let m = c.ids["missing"] else { return }
            add("csc", "missing.rhi_offered", &c, ["missing_episode": .string(m)], after: ["missing"])
            if rng.chance(0.7) { later(&c, rng.days(1, 6), .rhiCompleted) }
        case .rhiCompleted:
            guard let m = c.ids["missing"] else { return }
            add(rng.pick(["csc", "voluntary"]), "missing.rhi_completed", &c, ["missing_episode": .string(m), "accepted": .bool(rng.chance(0.75))], after: ["missing"])
        case .link:
            add("police", "link.recorded", &c, linkFacts(&c), details: ["description": "synthetic intelligence"])
        case .disruption:
            let status = rng.pick(["considered", "in_progress", "done", "done", "not_pursued"])
            var f: [String: JSONValue] = ["tactic": .string(rng.pick(policy.disruptionOrder)), "status": .string(status)]
            if status == "not_pursued" { f["not_pursued_reason"] = .string(rng.pick(["insufficient_evidence", "victim_declined"])) }
            if status == "done" { f["positive_outcome"] = .bool(rng.chance(0.6)) }
            add("police", "disruption.recorded", &c, f)
        case .cris:
            add("police", "case.updated", &c, ["police_cris_recorded": true], name: "cris", details: ["police_cris_number": .string("CRIS-\(idCounter + 1)")])
        case .maseReferral:
            guard let m = c.ids["mash"], let s = c.ids["strategy"], c.ids["cris"] != nil else { return }
            add("csc", "referral.mase", &c, ["mash_referral": .string(m), "strategy_decision": .string(s)], after: ["mash", "strategy", "cris"])
            c.awaitingMASE = true
            awaitingMASE[c.borough, default: []].append(c.caseID)
        case .escalation:
            let e = add(rng.pick(["education", "health", "voluntary"]), "escalation.raised", &c, ["with_agency": "csc", "about": "threshold_decision"], name: "escalation")
            c.open.insert("escalation \(e)")  // the whole id: two escalations' ids may share a prefix
            if rng.chance(0.75) { later(&c, rng.days(5, 25), .escalationResolved) }
        case .escalationResolved:
            guard let e = c.ids["escalation"] else { return }
            let lessons = rng.chance(0.8)
            add("csc", "escalation.resolved", &c, ["escalation": .string(e), "outcome": .string(rng.pick(["agreed", "agreed", "decision_changed"])), "lessons_reported_to_mase": .bool(lessons)], after: ["escalation"])
            if lessons { c.open.remove("escalation \(e)") }
        case .transition:
            guard rng.chance(0.8) else { return }  // R10 otherwise
            if rng.chance(0.6) {
                add("csc", "case.transition", &c, ["plan": .string(rng.pick(["transition_plan_agreed", "leaving_care_support", "adult_social_care_referral"]))])
            } else {
                add("csc", "referral.adult_social_care", &c, ["reason": "transition_at_18"])
            }
        case .ewo:
            add("education", "referral.ewo", &c, ["reason": .string(rng.pick(["attendance", "exclusion", "children_missing_education"]))])
        case .actionProgress(let ref):
            let owner = c.ids["owner " + ref] ?? "csc"
            add(owner, "action.progressed", &c, ["action_ref": .string(ref)], after: ["set " + ref])
            // Progress now and then shows a further action is needed before the next panel.
            if !ref.hasSuffix("-F"), rng.chance(0.5) {
                let follow = ref + "-F"
                let due = Day(london: Timestamp(seconds: now)).adding(days: Int64(10 + rng.int(20)))
                add("partnership", "action.set", &c, ["action_ref": .string(follow), "owner_agency": .string(owner), "due_date": .string(due.description),
                                                      "strand": .string(rng.pick(["prepare", "prevent", "protect", "pursue"]))], name: "set " + follow)
                c.ids["owner " + follow] = owner
                if rng.chance(0.75) { later(&c, rng.days(2, 9), .actionDone(follow)) }
            }
        case .actionDone(let ref):
            add(c.ids["owner " + ref] ?? "csc", "action.completed", &c, ["action_ref": .string(ref)], after: ["set " + ref])
        case .close:
            var facts: [String: JSONValue] = ["reason": .string(c.level >= .medium ? rng.pick(["risk_reduced", "risk_reduced", "moved_out_of_area"]) : rng.pick(["no_cse_concerns", "risk_reduced"]))]
            var details: [String: JSONValue] = [:]
            if !c.open.isEmpty {
                facts["closed_despite"] = true
                details["closed_despite_reason"] = .string("synthetic: closed with " + c.open.sorted().joined(separator: ", ") + " open")
            }
            add(rng.pick(["csc", "police"]), "case.closed", &c, facts, details: details, floor: c.lastRecorded)
            c.closed = true
            if c.awaitingMASE { awaitingMASE[c.borough]?.removeAll { $0 == c.caseID } }
        case .arrival, .maseMeeting, .acknowledge:
            break
        }
    }

    /// A screening (the first, or a review), and the story its level sets going.
    mutating func screen(_ c: inout Child, agency: String) {
        c.screenings += 1
        let review = c.screenings > 1
        if review {  // what changed since: the risk may have grown, eased or stayed
            let r = rng.int(100)
            if c.profile == 2 { c.profile = r < 45 ? 1 : 2 } else if c.profile == 1 { c.profile = r < 30 ? 2 : r < 65 ? 0 : 1 } else { c.profile = r < 40 ? 1 : 0 }
        }
        var marks: [Screening.Mark] = []
        var codes = Set<String>()
        let additional = policy.indicatorOrder.filter { policy.indicators[$0]?.column == "additional" }
        let significant = policy.indicatorOrder.filter { ["complex", "acute"].contains(policy.indicators[$0]?.column ?? "") }
        if c.profile > 0 {
            for _ in 0..<(1 + rng.int(3)) { codes.insert(rng.pick(additional)) }
            marks = codes.sorted().map { Screening.Mark($0) }
        }
        if c.profile == 2 {
            let code = rng.pick(significant)
            if codes.insert(code).inserted { marks.append(.init(code, policy.indicators[code]?.set == "significant" ? .current : nil)) }
        } else if review, c.level == .significant, c.profile == 1, let old = significant.first(where: { policy.indicators[$0]?.set == "significant" }) {
            marks.append(.init(old, .prior))  // de-escalation: the significant indicator is now over six months ago
        }
        let vulnerabilities = rng.chance(0.4) ? [rng.pick(policy.vulnerabilityOrder)] : []
        // The youngest the child can be a month ago: never older than the birth month allows,
        // even when the seeder dates a record a little earlier to end at --end.
        let age = Age.youngest(birthMonth: c.birthMonth, on: Day(london: Timestamp(seconds: now - 30 * 86400))) ?? 15
        let s = Screening(indicators: marks, vulnerabilities: vulnerabilities, ageYears: max(0, min(25, age)), learningDisability: c.learningDisability)
        let suggestion = LevelSuggestion.suggest(s, policy: policy)
        // The practitioner's judgement: low for a child with vulnerabilities but no indicators,
        // now and then a level above or below the suggestion, with the rationale.
        var own = suggestion.level
        if own == .none, !vulnerabilities.isEmpty, rng.chance(0.5) { own = .low }
        if own == .medium { own = rng.chance(0.07) ? .significant : rng.chance(0.06) ? .low : .medium }
        var details: [String: JSONValue] = [:]
        if own != suggestion.level { details["rationale"] = .string("Synthetic professional judgement: level \(own.rawValue) rather than \(suggestion.level.rawValue).") }
        var f: [String: JSONValue] = [
            "policy_version": .integer(policy.version), "indicators": Screening.json(marks), "age_years": .integer(Int64(s.ageYears)),
            "learning_disability": .bool(c.learningDisability), "suggested_level": .string(suggestion.level.rawValue), "practitioner_level": .string(own.rawValue),
        ]
        if !vulnerabilities.isEmpty { f["vulnerabilities"] = .array(vulnerabilities.map { .string($0) }) }
        let before = c.level
        add(agency, "screening.cse_tool", &c, f, name: "screener", details: details)
        c.screenerAgency = agency
        c.level = own
        if suggestion.urgent { c.ids["urgent"] = "yes" }
        plan(&c, from: review ? before : nil)
    }

    mutating func planCAF(_ c: inout Child) {
        let r = rng.int(100)  // a Family CAF within 10 working days, late, or never (R3)
        if r < 80 { later(&c, rng.days(1, 11), .earlyHelp) } else if r < 90 { later(&c, rng.days(17, 30), .earlyHelp) }
    }

    /// The rest of a child's story, from the screened level (and, at a review, the level before).
    mutating func plan(_ c: inout Child, from before: RiskLevel?) {
        let rescreen = c.screenings < 3 && rng.chance(c.level == .none ? 0.15 : 0.35)
        var closeAfter: Int64?
        switch c.level {
        case .none:
            if rng.chance(0.6) { closeAfter = rng.days(5, 25) }
        case .low:
            if rng.chance(0.25) { later(&c, rng.days(5, 20), .link) }  // R9 when the venue is another child's
            if rng.chance(0.4) { closeAfter = rng.days(30, 70) }
        case .medium:
            if before == nil || before! < .medium {
                let r = rng.int(100)  // to MASH the next working day, late, or never (R1)
                if r < 90 { later(&c, rng.hours(2, 20), .referral) } else if r < 95 { later(&c, rng.days(3, 6), .referral) } else { planCAF(&c) }
            }
            for _ in 0..<(1 + rng.int(2)) { later(&c, rng.days(1, 30), .share) }
            if rng.chance(0.3) { later(&c, rng.days(2, 40), .missing) }
            if rng.chance(0.2) { later(&c, rng.days(3, 40), .link) }
            if rng.chance(0.1) { later(&c, rng.days(3, 30), .notShared) }
            if rng.chance(0.06) { later(&c, rng.days(5, 30), .escalation) }
            if rng.chance(0.55) { closeAfter = rng.days(60, 120) }
        case .significant:
            if before != .significant {
                let r = rng.int(100)  // to MASH the same day, late, or never (R1)
                if r < 92 { later(&c, rng.hours(0.2, 1.5), .referral) } else if r < 96 { later(&c, rng.days(2, 5), .referral) }
            }
            for _ in 0..<(1 + rng.int(2)) { later(&c, rng.days(0.5, 30), .share) }
            if rng.chance(0.55) { later(&c, rng.days(2, 60), .missing) }
            for _ in 0..<(1 + rng.int(3)) { later(&c, rng.days(2, 60), .link) }
            for _ in 0..<(1 + rng.int(2)) { later(&c, rng.days(10, 80), .disruption) }
            if rng.chance(0.06) { later(&c, rng.days(5, 40), .escalation) }
            if rng.chance(0.35) { closeAfter = rng.days(120, 240) }
        }
        if rescreen {
            later(&c, rng.days(30, 80), .screening)
        } else if let closeAfter {
            later(&c, closeAfter, .close)
        }
    }

    /// A borough's monthly MASE meeting: the cases referred to it since the last one (up to
    /// twelve), now and then a linked child not referred (R5), an action per case, and each
    /// attending agency's acknowledgement over the following days (some never: R7).
    mutating func maseMeeting(_ borough: String) {
        var cases = (awaitingMASE[borough] ?? []).filter { children[$0].map { !$0.closed } ?? false }
        let held = Array(cases.prefix(12))
        awaitingMASE[borough] = Array(cases.dropFirst(12))
        cases = held
        if let net = cases.compactMap({ children[$0]?.network }).first, rng.chance(0.3),
            let extra = children.values.filter({ $0.network == net && !$0.closed && !$0.awaitingMASE && $0.borough == borough && $0.ids["screener"] != nil }).map(\.caseID).min()
        {
            cases.append(extra)
        }
        guard let leadID = cases.first, var leadChild = children[leadID] else { return }
        meetings += 1
        let month = String(Timestamp(seconds: now).date.prefix(7))
        let ref = "MASE-\(borough.suffix(1))-\(month)"
        var attendees: [JSONValue] = ["police", "csc", "health", "education"]
        if rng.chance(0.4) { attendees.append("voluntary") }
        // Recorded after every record of the cases it discusses.
        let floor = cases.map { children[$0]?.lastRecorded ?? 0 }.max() ?? 0
        let meeting = add("partnership", "meeting.mase", &leadChild, ["meeting_ref": .string(ref), "attendees": .array(attendees),
                                                                      "cases_discussed": .array(cases.map { .string($0) })], floor: floor)
        let meetingRecorded = leadChild.lastRecorded
        children[leadID] = leadChild
        for (n, id) in cases.enumerated() {
            guard var c = children[id] else { continue }
            c.lastRecorded = max(c.lastRecorded, meetingRecorded)
            c.awaitingMASE = false
            let aref = "\(ref)-A\(n + 1)"
            let owner = rng.pick(["police", "csc", "health", "education"])
            let due = Day(london: Timestamp(seconds: now)).adding(days: Int64(14 + rng.int(21)))
            add("partnership", "action.set", &c, ["action_ref": .string(aref), "owner_agency": .string(owner), "due_date": .string(due.description),
                                                  "strand": .string(rng.pick(["prepare", "prevent", "protect", "pursue"]))], name: "set " + aref, at: now + 3600,
                floor: meetingRecorded)
            c.ids["owner " + aref] = owner
            c.open.insert("MASE decisions of \(ref) unacknowledged")
            children[id] = c
            if rng.chance(0.4) { schedule(at: now + rng.days(5, 12), id, .actionProgress(aref)) }
            let r = rng.int(100)  // done by the due date, after it, or not yet (R14)
            let dueSeconds = due.number * 86400 + 43200
            if r < 72 { schedule(at: now + rng.hours(24, Double(dueSeconds - now) / 3600), id, .actionDone(aref)) } else if r < 88 {
                schedule(at: dueSeconds + rng.days(2, 20), id, .actionDone(aref))
            }
        }
        let acking = attendees.compactMap(\.stringValue).filter { _ in rng.chance(0.97) }  // R7 for the rest
        acksLeft[meeting] = (acking.count, acking.count == attendees.count)
        for agency in acking {
            schedule(at: now + rng.days(0.2, 5), "", .acknowledge(meeting: meeting, ref: ref, agency: agency, cases: cases, after: meetingRecorded))
        }
        for id in cases { children[id]?.tasks += acking.count }  // held until the acknowledgements are in
        if acking.isEmpty { acksLeft[meeting] = nil }
        for id in cases { if let c = children[id] { keep(c) } }
    }

    /// One agency's acknowledgement of a MASE meeting's decisions, under the first discussed
    /// case still open; once the last is in, closing the cases needs no `closed_despite`.
    mutating func acknowledge(_ meeting: String, _ ref: String, _ agency: String, _ cases: [String], after meetingRecorded: Int64) {
        var recorded: Int64 = 0
        if let id = cases.first(where: { children[$0].map { !$0.closed } ?? false }), var c = children[id] {
            add(agency, "acknowledgement.recorded", &c, ["decision_event": .string(meeting), "recorded_on_own_system": true], name: "ack", floor: meetingRecorded)
            recorded = c.recorded["ack"]!
            children[id] = c
        }
        var left = acksLeft[meeting] ?? (0, false)
        left.left -= 1
        acksLeft[meeting] = left.left > 0 ? left : nil
        for other in cases {
            guard var o = children[other] else { continue }
            o.tasks -= 1
            o.lastRecorded = max(o.lastRecorded, recorded)  // the cases' later records come after it
            if left.left == 0, left.all, recorded > 0 { o.open.remove("MASE decisions of \(ref) unacknowledged") }
            keep(o)
        }
    }
}

/// A binary min-heap.
struct MinHeap<T: Comparable> {
    private var a: [T] = []
    var peek: T? { a.first }
    var count: Int { a.count }
    mutating func push(_ x: T) {
        a.append(x)
        var i = a.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard a[i] < a[p] else { break }
            a.swapAt(i, p)
            i = p
        }
    }
    mutating func pop() -> T? {
        guard !a.isEmpty else { return nil }
        a.swapAt(0, a.count - 1)
        let top = a.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < a.count, a[l] < a[m] { m = l }
            if r < a.count, a[r] < a[m] { m = r }
            if m == i { break }
            a.swapAt(i, m)
            i = m
        }
        return top
    }
}

private func pad4(_ v: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}
