import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// Reads a case from the ledger for the commands that say what happens next.
enum CaseQueries {
    static func nextSteps(_ l: Ledger, caseID: String, today: Day) throws -> [NextStep] {
        NextSteps.forCase(try l.caseEvents(caseID).map(CaseEvent.init), policy: try l.policyDocument(), today: today)
    }

    /// The latest value of a case fact (from case.opened and case.updated events).
    static func latest(_ events: [Envelope], _ fact: String) -> JSONValue? {
        events.last { ($0.type == "case.opened" || $0.type == "case.updated") && $0.facts[fact] != nil }?.facts[fact]
    }

    static func json(_ s: NextStep) -> JSONValue {
        var o: [String: JSONValue] = ["rule": .string(s.rule), "what": .string(s.what)]
        if let d = s.due { o["due"] = .string(d.description) }
        if let od = s.overdueBy { o["overdue_working_days"] = .integer(Int64(od)) }
        return .object(o)
    }
}
