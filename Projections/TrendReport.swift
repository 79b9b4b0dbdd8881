import GRDB
import SafeguardCatalogue
import SafeguardCore

extension ProjectionEngine {
    /// The calendar months ending with the month of `to` (the last one cut at `to`), oldest first.
    static func months(_ count: Int, to end: Day) -> [(label: String, first: Day, last: Day)] {
        let month = String(end.description.prefix(7))
        return (0..<count).reversed().compactMap { back -> (String, Day, Day)? in
            let m = Age.shiftMonths(month + "-01", by: -back)
            guard let first = Day(iso: String(m.prefix(7)) + "-01") else { return nil }
            let next = Day(iso: String(Age.shiftMonths(String(m.prefix(7)) + "-01", by: 1).prefix(7)) + "-01") ?? first
            return (String(m.prefix(7)), first, min(next.adding(days: -1), end))
        }
    }

    /// A trend over `months` calendar months to `to`: referrals received, screenings by the level
    /// that drives the rules, missing episodes started, cases opened and closed. Each month's
    /// figures are as known at its end (records made after it are not counted in it), as in
    /// the MASE statistics.
    public func trendReport(months count: Int, to end: Day) throws -> Report {
        let months = Self.months(count, to: end)
        var referrals = Report.Section("1. Referrals received, by month", ["month", "referrals"])
        var screenings = Report.Section("2. Screenings by month and the practitioner's level", ["month", "none", "low", "medium", "significant", "screenings"])
        var missing = Report.Section("3. Missing episodes started, by month", ["month", "episodes"])
        var opened = Report.Section("4. Cases opened, by month", ["month", "cases"])
        var closed = Report.Section("5. Cases closed, by month", ["month", "cases"])
        try read { db in
            func count(_ sql: String, _ m: (label: String, first: Day, last: Day)) throws -> Int {
                try Int.fetchOne(db, sql: sql, arguments: [m.first.description, m.last.description, m.last.description]) ?? 0
            }
            for m in months {
                referrals.rows.append([m.label, String(try count("SELECT COUNT(*) FROM referrals WHERE day BETWEEN ? AND ? AND \(Self.knownBy("referrals"))", m))])
                var levels: [String: Int] = [:]
                for r in try Row.fetchAll(db, sql: "SELECT practitioner_level, COUNT(*) FROM screenings WHERE day BETWEEN ? AND ? AND \(Self.knownBy("screenings")) GROUP BY 1",
                                          arguments: [m.first.description, m.last.description, m.last.description]) {
                    levels[r[0]] = r[1]
                }
                let byLevel = ["none", "low", "medium", "significant"].map { levels[$0] ?? 0 }
                screenings.rows.append([m.label] + byLevel.map(String.init) + [String(byLevel.reduce(0, +))])
                missing.rows.append([m.label, String(try count("""
                    SELECT COUNT(*) FROM missing_episodes m JOIN audit_events e ON e.seq = m.start_seq WHERE e.day BETWEEN ? AND ? AND e.recorded_day <= ?
                    """, m))])
                opened.rows.append([m.label, String(try count("SELECT COUNT(DISTINCT case_id) FROM audit_events WHERE type = 'case.opened' AND day BETWEEN ? AND ? AND recorded_day <= ?", m))])
                closed.rows.append([m.label, String(try count("SELECT COUNT(DISTINCT case_id) FROM audit_events WHERE type = 'case.closed' AND day BETWEEN ? AND ? AND recorded_day <= ?", m))])
            }
        }
        var report = Report(title: "Trend over \(months.count) months to \(end.spoken)", builtFrom: try builtFrom(),
                            sections: [referrals, screenings, missing, opened, closed])
        report.notes = ["Each month's figures are as known at its end: records made after a month are not counted in it."]
        return report
    }
}
