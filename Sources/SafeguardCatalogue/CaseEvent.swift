import SafeguardCore

/// One verified event, as the recording-practice rules read it: its coded facts, never its
/// details.
public struct CaseEvent: Sendable {
    public let eventID: String
    public let type: String
    public let caseID: String?
    /// Its position in the log (0 where unknown): "before the meeting" is by position.
    public let seq: Int64
    public let occurredAt: Timestamp
    /// When the log recorded it: what was known on a day is what had been recorded by its end.
    public let recordedAt: Timestamp
    public let facts: Facts
    /// The agency that recorded it.
    public let agency: String
    /// The day it happened, in London.
    public let day: Day
    /// The day it was recorded, in London (worked out once: the rules ask for both often).
    public let recordedDay: Day

    public init(eventID: String, type: String, occurredAt: Timestamp, facts: Facts, agency: String = "", caseID: String? = nil, seq: Int64 = 0,
                recordedAt: Timestamp? = nil) {
        self.eventID = eventID; self.type = type; self.occurredAt = occurredAt; self.facts = facts; self.agency = agency
        self.caseID = caseID; self.seq = seq; self.recordedAt = recordedAt ?? occurredAt
        self.day = Day(london: occurredAt); self.recordedDay = Day(london: self.recordedAt)
    }

    public init(_ e: Envelope) {
        self.init(eventID: e.eventID, type: e.type, occurredAt: e.occurredAt, facts: Facts(e.facts), agency: e.actor.agency, caseID: e.caseID,
                  seq: e.seq, recordedAt: e.recordedAt)
    }

    /// Whether it had been recorded by the end of `day` (always, with no day).
    public func known(on day: Day?) -> Bool { day.map { recordedDay <= $0 } ?? true }

    /// A retraction's target, if it is one.
    var retracts: String? {
        type == "correction.recorded" && facts.string("kind") == "retraction" ? facts.string("corrects_event") : nil
    }
}

/// Ages from a birth month. The exact date of birth is identifying and lives in details, so
/// ages are computed conservatively: the youngest the child can be.
public enum Age {
    /// Whole years on `day` for a child born at the latest on the last day of `birthMonth`.
    public static func youngest(birthMonth: String, on day: Day) -> Int? {
        guard let first = Day(iso: birthMonth + "-01") else { return nil }
        let b = first.description, d = day.description
        let by = Int(b.prefix(4))!, bm = Int(b.dropFirst(5).prefix(2))!
        let dy = Int(d.prefix(4))!, dm = Int(d.dropFirst(5).prefix(2))!
        // Until the month after the birth month, the birthday may not have come yet.
        return dy - by - (dm > bm ? 0 : 1)
    }

    /// The earliest possible 18th birthday: the first day of the birth month, 18 years on.
    public static func earliestEighteenth(birthMonth: String) -> Day? {
        guard let y = Int(birthMonth.prefix(4)) else { return nil }
        return Day(iso: "\(y + 18)-\(birthMonth.suffix(2))-01")
    }

    /// The 18th birthday the rules use when only the month is known: the last day of the birth
    /// month, 18 years on (the latest it can be, so no one is called an adult early).
    public static func eighteenth(birthMonth: String) -> Day? {
        guard let first = earliestEighteenth(birthMonth: birthMonth), let next = Day(iso: shiftMonths(first.description, by: 1)) else { return nil }
        return next.adding(days: -1)
    }

    /// `YYYY-MM-DD` moved by whole months: the same day `n` months on (or back), clamped to
    /// the end of a shorter month.
    public static func shiftMonths(_ iso: String, by n: Int) -> String {
        let y = Int(iso.prefix(4))!, m = Int(iso.dropFirst(5).prefix(2))!, d = Int(iso.suffix(2))!
        let total = y * 12 + (m - 1) + n
        let ny = total / 12, nm = total % 12 + 1
        let last = Int(Timestamp.days(fromCivil: Int64(nm == 12 ? ny + 1 : ny), Int64(nm == 12 ? 1 : nm + 1), 1) - Timestamp.days(fromCivil: Int64(ny), Int64(nm), 1))
        let day = min(d, last)
        return String(ny) + "-" + (nm < 10 ? "0" : "") + String(nm) + "-" + (day < 10 ? "0" : "") + String(day)
    }
}
