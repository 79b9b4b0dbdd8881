import GRDB
import SafeguardCatalogue
import SafeguardCore

/// The audit trail: every event with its place, hash, key, agency, practitioner, times and
/// recording delay; corrections beside what they correct; the information-sharing register,
/// with decisions not to share.
public final class AuditProjection: Projection {
    public let name = "audit"
    public let version = 2
    public let tables = [(name: "audit_events", orderBy: "seq"), (name: "corrections", orderBy: "seq"), (name: "sharing_register", orderBy: "seq")]

    public init() {}

    public func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE audit_events (
              seq INTEGER PRIMARY KEY NOT NULL, event_id TEXT NOT NULL, entry_hash TEXT NOT NULL, type TEXT NOT NULL, case_id TEXT,
              agency TEXT NOT NULL, role TEXT NOT NULL, practitioner TEXT NOT NULL, key_id TEXT NOT NULL,
              occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, delay_seconds INTEGER NOT NULL, delay_working_days INTEGER,
              day TEXT NOT NULL, recorded_day TEXT NOT NULL
            );
            CREATE INDEX audit_by_event_id ON audit_events (event_id);
            CREATE INDEX audit_by_case ON audit_events (case_id, seq);
            CREATE TABLE corrections (seq INTEGER PRIMARY KEY NOT NULL, corrects_event_id TEXT NOT NULL, corrects_seq INTEGER,
              kind TEXT NOT NULL, reason TEXT NOT NULL);
            CREATE TABLE sharing_register (
              seq INTEGER PRIMARY KEY NOT NULL, case_id TEXT NOT NULL, decision TEXT NOT NULL, from_agency TEXT NOT NULL,
              other_agency TEXT, scope TEXT, purpose TEXT, lawful_basis TEXT, special_category_condition TEXT, consent TEXT,
              subject_informed TEXT, necessary_and_proportionate INTEGER, identities_protected INTEGER, channel TEXT,
              reason TEXT, review_by TEXT, occurred_at TEXT NOT NULL
            );
            """)
    }

    public func apply(_ e: Envelope, _ c: FoldContext, _ db: Database) throws {
        let delay = e.recordedAt.seconds - e.occurredAt.seconds
        let (occurredDay, recordedDay) = (Day(london: e.occurredAt), Day(london: e.recordedAt))
        let days = c.policy.map { $0.calendar.workingDays(from: occurredDay, to: recordedDay) }
        try db.cachedStatement(sql: "INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)").execute(arguments: [
            c.seq, e.eventID, Hex.encode(c.entryHash), e.type, e.caseID, e.actor.agency, e.actor.role, e.actor.practitioner,
            e.actor.keyID, c.occurredAt, c.recordedAt, delay, days, occurredDay.description, recordedDay.description,
        ])
        let f = Facts(e.facts)
        switch e.type {
        case "correction.recorded":
            let target = f.string("corrects_event")
            let targetSeq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM audit_events WHERE event_id = ?"), arguments: [target])
            try db.cachedStatement(sql: "INSERT INTO corrections VALUES (?,?,?,?,?)")
                .execute(arguments: [c.seq, target, targetSeq, f.string("kind"), f.string("reason")])
        case "sharing.shared", "sharing.partly_shared", "sharing.not_shared", "sharing.request_received":
            let decision = String(e.type.dropFirst("sharing.".count))
            var consent: String? = nil
            if let sought = f.bool("consent_sought") {
                consent = sought ? (f.bool("consent_given") == true ? "given" : "refused") : "not_sought: " + (f.string("consent_not_sought_reason") ?? "?")
            }
            var informed: String? = nil
            if let told = f.bool("subject_informed") { informed = told ? "yes" : "no: " + (f.string("subject_not_informed_reason") ?? "?") }
            try db.cachedStatement(sql: "INSERT INTO sharing_register VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)").execute(arguments: [
                c.seq, e.caseID, decision, e.actor.agency, f.string("to_agency") ?? f.string("requested_by_agency") ?? f.string("from_agency"),
                f.strings("scope").isEmpty ? nil : f.strings("scope").joined(separator: ","), f.string("purpose"), f.string("lawful_basis"),
                f.string("special_category_condition"), consent, informed, f.bool("necessary_and_proportionate"), f.bool("identities_protected"),
                f.string("channel"), f.string("reason"), f.string("review_by"), c.occurredAt,
            ])
        default: break
        }
    }

    public func finish(policy: PolicyDocument?, cases: CaseEventSource, _ db: Database) throws {}
}
