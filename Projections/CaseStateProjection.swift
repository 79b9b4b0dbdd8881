import GRDB
import SafeguardCatalogue
import SafeguardCore

/// Case state: per case, its subject facts, levels, status and stage, the agencies involved,
/// missing episodes, referrals awaiting a MASH decision, disruptions, links, MASE actions,
/// legal holds, and the next steps the toolkit requires (with due dates).
public final class CaseStateProjection: Projection {
    public let name = "case_state"
    public let version = 4
    public let tables = [
        (name: "cases", orderBy: "case_id"), (name: "case_agencies", orderBy: "case_id, agency"),
        (name: "case_links", orderBy: "case_id, link_kind, target"), (name: "case_actions", orderBy: "case_id, action_ref"),
        (name: "case_next_steps", orderBy: "case_id, rule, what"), (name: "case_late_steps", orderBy: "case_id, rule, due"),
    ]

    /// The stages a case moves through, in order (DOMAIN.md: screened → MASH → assessment →
    /// strategy → S47/CIN/early help/NFA → MASE listed → closed).
    public static let stages = ["opened", "screened", "mash", "assessment", "strategy", "outcome", "mase_listed", "closed"]
    static let stageOf: [String: String] = [
        "screening.cse_tool": "screened", "screening.csc_mosaic": "screened",
        "referral.mash_written": "mash", "referral.mash_telephone": "mash", "decision.mash": "mash",
        "decision.s17": "assessment", "meeting.strategy": "strategy", "decision.strategy": "strategy",
        "decision.s47": "outcome", "decision.cin_plan": "outcome", "decision.early_help": "outcome", "decision.nfa": "outcome",
        "referral.mase": "mase_listed",
    ]

    private var touched: Set<String> = []
    /// A new policy changes deadlines for every case: next steps are worked out again for all.
    private var policyChanged = false
    /// Cases with a retracted event: their rows are folded again without it in `finish`.
    private var replay: Set<String> = []

    public init() {}

