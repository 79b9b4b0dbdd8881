import SafeguardCore

/// Where each case stands, as far as the catalogue's rules ask (`RecordingContext`): open or
/// closed, and the latest value of each fact in `Catalogue.caseFactsRead`. A verifier keeps
/// one, fed every entry it accepts in order, so that it never asks the file (whose indexes an
/// attacker could leave stale) what happened before. Memory grows with the number of cases
/// (about 60 bytes each), not of events. A verifier that resumes from a state it kept loads
/// the cases it meets from there (`load`), and reports which it changed (`changed`).
public final class CaseBook: @unchecked Sendable {
    /// One case: whether it is closed (and when) and the facts the rules read. A value that
    /// is not of the kind the rules read (a birth month that is not a string) is kept as nil,
    /// exactly as the rules would read it.
    public struct Record: Equatable, Sendable {
        /// nil while open; when closed, the closing event's `occurred_at`.
        public var closedAt: Timestamp?
        public var birthMonth: String?
        public var learningDisability: Bool?
        public var crisRecorded: Bool?
        /// When the case was first opened (its first `case.opened`'s `occurred_at`).
        public var openedAt: Timestamp?
        /// The MASE action references set for the case, and those completed.
        public var actionsSet: Set<String> = []
        public var actionsCompleted: Set<String> = []
        /// The case's `escalation.raised` events not yet resolved with lessons reported to MASE
        /// (nor retracted).
        public var openEscalations: Set<String> = []
        /// The MASE meetings recorded under the case (not retracted): who attended and which
        /// agencies have acknowledged their decisions (under any case).
        public var meetings: [String: Meeting] = [:]
        /// MASE meetings recorded under another case that discussed this one.
        public var discussedIn: Set<String> = []
        /// The agencies entitled to the case's details besides a sealing policy's `every_case`
        /// (docs/FORMAT.md §3.5): each agency that opened it, each it was shared with, and each
        /// it was transferred to.
        public var entitled: Set<String> = []
        /// The legal holds in force (`governance.legal_hold` placed and not lifted), by reason:
        /// on the case, or, in the book's record `*`, on the whole ledger.
        public var holds: Set<String> = []
        public var held: Bool { !holds.isEmpty }
        /// When the closing was recorded (its `recorded_at`): retention runs from then, as the
        /// closing's `occurred_at` may be given as any earlier time.
        public var closedRecordedAt: Timestamp?
        /// When a retention review that destroyed the case's details was recorded: nothing
        /// more is recorded on it (docs/FORMAT.md §3.6).
        public var destroyedAt: Timestamp?

        public struct Meeting: Equatable, Sendable {
            public var attendees: [String]
            public var acknowledged: Set<String>
            public init(attendees: [String], acknowledged: Set<String> = []) { self.attendees = attendees; self.acknowledged = acknowledged }
            /// The attendees (but the partnership, which chairs) still to acknowledge, in order.
            public var pending: [String] { attendees.filter { $0 != "partnership" && !acknowledged.contains($0) } }
        }

        public init(closedAt: Timestamp? = nil, birthMonth: String? = nil, learningDisability: Bool? = nil, crisRecorded: Bool? = nil) {
            self.closedAt = closedAt; self.birthMonth = birthMonth; self.learningDisability = learningDisability; self.crisRecorded = crisRecorded
        }

        /// The record as canonical JSON (docs/FORMAT.md §9.3): `closed_at` while closed, and
        /// each fact or set that has a value.
        public var json: JSONValue {
            var o: [String: JSONValue] = [:]
            func strings(_ s: Set<String>) -> JSONValue { .array(s.sorted().map { .string($0) }) }
            if let closedAt { o["closed_at"] = .string(closedAt.description) }
            if let birthMonth { o["birth_month"] = .string(birthMonth) }
            if let learningDisability { o["learning_disability"] = .bool(learningDisability) }
            if let crisRecorded { o["police_cris_recorded"] = .bool(crisRecorded) }
            if let openedAt { o["opened_at"] = .string(openedAt.description) }
            if !actionsSet.isEmpty { o["actions_set"] = strings(actionsSet) }
            if !actionsCompleted.isEmpty { o["actions_completed"] = strings(actionsCompleted) }
            if !openEscalations.isEmpty { o["open_escalations"] = strings(openEscalations) }
            if !discussedIn.isEmpty { o["discussed_in"] = strings(discussedIn) }
            if !entitled.isEmpty { o["entitled"] = strings(entitled) }
            if !holds.isEmpty { o["legal_holds"] = strings(holds) }
            if let closedRecordedAt { o["closed_recorded_at"] = .string(closedRecordedAt.description) }
            if let destroyedAt { o["destroyed_at"] = .string(destroyedAt.description) }
            if !meetings.isEmpty {
                o["mase_meetings"] = .object(meetings.mapValues {
                    .object(["attendees": .array($0.attendees.map { .string($0) }), "acknowledged": strings($0.acknowledged)])
                })
            }
            return .object(o)
        }

