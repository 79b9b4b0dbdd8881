import GRDB
import SafeguardCatalogue
import SafeguardCore

/// Answers the catalogue's questions from the ledger file inside the append transaction,
/// overlaid with the events already accepted earlier in the same batch. Cases are kept in a
/// `CaseBook`, the same one verification keeps, each loaded from the file the first time the
/// batch asks about it (its own events, then the acknowledgements and retractions elsewhere
/// that name its MASE meetings and escalations), and moved on by the batch's events. The
/// writer trusts the file it writes to (its schema is checked first); verification answers the
/// same questions from what it verified (`VerifiedView`), so an append misled by a file changed
/// behind its back writes an entry that verification rejects.
final class LedgerContext: LogView {
    private let eventStatement: Statement
    private let caseStatement: Statement
    private let discussingStatement: Statement
    private let db: Database
    private var book: CaseBook!

    init(db: Database) throws {
        self.db = db
        eventStatement = try db.cachedStatement(sql: "SELECT type, case_id, occurred_at, agency FROM events WHERE event_id = ?")
        let types = CaseBook.typesRead.sorted().map { "'\($0)'" }.joined(separator: ", ")
        // `+seq`: the few events of these types found by (case, type), then sorted, rather than
        // the whole case walked by seq (which would make a long case's appends quadratic).
        caseStatement = try db.cachedStatement(sql: "SELECT seq, envelope FROM events WHERE case_id = ? AND type IN (\(types)) ORDER BY +seq")
        discussingStatement = try db.cachedStatement(sql: """
            SELECT envelope FROM events WHERE type = 'meeting.mase' AND case_id IS NOT ? AND instr(envelope, ?) > 0
            """)
        book = CaseBook(load: { [unowned self] in try self.load($0) })
        book.lookup = { [unowned self] in self.event($0) }
    }

    func caseStatus(_ caseID: String) -> CaseStatus { book.status(caseID) }
    func caseFact(_ caseID: String, _ fact: String) -> JSONValue? { book.fact(caseID, fact) }
    func caseRecord(_ caseID: String) -> CaseBook.Record? { book.record(caseID) }

    func event(_ eventID: String) -> EventSummary? {
        // The batch's accepted events are in the file already (its writer's transaction).
        guard let row = try? Row.fetchOne(eventStatement, arguments: [eventID]),
            let type = try? RowReader.text(row, 0, "type"), let caseID = try? RowReader.optionalText(row, 1, "case_id"),
            let at = (try? RowReader.text(row, 2, "occurred_at")).flatMap(Timestamp.init(canonical:)),
            let agency = try? RowReader.text(row, 3, "agency")
        else { return nil }
        return EventSummary(type: type, caseID: caseID, occurredAt: at, agency: agency)
    }

    func meetingsDiscussing(_ caseID: String) -> Set<String> {
        // The batch's meetings are in the book (a case loaded from the file has none from
        // other cases there); the file's are found by their bytes.
        var found = book.record(caseID)?.discussedIn ?? []
        // Meetings whose bytes hold the case id as a JSON string, then read: it must be among
        // those the meeting discussed (`cases_discussed`), as verification's `CaseBook` has it.
        guard let rows = try? Row.fetchCursor(discussingStatement, arguments: [caseID, "\"\(caseID)\""]) else { return found }
        while let row = try? rows.next() {
            guard let bytes = try? RowReader.blob(row, 0, "envelope"), let e = try? Envelope(json: JSONParser.parse(bytes, mode: .canonical)),
                Facts(e.facts).strings("cases_discussed").contains(caseID) else { continue }
            found.insert(e.eventID)
        }
        return found
    }

    /// Makes an accepted event of the batch visible to the drafts after it.
    func accept(_ e: Envelope) {
        book.accept(e)
    }

    /// The case's record as the file holds it: its own events the book reads, with the
    /// acknowledgements and retractions recorded under any case that name its MASE meetings
    /// or escalations, replayed in the log's order into a book of its own.
    private func load(_ caseID: String) throws -> CaseBook.Record? {
        var rows: [(seq: Int64, envelope: Envelope)] = []
        let own = try Row.fetchCursor(caseStatement, arguments: [caseID])
        while let row = try own.next() {
            rows.append((try RowReader.integer(row, 0, "seq"), try Envelope(json: JSONParser.parse(try RowReader.blob(row, 1, "envelope"), mode: .canonical))))
        }
        // Legal holds and retention reviews name the case in their facts (they have no
        // case_id); a hold may hold the ledger.
        let holds = try Row.fetchCursor(try db.cachedStatement(sql: """
            SELECT seq, envelope FROM events WHERE type IN (?, 'governance.retention_review') AND case_id IS NULL AND instr(envelope, ?) > 0 ORDER BY seq
            """), arguments: [CaseBook.LegalHold.type, caseID == CaseBook.LegalHold.ledger ? "\"scope\":\"ledger\"" : "\"case_ref\":\"\(caseID)\""])
        var held: [(seq: Int64, envelope: Envelope)] = []
        while let row = try holds.next() {
            held.append((try RowReader.integer(row, 0, "seq"), try Envelope(json: JSONParser.parse(try RowReader.blob(row, 1, "envelope"), mode: .canonical))))
        }
        if caseID == CaseBook.LegalHold.ledger {
            guard !held.isEmpty else { return nil }
            let replay = CaseBook()
            for r in held { replay.accept(r.envelope) }
            return replay.record(caseID)
        }
        guard !rows.isEmpty else { return nil }
        rows += held
        rows.sort { $0.seq < $1.seq }
        let named = rows.filter { $0.envelope.type == "meeting.mase" || $0.envelope.type == "escalation.raised" }.map(\.envelope.eventID)
        if !named.isEmpty {
            let mentions = named.map { _ in "instr(envelope, ?) > 0" }.joined(separator: " OR ")
            let others = try Row.fetchCursor(db, sql: """
                SELECT seq, envelope FROM events WHERE type IN ('acknowledgement.recorded', 'correction.recorded') AND case_id IS NOT ?
                AND seq > ? AND (\(mentions)) ORDER BY seq
                """, arguments: StatementArguments([caseID, rows[0].seq] as [any DatabaseValueConvertible] + named.map { "\"\($0)\"" }))
            while let row = try others.next() {
                rows.append((try RowReader.integer(row, 0, "seq"), try Envelope(json: JSONParser.parse(try RowReader.blob(row, 1, "envelope"), mode: .canonical))))
            }
            rows.sort { $0.seq < $1.seq }
        }
        let replay = CaseBook()
        for r in rows { replay.accept(r.envelope) }
        return replay.record(caseID)
    }
}
