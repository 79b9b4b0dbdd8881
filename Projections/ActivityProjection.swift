import GRDB
import SafeguardCatalogue
import SafeguardCore

/// The coded activity the MASE statistics and recording-practice reports count: screenings
/// with their indicators, referrals, decisions, missing episodes, disruptions, meetings, MASE
/// actions and escalations, each with its day (Europe/London). Reports choose the period.
public final class ActivityProjection: Projection {
    public let name = "activity"
    public let version = 5
    public let tables = [
        (name: "screenings", orderBy: "seq"), (name: "marks", orderBy: "seq, kind, code"), (name: "referrals", orderBy: "seq"),
        (name: "decisions", orderBy: "seq"), (name: "missing_episodes", orderBy: "start_seq"), (name: "disruptions", orderBy: "seq"),
        (name: "meetings", orderBy: "seq"), (name: "meeting_cases", orderBy: "seq, case_id"), (name: "acknowledgements", orderBy: "seq"),
        (name: "actions", orderBy: "case_id, action_ref"), (name: "escalations", orderBy: "seq"), (name: "updates", orderBy: "seq"),
    ]

    public init() {}

    public func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE screenings (seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL, day TEXT NOT NULL, suggested_level TEXT NOT NULL,
              practitioner_level TEXT NOT NULL, age_years INTEGER NOT NULL, learning_disability INTEGER NOT NULL);
            CREATE TABLE marks (seq INTEGER NOT NULL, case_id TEXT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
              code TEXT NOT NULL, timing TEXT, PRIMARY KEY (seq, kind, code)) WITHOUT ROWID;
            CREATE TABLE referrals (seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL, day TEXT NOT NULL, agency TEXT NOT NULL, type TEXT NOT NULL);
            CREATE TABLE decisions (seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL, day TEXT NOT NULL, type TEXT NOT NULL, outcome TEXT,
              organised_abuse INTEGER);
            CREATE TABLE missing_episodes (start_seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, case_id TEXT NOT NULL, started_at TEXT NOT NULL,
              returned_at TEXT, rhi_offered_at TEXT, rhi_completed_at TEXT);
            CREATE INDEX missing_by_event ON missing_episodes (event_id);
            CREATE TABLE disruptions (seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL, day TEXT NOT NULL, tactic TEXT NOT NULL, status TEXT NOT NULL,
              positive INTEGER);
            CREATE TABLE meetings (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, case_id TEXT NOT NULL, day TEXT NOT NULL, type TEXT NOT NULL,
              ref TEXT NOT NULL, attendees TEXT NOT NULL);
            CREATE TABLE meeting_cases (seq INTEGER NOT NULL, case_id TEXT NOT NULL, PRIMARY KEY (seq, case_id)) WITHOUT ROWID;
            CREATE TABLE acknowledgements (seq INTEGER PRIMARY KEY, meeting_event_id TEXT NOT NULL, agency TEXT NOT NULL, day TEXT NOT NULL,
              recorded_on_own_system INTEGER NOT NULL);
            CREATE TABLE actions (case_id TEXT NOT NULL, action_ref TEXT NOT NULL, owner_agency TEXT, strand TEXT, due_date TEXT,
              set_day TEXT NOT NULL, done_day TEXT, PRIMARY KEY (case_id, action_ref)) WITHOUT ROWID;
            CREATE TABLE escalations (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, case_id TEXT NOT NULL, day TEXT NOT NULL,
              resolved_day TEXT, lessons_reported INTEGER);
            CREATE TABLE updates (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, case_id TEXT NOT NULL, ref TEXT NOT NULL);
            CREATE INDEX referrals_by_case ON referrals (case_id, seq);
            CREATE INDEX decisions_by_case ON decisions (case_id, seq);
            CREATE INDEX meeting_cases_by_case ON meeting_cases (case_id);
            """)
    }

    public func apply(_ e: Envelope, _ c: FoldContext, _ db: Database) throws {
        guard let id = e.caseID else { return }
        let f = Facts(e.facts)
        if e.type == "correction.recorded", f.string("kind") == "retraction", let target = f.string("corrects_event"),
            let seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM audit_events WHERE event_id = ?"), arguments: [target])
        {
            // A retracted record no longer counts in any figure.
            for table in ["screenings", "marks", "referrals", "decisions", "disruptions", "meetings", "meeting_cases", "acknowledgements", "escalations"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE seq = ?", arguments: [seq])
            }
            try db.execute(sql: "DELETE FROM missing_episodes WHERE start_seq = ?", arguments: [seq])
            // Events that updated an earlier row (a return, an RHI, an action, a resolution) are undone.
            if let u = try Row.fetchOne(db, sql: "SELECT type, case_id, ref FROM updates WHERE seq = ?", arguments: [seq]) {
                let (type, caseID, ref): (String, String, String) = (u[0], u[1], u[2])
                switch type {
                case "missing.returned": try db.execute(sql: "UPDATE missing_episodes SET returned_at = NULL WHERE event_id = ?", arguments: [ref])
                case "missing.rhi_offered": try db.execute(sql: "UPDATE missing_episodes SET rhi_offered_at = NULL WHERE event_id = ?", arguments: [ref])
                case "missing.rhi_completed": try db.execute(sql: "UPDATE missing_episodes SET rhi_completed_at = NULL WHERE event_id = ?", arguments: [ref])
                case "action.set": try db.execute(sql: "DELETE FROM actions WHERE case_id = ? AND action_ref = ?", arguments: [caseID, ref])
                case "action.completed": try db.execute(sql: "UPDATE actions SET done_day = NULL WHERE case_id = ? AND action_ref = ?", arguments: [caseID, ref])
                case "escalation.resolved": try db.execute(sql: "UPDATE escalations SET resolved_day = NULL, lessons_reported = NULL WHERE event_id = ?", arguments: [ref])
                default: break
                }
            }
        }
        let updateRef: String? = switch e.type {
        case "missing.returned", "missing.rhi_offered", "missing.rhi_completed": f.string("missing_episode")
        case "action.set", "action.completed": f.string("action_ref")
        case "escalation.resolved": f.string("escalation")
        default: nil
        }
        if let updateRef {
            try db.cachedStatement(sql: "INSERT INTO updates VALUES (?,?,?,?)").execute(arguments: [c.seq, e.type, id, updateRef])
        }
        let day = Day(london: e.occurredAt).description
        func run(_ sql: String, _ args: StatementArguments) throws { try db.cachedStatement(sql: sql).execute(arguments: args) }
        func marks(_ source: String) throws {
            for v in f["indicators"]?.arrayValue ?? [] {
                if let code = v.stringValue ?? v["code"]?.stringValue {
                    try run("INSERT OR IGNORE INTO marks VALUES (?,?,?,?,'indicator',?,?)", [c.seq, id, day, source, code, v["timing"]?.stringValue])
                }
            }
            for code in f.strings("vulnerabilities") {
                try run("INSERT OR IGNORE INTO marks VALUES (?,?,?,?,'vulnerability',?,NULL)", [c.seq, id, day, source, code])
            }
        }
        switch EventType.family(of: e.type) {
        case "screening":
            try run("INSERT INTO screenings VALUES (?,?,?,?,?,?,?)", [c.seq, id, day, f.string("suggested_level"), f.string("practitioner_level"),
                                                                    f.int("age_years"), f.bool("learning_disability")])
            try marks("screening")
        case "contact": try marks("contact")
        case "referral": try run("INSERT INTO referrals VALUES (?,?,?,?,?)", [c.seq, id, day, e.actor.agency, e.type])
        case "decision":
            try run("INSERT INTO decisions VALUES (?,?,?,?,?,?)", [c.seq, id, day, e.type, f.string("outcome") ?? f.string("kind") ?? f.string("status") ?? f.string("reason"),
                                                                 f.bool("organised_complex_abuse")])
        case "missing":
            let at = c.occurredAt
            switch e.type {
            case "missing.started": try run("INSERT INTO missing_episodes (start_seq, event_id, case_id, started_at) VALUES (?,?,?,?)", [c.seq, e.eventID, id, at])
            case "missing.returned": try run("UPDATE missing_episodes SET returned_at = COALESCE(returned_at, ?) WHERE event_id = ?", [at, f.string("missing_episode")])
            case "missing.rhi_offered": try run("UPDATE missing_episodes SET rhi_offered_at = COALESCE(rhi_offered_at, ?) WHERE event_id = ?", [at, f.string("missing_episode")])
            default: try run("UPDATE missing_episodes SET rhi_completed_at = COALESCE(rhi_completed_at, ?) WHERE event_id = ?", [at, f.string("missing_episode")])
            }
        case "disruption": try run("INSERT INTO disruptions VALUES (?,?,?,?,?,?)", [c.seq, id, day, f.string("tactic"), f.string("status"), f.bool("positive_outcome")])
        case "meeting":
            try run("INSERT INTO meetings VALUES (?,?,?,?,?,?,?)", [c.seq, e.eventID, id, day, e.type, f.string("meeting_ref"), f.strings("attendees").joined(separator: ",")])
            for discussed in f.strings("cases_discussed") { try run("INSERT OR IGNORE INTO meeting_cases VALUES (?,?)", [c.seq, discussed]) }
        case "acknowledgement":
            try run("INSERT INTO acknowledgements VALUES (?,?,?,?,?)", [c.seq, f.string("decision_event"), e.actor.agency, day, f.bool("recorded_on_own_system") == true])
        case "action":
            if e.type == "action.set" {
                try run("""
                    INSERT INTO actions VALUES (?,?,?,?,?,?,NULL) ON CONFLICT (case_id, action_ref) DO UPDATE SET owner_agency = excluded.owner_agency,
                      strand = excluded.strand, due_date = excluded.due_date, done_day = NULL
                    """, [id, f.string("action_ref"), f.string("owner_agency"), f.string("strand"), f.string("due_date"), day])
            } else if e.type == "action.completed" {
                try run("UPDATE actions SET done_day = ? WHERE case_id = ? AND action_ref = ?", [day, id, f.string("action_ref")])
            }
        case "escalation":
            if e.type == "escalation.raised" {
                try run("INSERT INTO escalations VALUES (?,?,?,?,NULL,NULL)", [c.seq, e.eventID, id, day])
            } else {
                try run("UPDATE escalations SET resolved_day = ?, lessons_reported = ? WHERE event_id = ?", [day, f.bool("lessons_reported_to_mase"), f.string("escalation")])
            }
        default: break
        }
    }

    public func finish(policy: PolicyDocument?, cases: CaseEventSource, _ db: Database) throws {}
}