        static let members: Set<String> = ["closed_at", "birth_month", "learning_disability", "police_cris_recorded", "opened_at", "actions_set",
                                           "actions_completed", "open_escalations", "discussed_in", "mase_meetings", "entitled", "legal_holds", "closed_recorded_at", "destroyed_at"]

        /// Reads `json`; nil if it is not a record this code writes.
        public init?(json: JSONValue) {
            guard let o = json.objectValue, Set(o.keys).isSubset(of: Self.members) else { return nil }
            func time(_ k: String) -> Timestamp?? {
                guard let v = o[k] else { return .some(nil) }
                return v.stringValue.flatMap(Timestamp.init(canonical:)).map { .some($0) }
            }
            func strings(_ v: JSONValue?) -> [String]? {
                guard let v else { return [] }
                guard let a = v.arrayValue else { return nil }
                let s = a.compactMap(\.stringValue)
                return s.count == a.count ? s : nil
            }
            guard let c = time("closed_at"), let opened = time("opened_at") else { return nil }
            closedAt = c; openedAt = opened
            if let b = o["birth_month"] { guard let s = b.stringValue else { return nil }; birthMonth = s }
            if let l = o["learning_disability"] { guard let v = l.boolValue else { return nil }; learningDisability = v }
            if let c = o["police_cris_recorded"] { guard let v = c.boolValue else { return nil }; crisRecorded = v }
            guard let set = strings(o["actions_set"]), let done = strings(o["actions_completed"]), let esc = strings(o["open_escalations"]),
                let discussed = strings(o["discussed_in"]), let entitled = strings(o["entitled"]) else { return nil }
            (actionsSet, actionsCompleted, openEscalations, discussedIn) = (Set(set), Set(done), Set(esc), Set(discussed))
            self.entitled = Set(entitled)
            guard let holds = strings(o["legal_holds"]), let recorded = time("closed_recorded_at") else { return nil }
            self.holds = Set(holds)
            closedRecordedAt = recorded
            guard let destroyed = time("destroyed_at") else { return nil }
            destroyedAt = destroyed
            if let m = o["mase_meetings"] {
                guard let ms = m.objectValue else { return nil }
                for (id, v) in ms {
                    guard let a = strings(v["attendees"]), let k = strings(v["acknowledged"]) else { return nil }
                    meetings[id] = Meeting(attendees: a, acknowledged: Set(k))
                }
            }
        }
    }

    private var records: [String: Record] = [:]
    /// Cases asked about that the book does not hold and `load` did not find: never opened.
    private var unknown = Set<String>()
    private let load: ((String) throws -> Record?)?
    /// The cases whose records changed since the book was made (to save them).
    public private(set) var changed = Set<String>()
    /// A failure of `load` (a damaged state file): the first one, for the caller to report.
    public private(set) var loadFailure: Error?

    /// An empty book, or one that finds the cases it does not hold with `load`.
    public init(load: ((String) throws -> Record?)? = nil) { self.load = load }

    public func record(_ caseID: String) -> Record? {
        if let r = records[caseID] { return r }
        guard let load, !unknown.contains(caseID) else { return nil }
        do {
            if let r = try load(caseID) {
                records[caseID] = r
                return r
            }
        } catch {
            if loadFailure == nil { loadFailure = error }
        }
        unknown.insert(caseID)
        return nil
    }

    public func status(_ caseID: String) -> CaseStatus {
        guard let r = record(caseID) else { return .neverOpened }
        return r.closedAt.map { .closed(at: $0) } ?? .open
    }

    public func fact(_ caseID: String, _ name: String) -> JSONValue? {
        guard let r = record(caseID) else { return nil }
        switch name {
        case "birth_month": return r.birthMonth.map { .string($0) }
        case "learning_disability": return r.learningDisability.map { .bool($0) }
        case "police_cris_recorded": return r.crisRecorded.map { .bool($0) }
        default:
            assertionFailure("the catalogue reads case fact \(name), which Catalogue.caseFactsRead does not list")
            return nil
        }
    }

    /// Earlier events the book did not see itself (a verifier resuming from a state, a writer
    /// loading a case from the file): their type and case, to find the case a reference
    /// (an acknowledgement's meeting, a retraction's target) belongs to.
    public var lookup: ((String) -> EventSummary?)?
    /// The case of each MASE meeting and escalation seen while the book was in memory.
    private var owners: [String: String] = [:]

