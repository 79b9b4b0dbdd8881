import GRDB
import SafeguardCatalogue
import SafeguardCore

/// Answers the catalogue's questions from the ledger file inside the append transaction,
/// overlaid with the events already accepted earlier in the same batch. The writer trusts the
/// file it writes to (its schema is checked first); verification answers the same questions
/// from what it verified (`VerifiedView`), so an append misled by a file changed behind its
/// back writes an entry that verification rejects.
final class LedgerContext: LogView {
    private var batchCases: [String: CaseStatus] = [:]
    private var batchEvents: [String: EventSummary] = [:]
    private var batchFacts: [String: [String: JSONValue]] = [:]
    private let caseStatement: Statement
    private let eventStatement: Statement
    private let factsStatement: Statement

    init(db: Database) throws {
        // `+seq`: sort the few opening and closing events found by (case, type), rather than
        // walk the whole case backwards by seq (which made a long case's appends quadratic).
        caseStatement = try db.cachedStatement(sql: """
            SELECT type, occurred_at FROM events WHERE case_id = ? AND type IN ('case.opened', 'case.closed') ORDER BY +seq DESC LIMIT 1
            """)
        eventStatement = try db.cachedStatement(sql: "SELECT type, case_id, occurred_at, agency FROM events WHERE event_id = ?")
        factsStatement = try db.cachedStatement(sql: """
            SELECT envelope FROM events WHERE case_id = ? AND type IN ('case.opened', 'case.updated') ORDER BY +seq DESC
            """)
    }

    func caseStatus(_ caseID: String) -> CaseStatus {
        if let s = batchCases[caseID] { return s }
        // Kept for the rest of the batch: the file does not change under it, and `accepted`
        // overrides it when the batch opens or closes the case.
        let status: CaseStatus
        if let row = try? Row.fetchOne(caseStatement, arguments: [caseID]),
            let type = try? RowReader.text(row, 0, "type"), let at = (try? RowReader.text(row, 1, "occurred_at")).flatMap(Timestamp.init(canonical:)) {
            status = type == "case.closed" ? .closed(at: at) : .open
        } else {
            status = .neverOpened
        }
        batchCases[caseID] = status
        return status
    }

    func event(_ eventID: String) -> EventSummary? {
        if let e = batchEvents[eventID] { return e }
        guard let row = try? Row.fetchOne(eventStatement, arguments: [eventID]),
            let type = try? RowReader.text(row, 0, "type"), let caseID = try? RowReader.optionalText(row, 1, "case_id"),
            let at = (try? RowReader.text(row, 2, "occurred_at")).flatMap(Timestamp.init(canonical:)),
            let agency = try? RowReader.text(row, 3, "agency")
        else { return nil }
        return EventSummary(type: type, caseID: caseID, occurredAt: at, agency: agency)
    }

    func caseFact(_ caseID: String, _ fact: String) -> JSONValue? {
        if let v = batchFacts[caseID]?[fact] { return v }
        guard let rows = try? Row.fetchCursor(factsStatement, arguments: [caseID]) else { return nil }
        while let row = try? rows.next() {
            guard let bytes = try? RowReader.blob(row, 0, "envelope"), let json = try? JSONParser.parse(bytes, mode: .canonical) else { continue }
            if let v = json["facts"]?[fact] { return v }
        }
        return nil
    }

    /// Makes an accepted event of the batch visible to the drafts after it.
    func accept(_ e: Envelope) {
        batchEvents[e.eventID] = EventSummary(e)
        guard let c = e.caseID else { return }
        if e.type == "case.opened" { batchCases[c] = .open }
        // A reopening keeps the facts recorded before it unless it records them anew.
        if e.type == "case.opened" || e.type == "case.updated" { batchFacts[c, default: [:]].merge(e.facts) { $1 } }
        if e.type == "case.closed" { batchCases[c] = .closed(at: e.occurredAt) }
    }
}
