import SafeguardCore

/// What the catalogue's rules ask of the log before an entry (`RecordingContext`), told of
/// each entry accepted so that it moves on with the log.
public protocol LogView: RecordingContext {
    func accept(_ e: Envelope)
}

/// The view a verifier keeps: cases from a `CaseBook` fed by every entry it accepts, earlier
/// events from `events`, which the store answers from rows it has verified.
public final class VerifiedView: LogView {
    public let cases: CaseBook
    private let events: (String) -> EventSummary?

    public init(cases: CaseBook, events: @escaping (String) -> EventSummary?) {
        self.cases = cases
        self.events = events
        cases.lookup = events
    }

    public func caseStatus(_ caseID: String) -> CaseStatus { cases.status(caseID) }
    public func event(_ eventID: String) -> EventSummary? { events(eventID) }
    public func caseFact(_ caseID: String, _ fact: String) -> JSONValue? { cases.fact(caseID, fact) }
    public func caseRecord(_ caseID: String) -> CaseBook.Record? { cases.record(caseID) }
    public func meetingsDiscussing(_ caseID: String) -> Set<String> { cases.record(caseID)?.discussedIn ?? [] }
    public func accept(_ e: Envelope) { cases.accept(e) }
}

/// The event catalogue as rules of the log (`EntryRules`): what `ChainVerifier` checks of every
/// entry after the log's own rules, with the one function both append and verification call
/// (`Catalogue.check`), each through its own view of the log before the entry.
public final class CatalogueRules: EntryRules, @unchecked Sendable {
    public let view: any LogView
    public typealias PolicyCache = (seq: Int64?, document: Result<PolicyDocument?, PolicyDocument.Invalid>)
    /// The catalogue of the policy in force, read once per `policy_set` (a writer that appends
    /// batch after batch keeps it from one to the next).
    public private(set) var policy: PolicyCache?

    public init(view: any LogView, policy: PolicyCache? = nil) { self.view = view; self.policy = policy }

    public func check(_ e: Envelope, details: [String: JSONValue]?, state: LedgerState) throws(RuleViolation) {
        let document: PolicyDocument?
        switch Self.catalogue(state, cached: &policy) {
        case .success(let d): document = d
        case .failure(let error):
            guard !Catalogue.outsideCatalogue(e.type) else { document = nil; break }
            throw CatalogueError("policy", "the policy in force cannot be read (\(error)); the partnership must record a corrected policy", .policy).violation
        }
        do { try Catalogue.check(Catalogue.Entry(e, details: details), policy: document, context: view) } catch { throw error.violation }
        if let sealing = state.policy?.sealing, let c = e.caseID, !Self.entitled(e.actor.agency, to: c, sealing: sealing, opening: e.type == "case.opened", view: view) {
            throw CatalogueError("actor.agency", "\(e.actor.agency) is not entitled to case \(c)'s details: an entitled agency records sharing.shared with it first", .entitlement).violation
        }
    }

    /// Whether `agency` may record on case `caseID` under a policy that seals (docs/FORMAT.md
    /// §3.5): it is entitled to every case, opened this one, or had it shared with it; or it
    /// opens a case never opened before.
    public static func entitled(_ agency: String, to caseID: String, sealing: Policy.Sealing, opening: Bool, view: any RecordingContext) -> Bool {
        if sealing.everyCase.contains(agency) { return true }
        guard let record = view.caseRecord(caseID) else { return opening }
        return record.entitled.contains(agency)
    }

    public func accept(_ e: Envelope) { view.accept(e) }

    /// The catalogue the policy in force in `state` carries (nil: none in force, or one that
    /// grants permissions only), read again only when the policy changed since `cached`.
    public static func catalogue(_ state: LedgerState, cached: inout (seq: Int64?, document: Result<PolicyDocument?, PolicyDocument.Invalid>)?)
        -> Result<PolicyDocument?, PolicyDocument.Invalid>
    {
        if let cached, cached.seq == state.policySeq { return cached.document }
        let document: Result<PolicyDocument?, PolicyDocument.Invalid>
        if let json = state.policyDocument {
            do { document = .success(try PolicyDocument.catalogue(of: json)) } catch let e as PolicyDocument.Invalid {
                document = .failure(e)
            } catch {
                document = .failure(PolicyDocument.Invalid(description: "\(error)"))
            }
        } else {
            document = .success(nil)
        }
        cached = (state.policySeq, document)
        return document
    }
}

extension Catalogue {
    /// Types the catalogue does not check (the log's rules do): what may be recorded even
    /// while the policy in force cannot be read, so that a corrected one can be.
    static func outsideCatalogue(_ type: String) -> Bool { type == LogType.policySet || checkedByTheLog.contains(type) }
}
