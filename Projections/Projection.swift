import GRDB
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// What a fold step sees besides the event: its place in the log and the policy in force.
public struct FoldContext {
    public var seq: Int64
    public var entryHash: [UInt8]
    /// The event's timestamps as stored (equal to the envelope's; verification checks), so
    /// folds need not format them again.
    public var occurredAt: String = ""
    public var recordedAt: String = ""
    /// The policy document in force at this event (nil before the first policy_set).
    public var policy: PolicyDocument? {
        didSet { calendar = policy?.calendar }
    }
    /// Its working-day calendar (kept apart so that folds need not copy the whole policy).
    public private(set) var calendar: WorkingCalendar?

    public init(seq: Int64, entryHash: [UInt8], occurredAt: String = "", recordedAt: String = "", policy: PolicyDocument?) {
        self.seq = seq; self.entryHash = entryHash; self.occurredAt = occurredAt; self.recordedAt = recordedAt
        self.policy = policy
        calendar = policy?.calendar
    }
}

/// A read model rebuilt from the verified log: a deterministic fold over its events into
/// tables of the projections file. The same events always give the same rows, so the digest
/// of the tables proves two machines computed the same figures.
///
/// Contract: `create` makes the tables (dropping none: the engine does; only on a rebuild);
/// `begin` runs before a pass (`fresh` on a rebuild); `apply` is called for every event in
/// sequence order inside one transaction; `finish` runs once after the last event. Nothing may depend on anything but these inputs (never the wall clock): figures that
/// depend on "today" (overdue, within six months of 18) are worked out when a report is made.
public protocol Projection: AnyObject {
    /// A stable name, e.g. `case_state`.
    var name: String { get }
    /// The fold's code version; a change makes `update` rebuild from the first event.
    var version: Int { get }
    /// The tables it owns, each with the ORDER BY that fixes the digest's row order.
    var tables: [(name: String, orderBy: String)] { get }
    func create(_ db: Database) throws
    /// Indexes built after the fold (`CREATE INDEX IF NOT EXISTS`): one sort after a rebuild's
    /// bulk load costs less than keeping them up to date row by row. Nothing may need them
    /// before `finish`.
    var indexes: [String] { get }
    func begin(_ db: Database, fresh: Bool) throws
    func apply(_ event: Envelope, _ context: FoldContext, _ db: Database) throws
    /// `cases` reads a case's events from the ledger (to fold it again without a retracted record).
    func finish(policy: PolicyDocument?, cases: CaseEventSource, _ db: Database) throws
}

/// Reads a whole case from the ledger up to the fold's position.
public struct CaseEventSource {
    /// One case's stored rows and envelopes, for replaying it.
    let entries: (String) throws -> [(StoredEntry, Envelope)]
}

/// Retractions, as every projection that folds a case's events handles them (written once,
/// here): an event retracted before it appears (possible only in a crafted log) never counts,
/// and each case with a record retracted in a pass is folded again at the end of it, from its
/// own events without the retracted ones, so that nothing the retracted record changed stays.
struct Retractions {
    /// Every event id retracted so far.
    private var all: Set<String> = []
    /// The targets of the retractions folded in this pass.
    private var inPass: [String] = []

    /// Starts a pass: on an update, with the retractions folded before (as the case-state
    /// projection stored them).
    mutating func begin(_ db: Database, fresh: Bool) throws {
        inPass = []
        all = fresh ? [] : Set(try query(db, "SELECT corrects_event_id FROM corrections WHERE kind = 'retraction'").compactMap { $0[0].string })
    }

    /// Whether `e` counts (it is not retracted already); notes the retraction `e` makes, if any.
    mutating func counts(_ e: Envelope) -> Bool {
        if all.contains(e.eventID) { return false }
        if e.type == "correction.recorded", e.facts["kind"]?.stringValue == "retraction", let target = e.facts["corrects_event"]?.stringValue {
            all.insert(target)
            inPass.append(target)
        }
        return true
    }

    /// The cases with a record retracted in this pass, in order (their case from the audit
    /// trail folded in the same file).
    func casesToFoldAgain(_ db: Database) throws -> [String] {
        var ids: Set<String> = []
        for target in inPass {
            if let id = try query(db, "SELECT case_id FROM audit_events WHERE event_id = ?", .text(target)).first?[0].string { ids.insert(id) }
        }
        return ids.sorted()
    }

    /// The case's events to fold again: all but the retracted ones.
    func liveEntries(of id: String, _ cases: CaseEventSource) throws -> [(StoredEntry, Envelope)] {
        try cases.entries(id).filter { !all.contains($0.1.eventID) }
    }

    /// Ends the pass.
    mutating func end() { all = []; inPass = [] }
}

/// The projections this version builds, in the order they are folded.
public func allProjections() -> [any Projection] {
    [CaseStateProjection(), AuditProjection(), ActivityProjection()]
}