    public func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE cases (
              case_id TEXT PRIMARY KEY NOT NULL, status TEXT NOT NULL, stage TEXT NOT NULL,
              opened_at TEXT NOT NULL, closed_at TEXT,
              birth_month TEXT, gender TEXT, looked_after INTEGER, learning_disability INTEGER, borough TEXT, lead_agency TEXT,
              suggested_level TEXT, practitioner_level TEXT, screened_at TEXT, police_cris INTEGER NOT NULL DEFAULT 0,
              events INTEGER NOT NULL DEFAULT 0, missing_episodes INTEGER NOT NULL DEFAULT 0, missing_now INTEGER NOT NULL DEFAULT 0,
              awaiting_mash_decision INTEGER NOT NULL DEFAULT 0, disruptions INTEGER NOT NULL DEFAULT 0, links INTEGER NOT NULL DEFAULT 0,
              legal_hold INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE TABLE case_agencies (case_id TEXT NOT NULL, agency TEXT NOT NULL, first_seq INTEGER NOT NULL,
              PRIMARY KEY (case_id, agency)) WITHOUT ROWID;
            CREATE TABLE case_links (case_id TEXT NOT NULL, link_kind TEXT NOT NULL, target TEXT NOT NULL, first_seq INTEGER NOT NULL,
              PRIMARY KEY (case_id, link_kind, target)) WITHOUT ROWID;
            CREATE INDEX case_links_by_target ON case_links (link_kind, target);
            CREATE TABLE case_actions (case_id TEXT NOT NULL, action_ref TEXT NOT NULL, owner_agency TEXT, due_date TEXT, strand TEXT,
              status TEXT NOT NULL, PRIMARY KEY (case_id, action_ref)) WITHOUT ROWID;
            CREATE TABLE case_next_steps (case_id TEXT NOT NULL, rule TEXT NOT NULL, what TEXT NOT NULL, due TEXT,
              PRIMARY KEY (case_id, rule, what)) WITHOUT ROWID;
            CREATE TABLE case_late_steps (case_id TEXT NOT NULL, rule TEXT NOT NULL, what TEXT NOT NULL, due TEXT NOT NULL, done TEXT NOT NULL,
              PRIMARY KEY (case_id, rule, due, what)) WITHOUT ROWID;
            """)
    }

    public func apply(_ e: Envelope, _ c: FoldContext, _ db: Database) throws {
        if e.type == "governance.legal_hold", let ref = e.facts["case_ref"]?.stringValue {
            try db.execute(sql: "UPDATE cases SET legal_hold = ? WHERE case_id = ?", arguments: [e.facts["action"]?.stringValue == "placed", ref])
            return
        }
        if e.type == EventType.policySet { policyChanged = true }
        if e.type == "correction.recorded", e.facts["kind"]?.stringValue == "retraction",
            let target = e.facts["corrects_event"]?.stringValue,
            let targetCase = try String.fetchOne(db.cachedStatement(sql: "SELECT case_id FROM audit_events WHERE event_id = ?"), arguments: [target])
        {
            // (The audit projection, folded in the same file, has every earlier event.)
            replay.insert(targetCase)
        }
        guard let id = e.caseID else { return }
        touched.insert(id)
        let f = Facts(e.facts)
        let at = c.occurredAt
        func set(_ sql: String, _ args: StatementArguments = []) throws {
            try db.cachedStatement(sql: "UPDATE cases SET \(sql) WHERE case_id = ?").execute(arguments: args + [id])
        }
        switch e.type {
        case "case.opened":
            try db.cachedStatement(sql: """
                INSERT INTO cases (case_id, status, stage, opened_at, birth_month, gender, looked_after, learning_disability, borough, lead_agency, last_seq)
                VALUES (?, 'open', 'opened', ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (case_id) DO UPDATE SET status = 'open', stage = 'opened', closed_at = NULL, opened_at = excluded.opened_at,
                  birth_month = excluded.birth_month, gender = excluded.gender, looked_after = excluded.looked_after,
                  learning_disability = excluded.learning_disability, borough = excluded.borough,
                  lead_agency = COALESCE(excluded.lead_agency, cases.lead_agency)
                """).execute(arguments: [id, at, f.string("birth_month"), f.string("gender"), f.bool("looked_after"),
                                         f.bool("learning_disability"), f.string("borough"), f.string("lead_agency") ?? e.actor.agency, c.seq])
        case "case.updated":
            for (fact, column) in [("birth_month", "birth_month"), ("gender", "gender"), ("borough", "borough"), ("lead_agency", "lead_agency")] {
                if let v = f.string(fact) { try set("\(column) = ?", [v]) }
            }
            for (fact, column) in [("looked_after", "looked_after"), ("learning_disability", "learning_disability"), ("police_cris_recorded", "police_cris")] {
                if let v = f.bool(fact) { try set("\(column) = ?", [v]) }
            }
        case "case.transferred": try set("lead_agency = ?", [f.string("to_agency")])
        case "case.closed": try set("status = 'closed', stage = 'closed', closed_at = ?", [at])
        case "screening.cse_tool", "screening.csc_mosaic":
            try set("suggested_level = ?, practitioner_level = ?, screened_at = ?", [f.string("suggested_level"), f.string("practitioner_level"), at])
        case "referral.mash_written" where f.string("telephone_referral") != nil: break  // the form follows a call already counted
        case "referral.mash_written", "referral.mash_telephone": try set("awaiting_mash_decision = awaiting_mash_decision + 1")
        case "decision.mash": try set("awaiting_mash_decision = 0")
        case "missing.started": try set("missing_episodes = missing_episodes + 1, missing_now = missing_now + 1")
        case "missing.returned": try set("missing_now = MAX(0, missing_now - 1)")
        case "disruption.recorded": try set("disruptions = disruptions + 1")
        case "link.recorded":
            try set("links = links + 1")
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO case_links (case_id, link_kind, target, first_seq) VALUES (?, ?, ?, ?)")
                .execute(arguments: [id, f.string("link_kind"), f.string("target"), c.seq])
        case "action.set":
            try db.cachedStatement(sql: """
                INSERT INTO case_actions (case_id, action_ref, owner_agency, due_date, strand, status) VALUES (?, ?, ?, ?, ?, 'open')
                ON CONFLICT (case_id, action_ref) DO UPDATE SET owner_agency = excluded.owner_agency, due_date = excluded.due_date,
                  strand = excluded.strand, status = 'open'
                """).execute(arguments: [id, f.string("action_ref"), f.string("owner_agency"), f.string("due_date"), f.string("strand")])
        case "action.progressed", "action.completed":
            try db.cachedStatement(sql: "UPDATE case_actions SET status = ? WHERE case_id = ? AND action_ref = ?")
                .execute(arguments: [e.type == "action.completed" ? "done" : "in_progress", id, f.string("action_ref")])
        default: break
        }
        if let stage = Self.stageOf[e.type], let rank = Self.stages.firstIndex(of: stage) {
            // Stages only move forward until the case is closed (or reopened).
            try set("stage = CASE WHEN status = 'open' AND \(rank) > (CASE stage \(Self.stageRanks) END) THEN ? ELSE stage END", [stage])
        }
        try set("events = events + 1, last_seq = ?", [c.seq])
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO case_agencies (case_id, agency, first_seq) VALUES (?, ?, ?)")
            .execute(arguments: [id, e.actor.agency, c.seq])
    }

    /// Folds each case with a retracted event again from its own events, leaving the retracted
    /// ones out (its legal hold, set by governance events, is kept).
    func replayRetracted(_ cases: CaseEventSource, retracted: Set<String>, _ db: Database) throws {
        let ids = replay.sorted()
        replay.removeAll()
        for id in ids {
            let hold = try Int64.fetchOne(db, sql: "SELECT legal_hold FROM cases WHERE case_id = ?", arguments: [id]) ?? 0
            for table in ["cases", "case_agencies", "case_links", "case_actions"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE case_id = ?", arguments: [id])
            }
            for (row, envelope) in try cases.entries(id) where !retracted.contains(envelope.eventID) {
                let c = FoldContext(seq: row.seq, entryHash: row.entryHash, occurredAt: row.occurredAt, recordedAt: row.recordedAt, policy: nil)
                try apply(envelope, c, db)
            }
            try db.execute(sql: "UPDATE cases SET legal_hold = ? WHERE case_id = ?", arguments: [hold, id])
            touched.insert(id)
        }
        replay.removeAll()
    }

    static let stageRanks = stages.enumerated().map { "WHEN '\($0.element)' THEN \($0.offset)" }.joined(separator: " ")

    public func finish(policy: PolicyDocument?, cases: CaseEventSource, _ db: Database) throws {
        guard let policy else { return }
        // Steps are stored with their due dates; whether one is overdue (or, for R10, already
        // within six months of 18) depends on the day a report is made, so reports decide it.
        let delete = try db.cachedStatement(sql: "DELETE FROM case_next_steps WHERE case_id = ?")
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO case_next_steps (case_id, rule, what, due) VALUES (?, ?, ?, ?)")
        if policyChanged { touched.formUnion(try String.fetchAll(db, sql: "SELECT case_id FROM cases")) }
        defer { policyChanged = false }
        let retracted = Set(try String.fetchAll(db, sql: "SELECT corrects_event_id FROM corrections WHERE kind = 'retraction'"))
        try replayRetracted(cases, retracted: retracted, db)
        let deleteLate = try db.cachedStatement(sql: "DELETE FROM case_late_steps WHERE case_id = ?")
        let insertLate = try db.cachedStatement(sql: "INSERT OR IGNORE INTO case_late_steps (case_id, rule, what, due, done) VALUES (?, ?, ?, ?, ?)")
        try cases.forEach(touched) { id, all in
            try delete.execute(arguments: [id])
            try deleteLate.execute(arguments: [id])
            let events = all.filter { !retracted.contains($0.eventID) }
            for step in NextSteps.forCase(events, policy: policy, today: nil) {
                try insert.execute(arguments: [id, step.rule, step.what, step.due?.description])
            }
            for late in NextSteps.lateSteps(events, policy: policy) {
                try insertLate.execute(arguments: [id, late.rule, late.what, late.due.description, late.done.description])
            }
        }
        touched.removeAll()
    }
}
