import SafeguardCore

/// Whether a case id has been opened, and whether it is still open.
public enum CaseStatus: Equatable, Sendable {
    case neverOpened
    case open
    case closed(at: Timestamp)
}

/// What an earlier event looked like, for checks that refer to it.
public struct EventSummary: Equatable, Sendable {
    public let type: String
    public let caseID: String?
    public let occurredAt: Timestamp
    /// The agency that recorded it.
    public let agency: String
    public init(type: String, caseID: String?, occurredAt: Timestamp, agency: String) {
        self.type = type; self.caseID = caseID; self.occurredAt = occurredAt; self.agency = agency
    }

    public init(_ e: Envelope) {
        self.init(type: e.type, caseID: e.caseID, occurredAt: e.occurredAt, agency: e.actor.agency)
    }
}

/// What the catalogue may ask of the log before the event being checked: where each case
/// stands and what an earlier event was. Append answers from the file (and from the events
/// earlier in its batch), verification from what it has verified so far (`CaseBook` and
/// the verified rows), tests from memory; each must give the answers the log as it stood
/// before the event gives.
public protocol RecordingContext {
    func caseStatus(_ caseID: String) -> CaseStatus
    /// The earlier event with this id, if there is one.
    func event(_ eventID: String) -> EventSummary?
    /// The latest value of a case fact recorded by `case.opened` or `case.updated` (only the
    /// facts in `Catalogue.caseFactsRead` are asked for).
    func caseFact(_ caseID: String, _ fact: String) -> JSONValue?
    /// The case as the recording checks read it (`CaseBook.Record`: when it was opened, its
    /// action references, open escalations, MASE meetings and their acknowledgements); nil if
    /// it was never opened. Its `discussedIn` may be incomplete: `meetingsDiscussing` says.
    func caseRecord(_ caseID: String) -> CaseBook.Record?
    /// The MASE meetings recorded under other cases that discussed this one.
    func meetingsDiscussing(_ caseID: String) -> Set<String>
}
