import GRDB
import SafeguardCatalogue
import SafeguardCore

/// Answers the catalogue's questions from the ledger file inside the append transaction,
/// overlaid with the events already accepted earlier in the same batch.
final class LedgerContext: RecordingContext {
    let policy: PolicyDocument
    var now: Timestamp
    private let db: Database
    private var batchCases: [String: CaseStatus] = [:]
    private var batchEvents: [String: EventSummary] = [:]
    private let caseStatement: Statement
    private let eventStatement: Statement

    init(db: Database, policy: PolicyDocument, now: Timestamp) throws {
        self.db = db
        self.policy = policy
        self.now = now
        caseStatement = try db.cachedStatement(sql: """
            SELECT type, occurred_at FROM events WHERE case_id = ? AND type IN ('case.opened', 'case.closed') ORDER BY seq DESC LIMIT 1
            """)
        eventStatement = try db.cachedStatement(sql: "SELECT type, case_id, occurred_at FROM events WHERE event_id = ?")
    }

    func caseStatus(_ caseID: String) -> CaseStatus {
        if let s = batchCases[caseID] { return s }
        guard let row = try? Row.fetchOne(caseStatement, arguments: [caseID]),
            let type = try? RowReader.text(row, 0, "type"), let at = (try? RowReader.text(row, 1, "occurred_at")).flatMap(Timestamp.init(canonical:))
        else { return .neverOpened }
        return type == "case.closed" ? .closed(at: at) : .open
    }

    func event(_ eventID: String) -> EventSummary? {
        if let e = batchEvents[eventID] { return e }
        guard let row = try? Row.fetchOne(eventStatement, arguments: [eventID]),
            let type = try? RowReader.text(row, 0, "type"), let caseID = try? RowReader.optionalText(row, 1, "case_id"),
            let at = (try? RowReader.text(row, 2, "occurred_at")).flatMap(Timestamp.init(canonical:))
        else { return nil }
        return EventSummary(type: type, caseID: caseID, occurredAt: at)
    }

    /// Makes an accepted event of the batch visible to the drafts after it.
    func accepted(_ e: Envelope) {
        batchEvents[e.eventID] = EventSummary(type: e.type, caseID: e.caseID, occurredAt: e.occurredAt)
        if let c = e.caseID {
            if e.type == "case.opened" { batchCases[c] = .open }
            if e.type == "case.closed" { batchCases[c] = .closed(at: e.occurredAt) }
        }
    }
}