    /// The event types `accept` reads: what a verifier that skips other entries must feed it.
    public static let typesRead: Set<String> = ["case.opened", "case.updated", "case.closed", "action.set", "action.completed",
                                                "escalation.raised", "escalation.resolved", "meeting.mase", "acknowledgement.recorded",
                                                "correction.recorded", "sharing.shared", "sharing.partly_shared", "case.transferred", LegalHold.type,
                                                "governance.retention_review"]

    /// Legal holds: a governance event (no `case_id`) that holds one case (`case_ref`) or,
    /// as the book's record `*`, the whole ledger.
    public enum LegalHold {
        public static let type = "governance.legal_hold"
        /// The book's record for a hold on the whole ledger (not a case id: those start with
        /// a letter or digit).
        public static let ledger = "*"
    }

    private func owner(of id: String) -> String? { owners[id] ?? lookup?(id)?.caseID }

    private func update(_ c: String, _ change: (inout Record) -> Void) {
        var r = record(c) ?? Record()
        change(&r)
        records[c] = r
        unknown.remove(c)
        changed.insert(c)
    }

    /// Moves past `e`: an opening, update or closing changes its case's facts; actions,
    /// escalations, MASE meetings, acknowledgements and retractions of meetings and escalations
    /// change what the recording checks read (docs/CATALOGUE.md "Recording checks").
    public func accept(_ e: Envelope) {
        if e.type == LegalHold.type {
            let f = Facts(e.facts)
            let target = f.string("scope") == "ledger" ? LegalHold.ledger : f.string("case_ref")
            if let target, let reason = f.string("reason") {
                update(target) { r in
                    if f.string("action") == "placed" { r.holds.insert(reason) } else { r.holds.remove(reason) }
                }
            }
            return
        }
        // A review that destroyed a case's details (a governance event naming it in case_ref).
        if let destroyed = ChainVerifier.destroyedCase(e) {
            update(destroyed) { $0.destroyedAt = e.recordedAt }
            return
        }
        guard let c = e.caseID, Self.typesRead.contains(e.type) else { return }
        let f = Facts(e.facts)
        switch e.type {
        case "case.opened", "case.updated", "case.closed":
            update(c) { r in
                switch e.type {
                case "case.opened":
                    r.closedAt = nil
                    r.closedRecordedAt = nil
                    r.entitled.insert(e.actor.agency)
                    if r.openedAt == nil { r.openedAt = e.occurredAt }
                case "case.closed": r.closedAt = e.occurredAt; r.closedRecordedAt = e.recordedAt
                default: break
                }
                if e.type != "case.closed" {
                    if let v = e.facts["birth_month"] { r.birthMonth = v.stringValue }
                    if let v = e.facts["learning_disability"] { r.learningDisability = v.boolValue }
                    if let v = e.facts["police_cris_recorded"] { r.crisRecorded = v.boolValue }
                }
            }
        case "action.set":
            if let ref = f.string("action_ref") { update(c) { _ = $0.actionsSet.insert(ref) } }
        case "action.completed":
            if let ref = f.string("action_ref") { update(c) { _ = $0.actionsCompleted.insert(ref) } }
        case "escalation.raised":
            owners[e.eventID] = c
            update(c) { _ = $0.openEscalations.insert(e.eventID) }
        case "escalation.resolved":
            if let raised = f.string("escalation"), f.bool("lessons_reported_to_mase") == true {
                update(c) { _ = $0.openEscalations.remove(raised) }
            }
        case "meeting.mase":
            owners[e.eventID] = c
            update(c) { $0.meetings[e.eventID] = Record.Meeting(attendees: f.strings("attendees")) }
            for other in Set(f.strings("cases_discussed")) where other != c {
                update(other) { _ = $0.discussedIn.insert(e.eventID) }
            }
        case _ where Policy.Sealing.entitlingTypes.contains(e.type):
            if let to = f.string("to_agency") { update(c) { _ = $0.entitled.insert(to) } }
        case "acknowledgement.recorded":
            if let meeting = f.string("decision_event"), let held = owner(of: meeting), record(held)?.meetings[meeting] != nil {
                update(held) { _ = $0.meetings[meeting]?.acknowledged.insert(e.actor.agency) }
            }
        case "correction.recorded":
            if f.string("kind") == "retraction", let target = f.string("corrects_event"), let held = owner(of: target),
                let r = record(held), r.meetings[target] != nil || r.openEscalations.contains(target)
            {
                update(held) { r in
                    r.meetings[target] = nil
                    r.openEscalations.remove(target)
                }
            }
        default: break
        }
    }

    /// The number of cases held in memory.
    public var count: Int { records.count }

    /// The cases held in memory whose details a retention review destroyed.
    public var destroyedCases: Set<String> { Set(records.compactMap { $0.value.destroyedAt == nil ? nil : $0.key }) }
}
