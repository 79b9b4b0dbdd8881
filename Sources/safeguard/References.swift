import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// The earlier events a record refers to, as a practitioner names them: a full event id, its
/// first 8 or more hex digits (as 'safeguard case show' and 'log' print them), or nothing when
/// the case has exactly one the record can mean (the only telephone referral awaiting its
/// written form, the only missing episode not yet closed, the only escalation unresolved…).
enum References {
    struct Ref: Sendable {
        /// The event types it may name.
        let types: [String]
        /// Whether the event is among the case's own records (else: any record mentioning the case).
        let sameCase: Bool
        /// Among the candidates, the ones still open for this kind of record; nil: no default.
        let open: (@Sendable (_ candidate: Envelope, _ known: [Envelope], _ agency: String?) -> Bool)?
        /// What to call the candidates in a message.
        let noun: String
    }

    static func refersTo(_ e: Envelope, _ field: String, _ id: String) -> Bool { e.facts[field]?.stringValue == id }

    /// The record `e` retracts, if it is a retraction.
    static func retraction(_ e: Envelope) -> String? {
        e.type == "correction.recorded" && e.facts["kind"]?.stringValue == "retraction" ? e.facts["corrects_event"]?.stringValue : nil
    }

    /// Keyed by the record's type, then the fact.
    static let table: [String: [String: Ref]] = {
        let episode = { @Sendable (next: [String]) -> Ref in
            Ref(types: ["missing.started"], sameCase: true, open: { c, all, _ in
                !all.contains { next.contains($0.type) && refersTo($0, "missing_episode", c.eventID) }
            }, noun: "missing episode")
        }
        return [
            "referral.mash_written": ["telephone_referral": Ref(types: ["referral.mash_telephone"], sameCase: true, open: { c, all, _ in
                !all.contains { $0.type == "referral.mash_written" && (refersTo($0, "telephone_referral", c.eventID) || $0.occurredAt >= c.occurredAt) }
            }, noun: "telephone referral awaiting its written form")],
            "referral.mase": [
                "mash_referral": Ref(types: ["referral.mash_written", "referral.mash_telephone"], sameCase: true, open: { _, _, _ in true }, noun: "MASH referral"),
                "strategy_decision": Ref(types: ["decision.strategy"], sameCase: true, open: { _, _, _ in true }, noun: "strategy decision"),
            ],
            "referral.rhi_provider": ["missing_episode": episode(["referral.rhi_provider"])],
            "missing.returned": ["missing_episode": episode(["missing.returned"])],
            "missing.rhi_offered": ["missing_episode": episode(["missing.rhi_offered", "missing.rhi_completed"])],
            "missing.rhi_completed": ["missing_episode": episode(["missing.rhi_completed"])],
            "escalation.resolved": ["escalation": Ref(types: ["escalation.raised"], sameCase: true, open: { c, all, _ in
                !all.contains { $0.type == "escalation.resolved" && refersTo($0, "escalation", c.eventID) }
            }, noun: "unresolved escalation")],
            "acknowledgement.recorded": ["decision_event": Ref(types: ["meeting.mase"], sameCase: false, open: { c, all, agency in
                !all.contains { $0.type == "acknowledgement.recorded" && refersTo($0, "decision_event", c.eventID) && $0.actor.agency == agency }
            }, noun: "MASE meeting your agency has not acknowledged")],
            "correction.recorded": ["corrects_event": Ref(types: [], sameCase: true, open: nil, noun: "record")],
        ]
    }()

    /// The draft with each reference resolved to a full event id; says what it chose for a
    /// reference left out. A prefix that matches none or several, or a missing reference with
    /// no single open candidate, is an input error naming the flag.
    static func resolve(_ draft: EventDraft, in l: Ledger, agency: () throws -> String?, chosen: inout [String]) throws -> EventDraft {
        guard let refs = table[draft.type], let caseID = draft.caseID else { return draft }
        var d = draft
        var caseEvents: [Envelope]?
        var mentioning: [Envelope]?
        for (field, ref) in refs.sorted(by: { $0.key < $1.key }) {
            let flag = RecordOptions.flags[field] ?? field
            let given = d.facts[field]?.stringValue
            if let given, Validate.isUUID(given) { continue }
            let own = try caseEvents ?? l.caseEvents(caseID)
            caseEvents = own
            var pool = own
            if !ref.sameCase {
                let others = try mentioning ?? ref.types.flatMap { try l.events(ofType: $0, mentioning: "\"\(caseID)\"") }
                mentioning = others
                pool = (own + others).reduce(into: [Envelope]()) { acc, e in if !acc.contains(where: { $0.eventID == e.eventID }) { acc.append(e) } }
            }
            // A retracted record is never what a new record means: it is no candidate, and naming it is refused.
            var retracted = Set(pool.compactMap(retraction))
            if !ref.sameCase {
                for e in pool where e.caseID != caseID {
                    retracted.formUnion(try l.events(ofType: "correction.recorded", mentioning: "\"\(e.eventID)\"").compactMap(retraction))
                }
            }
            let typed = pool.filter { ref.types.isEmpty || ref.types.contains($0.type) }
            if let given {
                let p = given.lowercased().filter { $0 != "-" }
                guard p.count >= 8, given.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
                    throw InputError("\(flag) \(given): give the event id, or at least its first 8 hex digits ('safeguard case show \(caseID)' lists them)")
                }
                let matches = typed.filter { $0.eventID.filter { $0 != "-" }.hasPrefix(p) }
                if matches.count == 1, retracted.contains(matches[0].eventID) {
                    throw InputError("\(flag) \(given): that record (\(matches[0].type) of \(Day(london: matches[0].occurredAt).spoken)) was retracted; name a record that stands")
                }
                guard matches.count == 1 else {
                    throw InputError(matches.isEmpty
                        ? "\(flag) \(given): no \(ref.types.isEmpty ? "record" : ref.types.joined(separator: " or ")) of case \(caseID) has an id starting \(given) ('safeguard case show \(caseID)' lists them)"
                        : "\(flag) \(given): \(matches.count) records of case \(caseID) have ids starting \(given): give more digits")
                }
                d.facts[field] = .string(matches[0].eventID)
                continue
            }
            guard let open = ref.open else { continue }
            let who = try agency()
            let candidates = typed.filter { !retracted.contains($0.eventID) && open($0, pool, who) }
            if candidates.count == 1 {
                let c = candidates[0]
                d.facts[field] = .string(c.eventID)
                if field == "telephone_referral" { d.facts["urgency"] = "urgent" }  // the written form of an urgent referral
                chosen.append("\(flag) not given: the only \(ref.noun) of case \(caseID) is \(c.type) of \(Day(london: c.occurredAt).spoken) (seq \(c.seq), event \(c.eventID.prefix(8))).")
            } else if candidates.count > 1, Catalogue.specs[d.type]?.fields.first(where: { $0.name == field })?.required == true {
                let list = candidates.map { "\($0.eventID.prefix(8)) (\(Day(london: $0.occurredAt).spoken))" }.joined(separator: ", ")
                throw InputError("\(flag) is needed: case \(caseID) has \(candidates.count) of them (\(list)); give one")
            }
        }
        return d
    }
}
