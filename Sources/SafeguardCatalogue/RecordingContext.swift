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
}

/// What validation may ask of the ledger at the moment of recording. The store answers
/// from SQLite (and from earlier events of the same batch); tests answer from memory.
public protocol RecordingContext {
    var policy: PolicyDocument { get }
    var now: Timestamp { get }
    func caseStatus(_ caseID: String) -> CaseStatus
    func event(_ eventID: String) -> EventSummary?
    /// The latest value of a case fact recorded by `case.opened` or `case.updated`.
    func caseFact(_ caseID: String, _ fact: String) -> JSONValue?
}
