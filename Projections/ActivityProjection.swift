import GRDB
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// The coded activity the MASE statistics and recording-practice reports count: screenings
/// with their indicators, referrals, decisions, missing episodes, disruptions, meetings, MASE
/// actions and escalations, each with its day (Europe/London). Reports choose the period.
public final class ActivityProjection: Projection {
    public let name = "activity"
    public let version = 7
    public let tables = [
        (name: "screenings", orderBy: "seq"), (name: "marks", orderBy: "seq, kind, code"), (name: "referrals", orderBy: "seq"),
        (name: "decisions", orderBy: "seq"), (name: "missing_episodes", orderBy: "start_seq"), (name: "disruptions", orderBy: "seq"),
        (name: "meetings", orderBy: "seq"), (name: "meeting_cases", orderBy: "seq, case_id"), (name: "acknowledgements", orderBy: "seq"),
        (name: "actions", orderBy: "case_id, action_ref"), (name: "escalations", orderBy: "seq"),
    ]

    public init() {}

    /// The families that make activity rows, by event type, looked up once per event.
    enum Family: String, CaseIterable {
        case screening, contact, referral, decision, missing, disruption, meeting, acknowledgement, action, escalation
    }
    static let family: [String: Family] = Dictionary(uniqueKeysWithValues: EventType.all.compactMap { type in
        Family(rawValue: LogType.family(of: type)).map { (type, $0) }
    })

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
            """)
    }

    public func apply(_ e: Envelope, _ c: FoldContext, _ db: Database) throws {
        guard retractions.counts(e) else { return }
        let f = Facts(e.facts)
        // Most events make no activity row: nothing else is worked out for them.
        guard let id = e.caseID, let family = Self.family[e.type] else { return }
        let day = dayText.of(Day(london: e.occurredAt))
        let w = writer!
        func marks(_ source: String) throws {
            let s = w.mark
            for v in f["indicators"]?.arrayValue ?? [] {
                if let code = v.stringValue ?? v["code"]?.stringValue {
                    s.int(c.seq); s.text(id); s.text(day); s.text(source); s.text("indicator"); s.text(code); s.text(v["timing"]?.stringValue)
                    try s.run()
                }
            }
            for code in f.strings("vulnerabilities") {
                s.int(c.seq); s.text(id); s.text(day); s.text(source); s.text("vulnerability"); s.text(code); s.text(nil)
                try s.run()
            }
        }
        switch family {
        case .screening:
            let s = w.screening
            s.int(c.seq); s.text(id); s.text(day); s.text(f.string("suggested_level")); s.text(f.string("practitioner_level"))
            s.int(f.int("age_years")); s.bool(f.bool("learning_disability"))
            try s.run()
            try marks("screening")
        case .contact: try marks("contact")
        case .referral:
            let s = w.referral
            s.int(c.seq); s.text(id); s.text(day); s.text(e.actor.agency); s.text(e.type)
            try s.run()
        case .decision:
            let s = w.decision
            s.int(c.seq); s.text(id); s.text(day); s.text(e.type)
            s.text(f.string("outcome") ?? f.string("kind") ?? f.string("status") ?? f.string("reason")); s.bool(f.bool("organised_complex_abuse"))
            try s.run()
        case .missing:
            let s: DirectStatement
            switch e.type {
            case "missing.started":
                s = w.missingStarted
                s.int(c.seq); s.text(e.eventID); s.text(id); s.text(c.occurredAt)
            case "missing.returned": s = w.missingReturned; s.text(c.occurredAt); s.text(f.string("missing_episode")); s.text(id)
            case "missing.rhi_offered": s = w.rhiOffered; s.text(c.occurredAt); s.text(f.string("missing_episode")); s.text(id)
            default: s = w.rhiCompleted; s.text(c.occurredAt); s.text(f.string("missing_episode")); s.text(id)
            }
            try s.run()
        case .disruption:
            let s = w.disruption
            s.int(c.seq); s.text(id); s.text(day); s.text(f.string("tactic")); s.text(f.string("status")); s.bool(f.bool("positive_outcome"))
            try s.run()
        case .meeting:
            let s = w.meeting
            s.int(c.seq); s.text(e.eventID); s.text(id); s.text(day); s.text(e.type); s.text(f.string("meeting_ref"))
            s.text(f.strings("attendees").joined(separator: ","))
            try s.run()
            for discussed in f.strings("cases_discussed") {
                w.meetingCase.int(c.seq); w.meetingCase.text(discussed)
                try w.meetingCase.run()
            }
        case .acknowledgement:
            let s = w.acknowledgement
            s.int(c.seq); s.text(f.string("decision_event")); s.text(e.actor.agency); s.text(day); s.bool(f.bool("recorded_on_own_system") == true)
            try s.run()
        case .action:
            if e.type == "action.set" {
                let s = w.actionSet
                s.text(id); s.text(f.string("action_ref")); s.text(f.string("owner_agency")); s.text(f.string("strand")); s.text(f.string("due_date"))
                s.text(day)
                try s.run()
            } else if e.type == "action.completed" {
                let s = w.actionDone
                s.text(day); s.text(id); s.text(f.string("action_ref"))
                try s.run()
            }
        case .escalation:
            if e.type == "escalation.raised" {
                let s = w.escalation
                s.int(c.seq); s.text(e.eventID); s.text(id); s.text(day)
                try s.run()
            } else {
                let s = w.escalationResolved
                s.text(day); s.bool(f.bool("lessons_reported_to_mase")); s.text(f.string("escalation")); s.text(id)
                try s.run()
            }
        }
    }

    private var writer: Writer?
    private var dayText = DayText()
    private var retractions = Retractions()

    public let indexes = [
        "CREATE INDEX IF NOT EXISTS referrals_by_case ON referrals (case_id, seq)",
        "CREATE INDEX IF NOT EXISTS decisions_by_case ON decisions (case_id, seq)",
        "CREATE INDEX IF NOT EXISTS meeting_cases_by_case ON meeting_cases (case_id)",
    ]

    public func begin(_ db: Database, fresh: Bool) throws {
        writer = try Writer(db)
        try retractions.begin(db, fresh: fresh)
    }

    /// The prepared statements of the fold.
    final class Writer {
        let mark, screening, referral, decision, missingStarted, missingReturned, rhiOffered, rhiCompleted: DirectStatement
        let disruption, meeting, meetingCase, acknowledgement, actionSet, actionDone, escalation, escalationResolved: DirectStatement
        init(_ db: Database) throws {
            mark = try DirectStatement(db, "INSERT OR IGNORE INTO marks VALUES (?,?,?,?,?,?,?)")
            screening = try DirectStatement(db, "INSERT INTO screenings VALUES (?,?,?,?,?,?,?)")
            referral = try DirectStatement(db, "INSERT INTO referrals VALUES (?,?,?,?,?)")
            decision = try DirectStatement(db, "INSERT INTO decisions VALUES (?,?,?,?,?,?)")
            missingStarted = try DirectStatement(db, "INSERT INTO missing_episodes (start_seq, event_id, case_id, started_at) VALUES (?,?,?,?)")
            missingReturned = try DirectStatement(db, "UPDATE missing_episodes SET returned_at = COALESCE(returned_at, ?) WHERE event_id = ? AND case_id = ?")
            rhiOffered = try DirectStatement(db, "UPDATE missing_episodes SET rhi_offered_at = COALESCE(rhi_offered_at, ?) WHERE event_id = ? AND case_id = ?")
            rhiCompleted = try DirectStatement(db, "UPDATE missing_episodes SET rhi_completed_at = COALESCE(rhi_completed_at, ?) WHERE event_id = ? AND case_id = ?")
            disruption = try DirectStatement(db, "INSERT INTO disruptions VALUES (?,?,?,?,?,?)")
            meeting = try DirectStatement(db, "INSERT INTO meetings VALUES (?,?,?,?,?,?,?)")
            meetingCase = try DirectStatement(db, "INSERT OR IGNORE INTO meeting_cases VALUES (?,?)")
            acknowledgement = try DirectStatement(db, "INSERT INTO acknowledgements VALUES (?,?,?,?,?)")
            actionSet = try DirectStatement(db, """
                INSERT INTO actions VALUES (?,?,?,?,?,?,NULL) ON CONFLICT (case_id, action_ref) DO UPDATE SET owner_agency = excluded.owner_agency,
                  strand = excluded.strand, due_date = excluded.due_date, done_day = NULL
                """)
            actionDone = try DirectStatement(db, "UPDATE actions SET done_day = ? WHERE case_id = ? AND action_ref = ?")
            escalation = try DirectStatement(db, "INSERT INTO escalations VALUES (?,?,?,?,NULL,NULL)")
            escalationResolved = try DirectStatement(db, "UPDATE escalations SET resolved_day = ?, lessons_reported = ? WHERE event_id = ? AND case_id = ?")
        }
    }

    /// A retracted record no longer counts in any figure: each case with a record retracted in
    /// this pass loses every activity row its events made, and its events are folded again
    /// without the retracted ones (so a return, an RHI, an action or a resolution that was
    /// retracted no longer updates anything either).
    public func finish(policy: PolicyDocument?, cases: CaseEventSource, _ db: Database) throws {
        defer { writer = nil; retractions.end() }
        for id in try retractions.casesToFoldAgain(db) {
            let own = "SELECT seq FROM audit_events WHERE case_id = ?"
            for table in ["screenings", "marks", "referrals", "decisions", "disruptions", "meetings", "meeting_cases", "acknowledgements", "escalations"] {
                try execute(db, "DELETE FROM \(table) WHERE seq IN (\(own))", .text(id))
            }
            try execute(db, "DELETE FROM missing_episodes WHERE start_seq IN (\(own))", .text(id))
            try execute(db, "DELETE FROM actions WHERE case_id = ?", .text(id))
            for (row, envelope) in try retractions.liveEntries(of: id, cases) {
                try apply(envelope, FoldContext(seq: row.seq, entryHash: row.entryHash, occurredAt: row.occurredAt, recordedAt: row.recordedAt,
                                                policy: policy), db)
            }
        }
    }
}
