import GRDB
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// Case state: per case, its subject facts, levels, status and stage, the agencies involved,
/// missing episodes, referrals awaiting a MASH decision, disruptions, links, MASE actions and
/// legal holds.
///
/// Cases are folded in memory (`CaseFold`) and written out when they leave a bounded cache or
/// the fold ends; a case that comes back after leaving the cache is read back from the file.
/// Memory is bounded by `cacheEvents`, not by the size of the log. The toolkit's next steps are
/// not stored: they depend on the day asked about and on other cases' records, so
/// `CasePractice` works them out from the verified events when asked (`ProjectionEngine.practice`).
public final class CaseStateProjection: Projection {
    public let name = "case_state"
    public let version = 7
    public let tables = [
        (name: "cases", orderBy: "case_id"), (name: "case_agencies", orderBy: "case_id, agency"),
        (name: "case_links", orderBy: "case_id, link_kind, target"), (name: "case_actions", orderBy: "case_id, action_ref"),
    ]
    public static var stages: [String] { CaseFold.stages }

    /// How many events the cached cases may hold before the least recently touched are written out.
    public var cacheEvents = 30_000

    /// Cases read back from the file in the last pass after leaving the cache (or from before an update).
    public private(set) var casesReadBack = 0

    private var cache: [String: CaseFold] = [:]
    private var heldEvents = 0
    private var retractions = Retractions()
    private var writer: Writer?
    /// On a rebuild, the cases written out so far (only these can be read back); nil on an
    /// update, where any case may be in the file already.
    private var written: Set<String>? = nil

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
            CREATE TABLE case_actions (case_id TEXT NOT NULL, action_ref TEXT NOT NULL, owner_agency TEXT, due_date TEXT, strand TEXT,
              status TEXT NOT NULL, PRIMARY KEY (case_id, action_ref)) WITHOUT ROWID;
            """)
    }

    public let indexes = ["CREATE INDEX IF NOT EXISTS case_links_by_target ON case_links (link_kind, target)"]

    public func begin(_ db: Database, fresh: Bool) throws {
        cache = [:]; heldEvents = 0; casesReadBack = 0
        written = fresh ? [] : nil
        try retractions.begin(db, fresh: fresh)
        writer = try Writer(db)
    }

    public func apply(_ e: Envelope, _ c: FoldContext, _ db: Database) throws {
        guard retractions.counts(e) else { return }
        if e.type == "governance.legal_hold", let ref = e.facts["case_ref"]?.stringValue {
            let fold = try self.fold(ref, c, db)
            if fold.opened { fold.legalHold = e.facts["action"]?.stringValue == "placed" }
            return
        }
        guard let id = e.caseID else { return }
        let fold = try self.fold(id, c, db)
        fold.apply(e, seq: c.seq, occurredAt: c.occurredAt)
        fold.heldEvents += 1
        heldEvents += 1
        if heldEvents > cacheEvents || cache.count > cacheEvents / 4 { try evict(db) }
    }

    /// The cached fold of a case, read back from the file if it left the cache (or an
    /// update started after it was written).
    private func fold(_ id: String, _ c: FoldContext, _ db: Database) throws -> CaseFold {
        let fold: CaseFold
        if let cached = cache[id] {
            fold = cached
        } else {
            let stored = written.map { $0.contains(id) } ?? true
            if stored, let loaded = try CaseFold.load(id, db) {
                fold = loaded
                casesReadBack += 1
            } else {
                fold = CaseFold(id: id)
            }
            cache[id] = fold
        }
        fold.touchedAt = c.seq
        return fold
    }

    /// Writes out the least recently touched cases until a quarter of the cache is free.
    private func evict(_ db: Database) throws {
        let order = cache.values.sorted { $0.touchedAt < $1.touchedAt }
        for fold in order {
            if heldEvents <= cacheEvents * 3 / 4, cache.count <= cacheEvents / 8 { break }
            try write(fold)
            cache[fold.id] = nil
            heldEvents -= fold.heldEvents
        }
    }

    /// Writes a case's rows, replacing any stored before.
    private func write(_ fold: CaseFold) throws {
        guard let w = writer else { return }
        if fold.stored { try w.deleteRows(fold.id) }
        try w.insert(fold)
        fold.stored = true
        written?.insert(fold.id)
    }

    public func finish(policy: PolicyDocument?, cases: CaseEventSource, _ db: Database) throws {
        defer { cache = [:]; heldEvents = 0; writer = nil; retractions.end(); written = nil }
        for id in cache.keys.sorted() { try write(cache[id]!) }
        cache = [:]
        for id in try retractions.casesToFoldAgain(db) { try replay(id, cases, db) }
    }

    /// Folds one case again from its events in the ledger, leaving out the retracted ones (its
    /// legal hold, set by governance events, is kept).
    private func replay(_ id: String, _ cases: CaseEventSource, _ db: Database) throws {
        let hold = try query(db, "SELECT legal_hold FROM cases WHERE case_id = ?", .text(id)).first?[0].integer == 1
        let fold = CaseFold(id: id)
        for (row, envelope) in try retractions.liveEntries(of: id, cases) {
            fold.apply(envelope, seq: row.seq, occurredAt: row.occurredAt)
        }
        if fold.opened { fold.legalHold = hold }
        fold.stored = true
        try write(fold)
    }

    /// The prepared statements that write a case out.
    final class Writer {
        let insertCase, insertAgency, insertLink, insertAction: DirectStatement
        let db: Database

        init(_ db: Database) throws {
            self.db = db
            insertCase = try DirectStatement(db, "INSERT INTO cases VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
            insertAgency = try DirectStatement(db, "INSERT INTO case_agencies VALUES (?,?,?)")
            insertLink = try DirectStatement(db, "INSERT INTO case_links VALUES (?,?,?,?)")
            insertAction = try DirectStatement(db, "INSERT INTO case_actions VALUES (?,?,?,?,?,?)")
        }

        func deleteRows(_ id: String) throws {
            for table in ["cases", "case_agencies", "case_links", "case_actions"] {
                try execute(db, "DELETE FROM \(table) WHERE case_id = ?", .text(id))
            }
        }

        func insert(_ c: CaseFold) throws {
            if c.opened {
                let s = insertCase
                s.text(c.id); s.text(c.status); s.text(c.stage); s.text(c.openedAt); s.text(c.closedAt)
                s.text(c.birthMonth); s.text(c.gender); s.bool(c.lookedAfter); s.bool(c.learningDisability); s.text(c.borough); s.text(c.leadAgency)
                s.text(c.suggestedLevel); s.text(c.practitionerLevel); s.text(c.screenedAt); s.bool(c.policeCris)
                s.int(c.events); s.int(c.missingEpisodes); s.int(c.missingNow); s.int(c.awaitingMash); s.int(c.disruptions); s.int(c.links)
                s.bool(c.legalHold); s.int(c.lastSeq)
                try s.run()
            }
            for (agency, seq) in c.agencies {
                insertAgency.text(c.id); insertAgency.text(agency); insertAgency.int(seq)
                try insertAgency.run()
            }
            for (key, seq) in c.caseLinks {
                guard let kind = key.kind, let target = key.target else { continue }
                insertLink.text(c.id); insertLink.text(kind); insertLink.text(target); insertLink.int(seq)
                try insertLink.run()
            }
            for (ref, a) in c.actions {
                insertAction.text(c.id); insertAction.text(ref); insertAction.text(a.owner); insertAction.text(a.due); insertAction.text(a.strand)
                insertAction.text(a.status)
                try insertAction.run()
            }
        }
    }
}
