import GRDB
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// The audit trail: every event with its place, hash, key, agency, practitioner, times and
/// recording delay; corrections beside what they correct; the information-sharing register,
/// with decisions not to share; and the register of readings of sealed details
/// (`access.consulted`: who read which case's records, and why).
public final class AuditProjection: Projection {
    public let name = "audit"
    public let version = 3
    public let tables = [(name: "audit_events", orderBy: "seq"), (name: "corrections", orderBy: "seq"), (name: "sharing_register", orderBy: "seq"),
                         (name: "access_register", orderBy: "seq")]

    public init() {}

    public func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE audit_events (
              seq INTEGER PRIMARY KEY NOT NULL, event_id TEXT NOT NULL, entry_hash TEXT NOT NULL, type TEXT NOT NULL, case_id TEXT,
              agency TEXT NOT NULL, role TEXT NOT NULL, practitioner TEXT NOT NULL, key_id TEXT NOT NULL,
              occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, delay_seconds INTEGER NOT NULL, delay_working_days INTEGER,
              day TEXT NOT NULL, recorded_day TEXT NOT NULL
            );
            CREATE TABLE corrections (seq INTEGER PRIMARY KEY NOT NULL, corrects_event_id TEXT NOT NULL, corrects_seq INTEGER,
              kind TEXT NOT NULL, reason TEXT NOT NULL);
            CREATE TABLE sharing_register (
              seq INTEGER PRIMARY KEY NOT NULL, case_id TEXT NOT NULL, decision TEXT NOT NULL, from_agency TEXT NOT NULL,
              other_agency TEXT, scope TEXT, purpose TEXT, lawful_basis TEXT, special_category_condition TEXT, consent TEXT,
              subject_informed TEXT, necessary_and_proportionate INTEGER, identities_protected INTEGER, channel TEXT,
              reason TEXT, review_by TEXT, occurred_at TEXT NOT NULL
            );
            CREATE TABLE access_register (
              seq INTEGER PRIMARY KEY NOT NULL, case_id TEXT NOT NULL, agency TEXT NOT NULL, practitioner TEXT NOT NULL, key_id TEXT NOT NULL,
              purpose TEXT, records INTEGER NOT NULL, record_ids TEXT NOT NULL, recorded_at TEXT NOT NULL
            );
            """)
    }

    public let indexes = [
        "CREATE INDEX IF NOT EXISTS audit_by_event_id ON audit_events (event_id)",
        "CREATE INDEX IF NOT EXISTS audit_by_case ON audit_events (case_id, seq)",
    ]

    private var insertEvent, insertCorrection, insertSharing, insertAccess: DirectStatement?
    private var occurredText = DayText(), recordedText = DayText()

    public func begin(_ db: Database, fresh: Bool) throws {
        insertEvent = try DirectStatement(db, "INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
        insertCorrection = try DirectStatement(db, "INSERT INTO corrections VALUES (?,?,?,?,?)")
        insertSharing = try DirectStatement(db, "INSERT INTO sharing_register VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
        insertAccess = try DirectStatement(db, "INSERT INTO access_register VALUES (?,?,?,?,?,?,?,?,?)")
    }

    public func apply(_ e: Envelope, _ c: FoldContext, _ db: Database) throws {
        let (occurredDay, recordedDay) = (Day(london: e.occurredAt), Day(london: e.recordedAt))
        let s = insertEvent!
        s.int(c.seq); s.text(e.eventID); s.text(Hex.encode(c.entryHash)); s.text(e.type); s.text(e.caseID)
        s.text(e.actor.agency); s.text(e.actor.role); s.text(e.actor.practitioner); s.text(e.actor.keyID)
        s.text(c.occurredAt); s.text(c.recordedAt); s.int(e.recordedAt.seconds - e.occurredAt.seconds)
        s.int(c.calendar.map { Int64($0.workingDays(from: occurredDay, to: recordedDay)) })
        s.text(occurredText.of(occurredDay)); s.text(recordedText.of(recordedDay))
        try s.run()
        switch e.type {
        case "correction.recorded":
            let f = Facts(e.facts)
            // The corrected event's seq is filled in by `finish`, once event ids are indexed.
            let s = insertCorrection!
            s.int(c.seq); s.text(f.string("corrects_event")); s.int(nil); s.text(f.string("kind")); s.text(f.string("reason"))
            try s.run()
        case "sharing.shared", "sharing.partly_shared", "sharing.not_shared", "sharing.request_received":
            let f = Facts(e.facts)
            var consent: String? = nil
            if let sought = f.bool("consent_sought") {
                consent = sought ? (f.bool("consent_given") == true ? "given" : "refused") : "not_sought: " + (f.string("consent_not_sought_reason") ?? "?")
            }
            var informed: String? = nil
            if let told = f.bool("subject_informed") { informed = told ? "yes" : "no: " + (f.string("subject_not_informed_reason") ?? "?") }
            let scope = f.strings("scope")
            let s = insertSharing!
            s.int(c.seq); s.text(e.caseID); s.text(String(e.type.dropFirst("sharing.".count))); s.text(e.actor.agency)
            s.text(f.string("to_agency") ?? f.string("requested_by_agency") ?? f.string("from_agency"))
            s.text(scope.isEmpty ? nil : scope.joined(separator: ",")); s.text(f.string("purpose")); s.text(f.string("lawful_basis"))
            s.text(f.string("special_category_condition")); s.text(consent); s.text(informed); s.bool(f.bool("necessary_and_proportionate"))
            s.bool(f.bool("identities_protected")); s.text(f.string("channel")); s.text(f.string("reason")); s.text(f.string("review_by"))
            s.text(c.occurredAt)
            try s.run()
        case "access.consulted":
            let f = Facts(e.facts), ids = f.strings("records")
            let s = insertAccess!
            s.int(c.seq); s.text(e.caseID); s.text(e.actor.agency); s.text(e.actor.practitioner); s.text(e.actor.keyID)
            s.text(f.string("purpose")); s.int(Int64(ids.count)); s.text(ids.joined(separator: ",")); s.text(c.recordedAt)
            try s.run()
        default: break
        }
    }

    public func finish(policy: PolicyDocument?, cases: CaseEventSource, _ db: Database) throws {
        try db.execute(sql: """
            UPDATE corrections SET corrects_seq = (SELECT seq FROM audit_events a WHERE a.event_id = corrections.corrects_event_id)
            WHERE corrects_seq IS NULL
            """)
        insertEvent = nil; insertCorrection = nil; insertSharing = nil; insertAccess = nil
    }
}
