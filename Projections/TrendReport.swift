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
            // A month cut short says where it ends ("2026-12 (1-5)").
            let last = min(next.adding(days: -1), end), cut = last < next.adding(days: -1)
            let day = Int(last.description.suffix(2))!
            return (String(m.prefix(7)) + (cut ? day == 1 ? " (1)" : " (1-\(day))" : ""), first, last)
        }
    }

    static let trendColumns = ["month", "referrals", "screenings: none", "screenings: low", "screenings: medium", "screenings: significant",
                               "missing episodes", "cases opened", "cases closed", "cases with practice exceptions at the month's end"]

    /// A trend over `months` calendar months to `to`: referrals received, screenings by the level
    /// that drives the rules, missing episodes started, cases opened and closed, and the cases
    /// with recording-practice exceptions at each month's end. Each month's figures are as known
    /// at its end (records made after it are not counted in it), as in the MASE statistics.
    public func trendReport(months count: Int, to end: Day, filter: ReportFilter = ReportFilter()) throws -> Report {
        let chosen = try self.chosen(filter, on: end)
        let months = Self.months(count, to: end)
        let section = try trendSection(months: months, chosen: chosen, number: nil, exceptions: try exceptionTally(on: months.map(\.last), chosen: chosen).casesOn)
        var report = Report(title: "Trend over \(months.count) months to \(end.spoken)" + (filter.isEmpty ? "" : " (\(filter.phrase))"),
                            builtFrom: try builtFrom(), sections: [section])
        report.notes = ["Each month's figures are as known at its end: records made after a month are not counted in it."]
        if !filter.isEmpty { report.notes.append(Self.filterNote(filter, chosen: chosen)) }
        return report
    }

    /// The trend's one table, a row a month (`exceptions`: the cases with any on each month's last day).
    func trendSection(months: [(label: String, first: Day, last: Day)], chosen: Chosen, number: Int?, exceptions: [Int]) throws -> Report.Section {
        var section = Report.Section("\(number.map { "\($0). " } ?? "")The \(months.count) months to \(months.last?.last.spoken ?? "")"
                                     + ", month by month (each as known at its end)", Self.trendColumns)
        section.chart = .trend
        try read(chosen) { db in
            func count(_ sql: String, _ m: (label: String, first: Day, last: Day)) throws -> Int {
                try Int.fetchOne(db, sql: sql, arguments: [m.first.description, m.last.description, m.last.description]) ?? 0
            }
            let only = chosen.and("case_id")
            for (i, m) in months.enumerated() {
                var row = [m.label, String(try count("SELECT COUNT(*) FROM referrals WHERE day BETWEEN ? AND ? AND \(Self.knownBy("referrals"))\(only)", m))]
                var levels: [String: Int] = [:]
                for r in try Row.fetchAll(db, sql: "SELECT practitioner_level, COUNT(*) FROM screenings WHERE day BETWEEN ? AND ? AND \(Self.knownBy("screenings"))\(only) GROUP BY 1",
                                          arguments: [m.first.description, m.last.description, m.last.description]) {
                    levels[r[0]] = r[1]
                }
                row += ["none", "low", "medium", "significant"].map { String(levels[$0] ?? 0) }
                row.append(String(try count("""
                    SELECT COUNT(*) FROM missing_episodes m JOIN audit_events e ON e.seq = m.start_seq WHERE e.day BETWEEN ? AND ? AND e.recorded_day <= ?\(chosen.and("m.case_id"))
                    """, m)))
                row.append(String(try count("SELECT COUNT(DISTINCT case_id) FROM audit_events WHERE type = 'case.opened' AND day BETWEEN ? AND ? AND recorded_day <= ?\(only)", m)))
                row.append(String(try count("SELECT COUNT(DISTINCT case_id) FROM audit_events WHERE type = 'case.closed' AND day BETWEEN ? AND ? AND recorded_day <= ?\(only)", m)))
                row.append(String(exceptions[i]))
                section.rows.append(row)
            }
        }
        return section
    }
}
