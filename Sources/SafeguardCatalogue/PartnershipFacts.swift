/// What the recording-practice rules of one case read from other cases' records, as known on a
/// day: the MASE meetings that discussed the case (recorded under any case), the agencies that
/// acknowledged each meeting's decisions (under whichever case they recorded it), which cases
/// share each linked venue, vehicle or person, and which records were retracted. Built by
/// adding verified events in log order; only `types` are kept, so it stays small.
public struct PartnershipFacts: Sendable {
    /// The event types it keeps; callers may pass only these.
    public static let types: Set<String> = ["meeting.mase", "acknowledgement.recorded", "link.recorded", "correction.recorded"]

    /// Events recorded after the end of this day are left out (none, with no day).
    public let knownOn: Day?
    private var meetingsByCase: [String: [CaseEvent]] = [:]
    private var acknowledgements: [String: [CaseEvent]] = [:]
    private var links: [String: [(caseID: String, eventID: String)]] = [:]
    private var retracted: Set<String> = []

    public init(knownOn: Day? = nil) { self.knownOn = knownOn }

    /// Keeps what the rules need of `e` (anything else is ignored).
    public mutating func add(_ e: CaseEvent) {
        guard e.known(on: knownOn) else { return }
        switch e.type {
        case "meeting.mase":
            for c in Set(e.facts.strings("cases_discussed")) { meetingsByCase[c, default: []].append(e) }
        case "acknowledgement.recorded":
            if let m = e.facts.string("decision_event") { acknowledgements[m, default: []].append(e) }
        case "link.recorded":
            if let c = e.caseID, let key = Self.linkKey(e.facts) { links[key, default: []].append((c, e.eventID)) }
        case "correction.recorded":
            if let target = e.retracts { retracted.insert(target) }
        default: break
        }
    }

    /// Whether a record has been retracted (by a correction under any case).
    public func isRetracted(_ eventID: String) -> Bool { retracted.contains(eventID) }

    /// The MASE meetings that discussed `caseID`, in log order.
    public func meetings(discussing caseID: String) -> [CaseEvent] {
        (meetingsByCase[caseID] ?? []).filter { !retracted.contains($0.eventID) }
    }

    /// The agencies that confirmed they recorded the meeting's decisions on their own system.
    public func acknowledgers(of meetingID: String) -> Set<String> {
        Set((acknowledgements[meetingID] ?? []).filter { !retracted.contains($0.eventID) && $0.facts.bool("recorded_on_own_system") == true }.map(\.agency))
    }

    /// The cases other than `caseID` linked to the same `link_kind` and `target`.
    public func otherCases(linkedLike facts: Facts, than caseID: String) -> Set<String> {
        guard let key = Self.linkKey(facts) else { return [] }
        return Set((links[key] ?? []).filter { $0.caseID != caseID && !retracted.contains($0.eventID) }.map(\.caseID))
    }

    static func linkKey(_ f: Facts) -> String? {
        guard let kind = f.string("link_kind"), let target = f.string("target") else { return nil }
        return kind + "\u{0}" + target
    }
}
