import GRDB
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// One case's state as the case-state projection folds it, in memory: the `cases` row and the
/// case's agencies, links and MASE actions. Folding an event changes only this value; the
/// projection writes it out when the case leaves its cache or the fold ends.
final class CaseFold {
    let id: String
    /// A `cases` row exists (the case was opened). Before that, only the child tables change,
    /// as they always have.
    var opened = false
    var status = "open", stage = "opened", openedAt = "", closedAt: String? = nil
    var birthMonth: String? = nil, gender: String? = nil, borough: String? = nil, leadAgency: String? = nil
    var lookedAfter: Bool? = nil, learningDisability: Bool? = nil
    var suggestedLevel: String? = nil, practitionerLevel: String? = nil, screenedAt: String? = nil
    var policeCris = false
    var events: Int64 = 0, missingEpisodes: Int64 = 0, missingNow: Int64 = 0, awaitingMash: Int64 = 0
    var disruptions: Int64 = 0, links: Int64 = 0
    var legalHold = false
    var lastSeq: Int64 = 0
    /// Agency → the seq of its first event on the case.
    var agencies: [String: Int64] = [:]
    /// (kind, target) → the seq it was first recorded at.
    var caseLinks: [LinkKey: Int64] = [:]
    var actions: [String: Action] = [:]

    /// Events folded into it since it entered the cache (what it counts against the cache's bound).
    var heldEvents = 0
    /// Its rows are in the projections file already (they are replaced when written again).
    var stored = false
    /// The seq of the last event that touched it, for choosing what leaves the cache.
    var touchedAt: Int64 = 0

    struct LinkKey: Hashable { let kind: String?, target: String? }
    struct Action {
        var owner: String?
        var due: String?
        var strand: String?
        var status: String
    }

    init(id: String) { self.id = id }

