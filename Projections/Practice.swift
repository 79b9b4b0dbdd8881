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
        var facts = PartnershipFacts(knownOn: day)
        let types = PartnershipFacts.types.sorted()
        let wanted = try read { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, entry_hash FROM audit_events WHERE type IN (\(types.map { _ in "?" }.joined(separator: ","))) AND (? IS NULL OR recorded_day <= ?) ORDER BY seq
                """, arguments: StatementArguments(types + [day?.description, day?.description])).map { (seq: $0[0] as Int64, entryHash: $0[1] as String) }
        }
        for (_, e) in try ledger.entries(wanted) { facts.add(CaseEvent(e)) }
        return facts
    }

    /// Calls `body` with the rules of every case known on `day` (every case, with no day), by
    /// case id, under the policy in force at the read models' head.
    public func forEachCasePractice(knownOn day: Day?, _ body: (CasePractice) throws -> Void) throws {
        let policy = try policyAtHead()
        let partnership = try partnershipFacts(knownOn: day)
        try forEachVerifiedCase(knownOn: day) { id, envelopes in
            let practice = CasePractice(id, events: envelopes.map(CaseEvent.init), partnership: partnership, policy: policy)
            if practice.isKnown { try body(practice) }
        }
    }

    /// One case's rules as known on `day`; nil for a case the read models do not know.
    public func practice(of caseID: String, knownOn day: Day?) throws -> CasePractice? {
        let events = try verifiedEvents(of: caseID).map(CaseEvent.init)
        guard !events.isEmpty else { return nil }
        return CasePractice(caseID, events: events, partnership: try partnershipFacts(knownOn: day), policy: try policyAtHead())
    }
}
