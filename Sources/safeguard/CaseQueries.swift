import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// Reads a case from the ledger for the commands that say what happens next.
enum CaseQueries {
    /// The case's rules as known on `day` (all that is recorded, with no day), read from the
    /// ledger: its own records and what other cases' records say about it.
    /// Only the records that mention the case, its meetings, its links' targets or its events
    /// are read (and checked), so that `record` stays quick on a large log.
    static func practice(_ l: Ledger, caseID: String, knownOn day: Day?) throws -> CasePractice {
        let events = try l.caseEvents(caseID).map(CaseEvent.init)
        var partnership = PartnershipFacts(knownOn: day)
        var seen: Set<String> = []
        func add(_ type: String, _ text: String) throws {
            for e in try l.events(ofType: type, mentioning: text) where seen.insert(e.eventID).inserted { partnership.add(CaseEvent(e)) }
        }
        try add("meeting.mase", "\"\(caseID)\"")
        let meetings = Set(partnership.meetings(discussing: caseID).map(\.eventID) + events.filter { $0.type == "meeting.mase" }.map(\.eventID))
        for m in meetings.sorted() { try add("acknowledgement.recorded", m) }
        for target in Set(events.filter { $0.type == "link.recorded" }.compactMap { $0.facts.string("target") }).sorted() { try add("link.recorded", "\"\(target)\"") }
        // Retractions of the case's own records, and of the other cases' records read above (a
        // meeting retracted under the case it was recorded under no longer asks for acknowledgements).
        for id in Set(events.map(\.eventID)).union(seen).sorted() { try add("correction.recorded", id) }
        return CasePractice(caseID, events: events, partnership: partnership, policy: try l.policyDocument())
    }

    /// The lines that say what is next: the rules' steps with their deadlines, then what the
    /// toolkit also asks at the case's level; "Nothing outstanding" only when neither has any.
    static func stepLines(_ caseID: String, steps: [NextStep], actions: [NextStep], heading: String? = "Next steps for") -> [String] {
        if steps.isEmpty && actions.isEmpty { return ["Nothing outstanding for \(caseID) under the toolkit."] }
        var lines: [String] = []
        let indent = heading == nil ? "" : "  - "
        if !steps.isEmpty {
            if let heading { lines.append("\(heading) \(caseID):") }
            lines += steps.map { indent + $0.sentence }
        }
        if !actions.isEmpty {
            lines.append("The toolkit also asks:")
            lines += actions.map { "  - " + $0.sentence }
        }
        return lines
    }

    /// The latest value of a case fact (from case.opened and case.updated events).
    static func latest(_ events: [Envelope], _ fact: String) -> JSONValue? {
        events.last { ($0.type == "case.opened" || $0.type == "case.updated") && $0.facts[fact] != nil }?.facts[fact]
    }

    static func json(_ s: NextStep) -> JSONValue {
        var o: [String: JSONValue] = ["rule": .string(s.rule), "what": .string(s.what)]
        if let d = s.due { o["due"] = .string(d.description) }
        if let od = s.overdueBy { o["overdue_working_days"] = .integer(Int64(od)) }
        if let by = s.by { o["by"] = .string(by) }
        o["recorded_by"] = .array(s.records.map { .string($0) })
        return .object(o)
    }

    static func json(_ e: PracticeException) -> JSONValue {
        var o: [String: JSONValue] = ["rule": .string(e.rule), "case": .string(e.caseID), "what": .string(e.what), "since": .string(e.since)]
        if let od = e.overdue { o["overdue_working_days"] = .integer(Int64(od)) }
        return .object(o)
    }
}
