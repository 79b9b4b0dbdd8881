/// What the recording-practice rules of one case read from other cases' records, as known on a
/// day: the MASE meetings that discussed the case (recorded under any case), the agencies that
/// acknowledged each meeting's decisions (under whichever case they recorded it), which cases
/// share each linked venue, vehicle or person, and which records were retracted. Built by
/// adding verified events in log order; only `types` are kept, so it stays small. `asOf` gives
/// the same facts as known on an earlier day without a copy of them (a trend asks for many days).
public struct PartnershipFacts: Sendable {
    /// The event types it keeps; callers may pass only these.
    public static let types: Set<String> = ["meeting.mase", "acknowledgement.recorded", "link.recorded", "correction.recorded"]

    /// Events recorded after the end of this day are left out (none, with no day).
    public private(set) var knownOn: Day?
    private var meetingsByCase: [String: [CaseEvent]] = [:]
    private var acknowledgements: [String: [CaseEvent]] = [:]
    private var links: [String: [(caseID: String, eventID: String, recorded: Day)]] = [:]
    /// Each retracted record, with the day its retraction was recorded.
    private var retracted: [String: Day] = [:]

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
            if let c = e.caseID, let key = Self.linkKey(e.facts) { links[key, default: []].append((c, e.eventID, e.recordedDay)) }
        case "correction.recorded":
            if let target = e.retracts, retracted[target] == nil { retracted[target] = e.recordedDay }
        default: break
        }
    }

    /// The same facts as known on `day`, which must not be later than this one's (the storage is shared).
    public func asOf(_ day: Day?) -> PartnershipFacts {
        precondition(knownOn == nil || (day != nil && day! <= knownOn!), "facts as known on a later day than they were built for")
        var copy = self
        copy.knownOn = day
        return copy
    }

    private func known(_ recorded: Day) -> Bool { knownOn.map { recorded <= $0 } ?? true }

    /// Whether a record has been retracted (by a correction under any case).
    public func isRetracted(_ eventID: String) -> Bool { retracted[eventID].map(known) ?? false }

    /// The MASE meetings that discussed `caseID`, in log order.
    public func meetings(discussing caseID: String) -> [CaseEvent] {
        (meetingsByCase[caseID] ?? []).filter { known($0.recordedDay) && !isRetracted($0.eventID) }
    }

    /// The agencies that confirmed they recorded the meeting's decisions on their own system.
    public func acknowledgers(of meetingID: String) -> Set<String> {
        Set((acknowledgements[meetingID] ?? []).filter { known($0.recordedDay) && !isRetracted($0.eventID) && $0.facts.bool("recorded_on_own_system") == true }.map(\.agency))
    }

    /// The cases other than `caseID` linked to the same `link_kind` and `target`.
    public func otherCases(linkedLike facts: Facts, than caseID: String) -> Set<String> {
        guard let key = Self.linkKey(facts) else { return [] }
        return Set((links[key] ?? []).filter { $0.caseID != caseID && known($0.recorded) && !isRetracted($0.eventID) }.map(\.caseID))
    }

    static func linkKey(_ f: Facts) -> String? {
        guard let kind = f.string("link_kind"), let target = f.string("target") else { return nil }
        return kind + "\u{0}" + target
    }
}
