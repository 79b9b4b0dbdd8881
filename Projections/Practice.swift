import GRDB
import SafeguardCatalogue
import SafeguardCore

/// The toolkit's recording-practice rules over the read models' verified events: the
/// catalogue's `CasePractice`, as `record` and `case next` apply it to the ledger.
extension ProjectionEngine {
    /// What other cases' records say about each case (meetings, acknowledgements, links,
    /// retractions), as known on `day`: from the entries the read models were built from, each
    /// read from the ledger and checked to be the entry verified.
    public func partnershipFacts(knownOn day: Day?) throws -> PartnershipFacts {
        try partnershipFacts(knownOn: [day])[0]
    }

    /// The partnership facts as known on each of `days` (the entries read and kept once).
    func partnershipFacts(knownOn days: [Day?]) throws -> [PartnershipFacts] {
        let last = days.contains(nil) ? nil : days.compactMap { $0 }.max()
        var facts = PartnershipFacts(knownOn: last)
        let types = PartnershipFacts.types.sorted()
        let wanted = try read { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, entry_hash FROM audit_events WHERE type IN (\(types.map { _ in "?" }.joined(separator: ","))) AND (? IS NULL OR recorded_day <= ?) ORDER BY seq
                """, arguments: StatementArguments(types + [last?.description, last?.description])).map { (seq: $0[0] as Int64, entryHash: $0[1] as String) }
        }
        for e in try envelopesOnEveryCore(wanted) { facts.add(CaseEvent(e)) }
        return days.map { facts.asOf($0) }
    }

    /// Calls `body` with the rules of every case known on `day` (every case, with no day), by
    /// case id, under the policy in force at the read models' head.
    public func forEachCasePractice(knownOn day: Day?, _ body: (CasePractice) throws -> Void) throws {
        try mapCasePractice(knownOn: [day], chosen: .every, { _, practice in practice }, collect: { _, perDay in
            if let practice = perDay[0] { try body(practice) }
        })
    }

    /// The exceptions of the chosen cases on each of `days`, counted as they are worked out (so
    /// the memory they take does not grow with the log): the last day's in full, the others
    /// as the number of cases with any.
    func exceptionTally(on days: [Day], chosen: Chosen) throws -> (last: ExceptionTally, casesOn: [Int]) {
        var tally = ExceptionTally(), counts = [Int](repeating: 0, count: days.count)
        let lastIndex = days.indices.max { days[$0] < days[$1] }
        // Only the last day's exceptions are kept; for the others, whether there are any.
        try mapCasePractice(knownOn: days, chosen: chosen, { i, practice -> [PracticeException] in
            let exceptions = practice.exceptions(on: days[i])
            return i == lastIndex ? exceptions : Array(exceptions.prefix(1))
        }, collect: { id, perDay in
            for (i, exceptions) in perDay.enumerated() where exceptions?.isEmpty == false { counts[i] += 1 }
            if let i = lastIndex, let exceptions = perDay[i] { tally.add(id, exceptions) }
        })
        return (tally, counts)
    }

    /// One case's rules as known on `day`; nil for a case the read models do not know.
    public func practice(of caseID: String, knownOn day: Day?) throws -> CasePractice? {
        let events = try verifiedEvents(of: caseID).map(CaseEvent.init)
        guard !events.isEmpty else { return nil }
        return CasePractice(caseID, events: events, partnership: try partnershipFacts(knownOn: day), policy: try policyAtHead())
    }
}

/// Recording-practice exceptions counted case by case, in case order: per rule the cases and
/// the first few ids, per rule and agency to act the cases, and the cases with any.
struct ExceptionTally {
    let rules = (1...15).map { "R\($0)" }
    private(set) var cases: [String: Int] = [:]
    private(set) var first: [String: [String]] = [:]
    /// By `rule \0 agency` ("" for any agency working with the child).
    private(set) var byAgency: [String: Int] = [:]
    private(set) var anyCases = 0
    static let kept = 10

    mutating func add(_ caseID: String, _ exceptions: [PracticeException]) {
        guard !exceptions.isEmpty else { return }
        anyCases += 1
        var rules = Set<String>(), pairs = Set<String>()
        for e in exceptions {
            if rules.insert(e.rule).inserted {
                cases[e.rule, default: 0] += 1
                if first[e.rule, default: []].count < Self.kept { first[e.rule, default: []].append(caseID) }
            }
            let key = e.rule + "\u{0}" + (e.agency ?? "")
            if pairs.insert(key).inserted { byAgency[key, default: 0] += 1 }
        }
    }
}
