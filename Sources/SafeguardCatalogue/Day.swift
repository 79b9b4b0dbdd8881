import SafeguardCore

/// A calendar date (no time), as days since 1970-01-01. Deadlines and bank holidays are days.
public struct Day: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let number: Int64

    public init(number: Int64) { self.number = number }

    public static func < (a: Day, b: Day) -> Bool { a.number < b.number }

    /// Parses `YYYY-MM-DD` (a real date).
    public init?(iso text: String) {
        guard text.utf8.count == 10, let t = Timestamp(rfc3339: text + "T00:00:00Z"), t.date == text else { return nil }
        number = t.seconds / 86400
    }

    /// The date of `t` in England (Europe/London: GMT, or BST from 01:00 UTC on the last Sunday
    /// of March to 01:00 UTC on the last Sunday of October), which is the date a practitioner
    /// means by "the same working day".
    public init(london t: Timestamp) {
        let utcDay = t.seconds >= 0 ? t.seconds / 86400 : (t.seconds - 86399) / 86400
        let year = Timestamp.civil(fromDays: utcDay).0
        let start = Self.lastSunday(year: year, month: 3).number * 86400 + 3600
        let end = Self.lastSunday(year: year, month: 10).number * 86400 + 3600
        let offset: Int64 = (start..<end).contains(t.seconds) ? 3600 : 0
        let s = t.seconds + offset
        number = s >= 0 ? s / 86400 : (s - 86399) / 86400
    }

    /// The last Sunday of `month` (March or October) in `year`, by arithmetic alone.
    static func lastSunday(year: Int64, month: Int64) -> Day {
        let d = Day(number: Timestamp.days(fromCivil: year, month, 31))
        return Day(number: d.number - Int64(d.weekday % 7))
    }

    /// ISO weekday: 1 Monday … 7 Sunday (1970-01-01 was a Thursday).
    public var weekday: Int { Int(((number % 7) + 7 + 3) % 7) + 1 }

    public var description: String { Timestamp(seconds: number * 86400).date }

    /// e.g. "Tue 1 Dec 2026", the form practitioners read.
    public var spoken: String {
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let iso = description
        let y = iso.prefix(4), m = Int(iso.dropFirst(5).prefix(2))!, d = Int(iso.suffix(2))!
        return "\(names[weekday - 1]) \(d) \(months[m - 1]) \(y)"
    }

    public func adding(days n: Int64) -> Day { Day(number: number + n) }

    /// The same date `n` years on (29 February becomes 28 February in a year without one).
    public func adding(years n: Int64) -> Day {
        let (y, m, d) = Timestamp.civil(fromDays: number)
        let target = y + n
        let leap = target % 4 == 0 && (target % 100 != 0 || target % 400 == 0)
        return Day(number: Timestamp.days(fromCivil: target, m, m == 2 && d == 29 && !leap ? 28 : d))
    }

    /// Whether `s` is a real month written `YYYY-MM`.
    public static func isMonth(_ s: String) -> Bool { s.utf8.count == 7 && Day(iso: s + "-01") != nil }
}

/// Working days in England and Wales: Monday to Friday, less the bank holidays the policy lists.
public struct WorkingCalendar: Sendable, Equatable {
    public let bankHolidays: Set<Day>

    public init(bankHolidays: Set<Day>) { self.bankHolidays = bankHolidays }

    public func isWorkingDay(_ d: Day) -> Bool { d.weekday <= 5 && !bankHolidays.contains(d) }

    /// The deadline `n` working days after `start`: the n-th working day after it (so one
    /// working day after a Friday or a Sunday is the Monday). With `n` = 0 it is "the same
    /// working day": `start` itself if it is a working day, else the next working day.
    public func adding(workingDays n: Int, to start: Day) -> Day {
        var d = start
        if n == 0 {
            while !isWorkingDay(d) { d = d.adding(days: 1) }
            return d
        }
        var left = n
        while left > 0 {
            d = d.adding(days: 1)
            if isWorkingDay(d) { left -= 1 }
        }
        return d
    }

    /// Working days from `a` to `b` (positive when `b` is later): how overdue something is.
    public func workingDays(from a: Day, to b: Day) -> Int {
        guard a != b else { return 0 }
        let (lo, hi, sign) = a < b ? (a, b, 1) : (b, a, -1)
        // Weekdays in (lo, hi] by whole weeks and the remainder, then less the bank holidays
        // that fall on weekdays in that span: no day-by-day walk over long spans.
        let span = Int(hi.number - lo.number)
        var n = span / 7 * 5
        var d = lo.adding(days: Int64(span / 7 * 7))
        while d < hi {
            d = d.adding(days: 1)
            if d.weekday <= 5 { n += 1 }
        }
        for h in bankHolidays where h > lo && h <= hi && h.weekday <= 5 { n -= 1 }
        return n * sign
    }
}