    /// The stages a case moves through, in order (DOMAIN.md: screened → MASH → assessment →
    /// strategy → S47/CIN/early help/NFA → MASE listed → closed).
    static let stages = ["opened", "screened", "mash", "assessment", "strategy", "outcome", "mase_listed", "closed"]
    static let rank = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($0.element, $0.offset) })
    static let stageOf: [String: String] = [
        "screening.cse_tool": "screened", "screening.csc_mosaic": "screened",
        "referral.mash_written": "mash", "referral.mash_telephone": "mash", "decision.mash": "mash",
        "decision.s17": "assessment", "meeting.strategy": "strategy", "decision.strategy": "strategy",
        "decision.s47": "outcome", "decision.cin_plan": "outcome", "decision.early_help": "outcome", "decision.nfa": "outcome",
        "referral.mase": "mase_listed",
    ]

    /// What the fold does with each type of event it reads, and the stage it moves a case to.
    enum Kind {
        case opened, updated, transferred, closed, screened, mashForm, mashReferral, mashDecision, missingStarted, missingReturned
        case disruption, link, actionSet, actionProgressed, actionCompleted, other
    }
    static let kinds: [String: Kind] = [
        "case.opened": .opened, "case.updated": .updated, "case.transferred": .transferred, "case.closed": .closed,
        "screening.cse_tool": .screened, "screening.csc_mosaic": .screened, "referral.mash_written": .mashForm,
        "referral.mash_telephone": .mashReferral, "decision.mash": .mashDecision, "missing.started": .missingStarted,
        "missing.returned": .missingReturned, "disruption.recorded": .disruption, "link.recorded": .link, "action.set": .actionSet,
        "action.progressed": .actionProgressed, "action.completed": .actionCompleted,
    ]
    static let stageRankOf: [String: (stage: String, rank: Int)] = stageOf.mapValues { ($0, rank[$0]!) }

    /// Folds one event of this case (not a legal hold: those name the case in their facts).
    func apply(_ e: Envelope, seq: Int64, occurredAt at: String) {
        let f = Facts(e.facts)
        switch Self.kinds[e.type] ?? .other {
        case .opened:
            if !opened {
                // A new row: every column starts from its default.
                opened = true
                suggestedLevel = nil; practitionerLevel = nil; screenedAt = nil; policeCris = false
                events = 0; missingEpisodes = 0; missingNow = 0; awaitingMash = 0; disruptions = 0; links = 0; legalHold = false
                leadAgency = nil
            }
            status = "open"; stage = "opened"; closedAt = nil; openedAt = at
            birthMonth = f.string("birth_month"); gender = f.string("gender"); borough = f.string("borough")
            lookedAfter = f.bool("looked_after"); learningDisability = f.bool("learning_disability")
            leadAgency = f.string("lead_agency") ?? e.actor.agency
        case .updated where opened:
            if let v = f.string("birth_month") { birthMonth = v }
            if let v = f.string("gender") { gender = v }
            if let v = f.string("borough") { borough = v }
            if let v = f.string("lead_agency") { leadAgency = v }
            if let v = f.bool("looked_after") { lookedAfter = v }
            if let v = f.bool("learning_disability") { learningDisability = v }
            if let v = f.bool("police_cris_recorded") { policeCris = v }
        case .transferred where opened: leadAgency = f.string("to_agency")
        case .closed where opened: status = "closed"; stage = "closed"; closedAt = at
        case .screened where opened:
            suggestedLevel = f.string("suggested_level"); practitionerLevel = f.string("practitioner_level"); screenedAt = at
        case .mashForm where f.string("telephone_referral") != nil: break  // the form follows a call already counted
        case .mashForm where opened, .mashReferral where opened: awaitingMash += 1
        case .mashDecision where opened: awaitingMash = 0
        case .missingStarted where opened: missingEpisodes += 1; missingNow += 1
        case .missingReturned where opened: missingNow = max(0, missingNow - 1)
        case .disruption where opened: disruptions += 1
        case .link:
            if opened { links += 1 }
            let key = LinkKey(kind: f.string("link_kind"), target: f.string("target"))
            if caseLinks[key] == nil { caseLinks[key] = seq }
        case .actionSet:
            if let ref = f.string("action_ref") {
                actions[ref] = Action(owner: f.string("owner_agency"), due: f.string("due_date"), strand: f.string("strand"), status: "open")
            }
        case .actionProgressed, .actionCompleted:
            if let ref = f.string("action_ref"), actions[ref] != nil { actions[ref]!.status = e.type == "action.completed" ? "done" : "in_progress" }
        default: break
        }
        if opened {
            // Stages only move forward until the case is closed (or reopened).
            if let next = Self.stageRankOf[e.type], status == "open", next.rank > Self.rank[stage] ?? -1 { stage = next.stage }
            events += 1
            lastSeq = seq
        }
        if agencies[e.actor.agency] == nil { agencies[e.actor.agency] = seq }
    }

    /// Reads a case back from the projections file (its events are not held); nil when
    /// nothing of it is stored.
    static func load(_ id: String, _ db: Database) throws -> CaseFold? {
        let c = CaseFold(id: id)
        c.stored = true
        if let r = try query(db, """
            SELECT status, stage, opened_at, closed_at, birth_month, gender, borough, lead_agency, looked_after, learning_disability,
              suggested_level, practitioner_level, screened_at, police_cris, events, missing_episodes, missing_now, awaiting_mash_decision,
              disruptions, links, legal_hold, last_seq FROM cases WHERE case_id = ?
            """, .text(id)).first {
            func bool(_ v: DirectStatement.Value) -> Bool? { v.integer.map { $0 != 0 } }
            c.opened = true
            c.status = r[0].string ?? ""; c.stage = r[1].string ?? ""; c.openedAt = r[2].string ?? ""; c.closedAt = r[3].string
            c.birthMonth = r[4].string; c.gender = r[5].string; c.borough = r[6].string; c.leadAgency = r[7].string
            c.lookedAfter = bool(r[8]); c.learningDisability = bool(r[9])
            c.suggestedLevel = r[10].string; c.practitionerLevel = r[11].string; c.screenedAt = r[12].string
            c.policeCris = bool(r[13]) ?? false; c.events = r[14].integer ?? 0; c.missingEpisodes = r[15].integer ?? 0
            c.missingNow = r[16].integer ?? 0; c.awaitingMash = r[17].integer ?? 0; c.disruptions = r[18].integer ?? 0
            c.links = r[19].integer ?? 0; c.legalHold = bool(r[20]) ?? false; c.lastSeq = r[21].integer ?? 0
        }
        for r in try query(db, "SELECT agency, first_seq FROM case_agencies WHERE case_id = ?", .text(id)) {
            c.agencies[r[0].string ?? ""] = r[1].integer ?? 0
        }
        for r in try query(db, "SELECT link_kind, target, first_seq FROM case_links WHERE case_id = ?", .text(id)) {
            c.caseLinks[LinkKey(kind: r[0].string, target: r[1].string)] = r[2].integer ?? 0
        }
        for r in try query(db, "SELECT action_ref, owner_agency, due_date, strand, status FROM case_actions WHERE case_id = ?", .text(id)) {
            c.actions[r[0].string ?? ""] = Action(owner: r[1].string, due: r[2].string, strand: r[3].string, status: r[4].string ?? "")
        }
        return c.opened || !c.agencies.isEmpty ? c : nil
    }
}
