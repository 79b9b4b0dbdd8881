import SafeguardCore

/// Where each case stands, as far as the catalogue's rules ask (`RecordingContext`): open or
/// closed, and the latest value of each fact in `Catalogue.caseFactsRead`. A verifier keeps
/// one, fed every entry it accepts in order, so that it never asks the file (whose indexes an
/// attacker could leave stale) what happened before. Memory grows with the number of cases
/// (about 60 bytes each), not of events. A verifier that resumes from a state it kept loads
/// the cases it meets from there (`load`), and reports which it changed (`changed`).
public final class CaseBook: @unchecked Sendable {
    /// One case: whether it is closed (and when) and the facts the rules read. A value that
    /// is not of the kind the rules read (a birth month that is not a string) is kept as nil,
    /// exactly as the rules would read it.
    public struct Record: Equatable, Sendable {
        /// nil while open; when closed, the closing event's `occurred_at`.
        public var closedAt: Timestamp?
        public var birthMonth: String?
        public var learningDisability: Bool?
        public var crisRecorded: Bool?

        public init(closedAt: Timestamp? = nil, birthMonth: String? = nil, learningDisability: Bool? = nil, crisRecorded: Bool? = nil) {
            self.closedAt = closedAt; self.birthMonth = birthMonth; self.learningDisability = learningDisability; self.crisRecorded = crisRecorded
        }

        /// The record as canonical JSON (docs/FORMAT.md §9.3): `closed_at` while closed, and
        /// each fact that has a value.
        public var json: JSONValue {
            var o: [String: JSONValue] = [:]
            if let closedAt { o["closed_at"] = .string(closedAt.description) }
            if let birthMonth { o["birth_month"] = .string(birthMonth) }
            if let learningDisability { o["learning_disability"] = .bool(learningDisability) }
            if let crisRecorded { o["police_cris_recorded"] = .bool(crisRecorded) }
            return .object(o)
        }

        /// Reads `json`; nil if it is not a record this code writes.
        public init?(json: JSONValue) {
            guard let o = json.objectValue, Set(o.keys).isSubset(of: ["closed_at", "birth_month", "learning_disability", "police_cris_recorded"]) else { return nil }
            if let c = o["closed_at"] {
                guard let t = c.stringValue.flatMap(Timestamp.init(canonical:)) else { return nil }
                closedAt = t
            }
            if let b = o["birth_month"] { guard let s = b.stringValue else { return nil }; birthMonth = s }
            if let l = o["learning_disability"] { guard let v = l.boolValue else { return nil }; learningDisability = v }
            if let c = o["police_cris_recorded"] { guard let v = c.boolValue else { return nil }; crisRecorded = v }
        }
    }

    private var records: [String: Record] = [:]
    /// Cases asked about that the book does not hold and `load` did not find: never opened.
    private var unknown = Set<String>()
    private let load: ((String) throws -> Record?)?
    /// The cases whose records changed since the book was made (to save them).
    public private(set) var changed = Set<String>()
    /// A failure of `load` (a damaged state file): the first one, for the caller to report.
    public private(set) var loadFailure: Error?

    /// An empty book, or one that finds the cases it does not hold with `load`.
    public init(load: ((String) throws -> Record?)? = nil) { self.load = load }

    public func record(_ caseID: String) -> Record? {
        if let r = records[caseID] { return r }
        guard let load, !unknown.contains(caseID) else { return nil }
        do {
            if let r = try load(caseID) {
                records[caseID] = r
                return r
            }
        } catch {
            if loadFailure == nil { loadFailure = error }
        }
        unknown.insert(caseID)
        return nil
    }

    public func status(_ caseID: String) -> CaseStatus {
        guard let r = record(caseID) else { return .neverOpened }
        return r.closedAt.map { .closed(at: $0) } ?? .open
    }

    public func fact(_ caseID: String, _ name: String) -> JSONValue? {
        guard let r = record(caseID) else { return nil }
        switch name {
        case "birth_month": return r.birthMonth.map { .string($0) }
        case "learning_disability": return r.learningDisability.map { .bool($0) }
        case "police_cris_recorded": return r.crisRecorded.map { .bool($0) }
        default:
            assertionFailure("the catalogue reads case fact \(name), which Catalogue.caseFactsRead does not list")
            return nil
        }
    }

    /// Moves past `e`: an opening, update or closing changes its case's record.
    public func accept(_ e: Envelope) {
        guard let c = e.caseID, e.type == "case.opened" || e.type == "case.updated" || e.type == "case.closed" else { return }
        var r = record(c) ?? Record()
        switch e.type {
        case "case.opened": r.closedAt = nil
        case "case.closed": r.closedAt = e.occurredAt
        default: break
        }
        if e.type != "case.closed" {
            if let v = e.facts["birth_month"] { r.birthMonth = v.stringValue }
            if let v = e.facts["learning_disability"] { r.learningDisability = v.boolValue }
            if let v = e.facts["police_cris_recorded"] { r.crisRecorded = v.boolValue }
        }
        records[c] = r
        unknown.remove(c)
        changed.insert(c)
    }

    /// The number of cases held in memory.
    public var count: Int { records.count }
}
