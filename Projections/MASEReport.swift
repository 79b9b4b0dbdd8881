import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

extension ProjectionEngine {
    /// The MASE period ending `to` (the analyst's day, or a day they name): from `from`, or
    /// else from the day after the last MASE meeting before `to` (or the first record).
    public func masePeriod(from: Day?, to end: Day) throws -> (Day, Day) {
        if let from { return (from, end) }
        return try read { db in
            // From the day after the last MASE meeting, so no day is counted in two reports.
            if let last = try String.fetchOne(db, sql: "SELECT MAX(day) FROM meetings WHERE type = 'meeting.mase' AND day < ?", arguments: [end.description]),
                let d = Day(iso: last)
            {
                return (d.adding(days: 1), end)
            }
            let first = try String.fetchOne(db, sql: "SELECT MIN(day) FROM audit_events")
            return (first.flatMap(Day.init(iso:)) ?? end, end)
        }
    }

    /// The MASE statistics (DOMAIN.md items 1–12) for the period [from, to], days inclusive.
    /// With a `filter`, every figure is over the children it chooses.
    public func maseReport(from: Day? = nil, to: Day, filter: ReportFilter = ReportFilter()) throws -> Report {
        let (start, end) = try masePeriod(from: from, to: to)
        let policy = try policyAtHead()
        let a = start.description, b = end.description
        var sections: [Report.Section] = []
        let chosen = try self.chosen(filter, on: end)
        // The exceptions on the last day of each of the 12 months to `end` (the last is `end`), in one pass.
        let months = Self.months(12, to: end)
        let (tally, monthly) = try exceptionTally(on: months.map(\.last), chosen: chosen)
        let trend = try trendSection(months: months, chosen: chosen, number: 17, exceptions: monthly)
        try read(chosen) { db in
            func only(_ column: String) -> String { chosen.and(column) }
            func rows(_ sql: String, _ args: StatementArguments = []) throws -> [[String]] {
                try Row.fetchAll(db, sql: sql, arguments: args).map { r in r.databaseValues.map { v in
                    switch v.storage {
                    case .null: return ""
                    case .int64(let i): return String(i)
                    case .string(let s): return s
                    case .double(let d): return String(d)
                    case .blob: return ""
                    }
                } }
            }
            // 1
            // Received by: MASH for MASH referrals, the MASE panel, education for EWO, and so on.
            sections.append(.init("1. Referrals received in the period, by receiving service and referring agency", ["received by", "referral", "label", "from agency", "count"],
                                  try rows("""
                SELECT CASE type WHEN 'referral.mash_written' THEN 'MASH' WHEN 'referral.mash_telephone' THEN 'MASH'
                  WHEN 'referral.mase' THEN 'MASE panel' WHEN 'referral.ewo' THEN 'education welfare officer'
                  WHEN 'referral.adult_social_care' THEN 'adult social care' WHEN 'referral.rhi_provider' THEN 'RHI provider' ELSE type END AS receiver,
                  type, agency, COUNT(*) FROM referrals WHERE day BETWEEN ? AND ? AND \(Self.knownBy("referrals")) \(only("case_id")) GROUP BY receiver, type, agency ORDER BY receiver, type, agency
                """, [a, b, b]).map { [$0[0], $0[1], CodeLabels.type($0[1]), $0[2], $0[3]] }))
            // 2
            // Open-case figures are as known at the end of the period.
            let caseload = try rows(Self.asOf + """
                SELECT SUM(p > 0), SUM(s > 0), SUM(p > 0 AND s > 0), SUM(p > 0 AND s = 0), SUM(s > 0 AND p = 0) FROM (
                  SELECT o.case_id, SUM(k.agency = 'police') AS p, SUM(k.agency = 'csc') AS s FROM open_at o
                  JOIN known k ON k.case_id = o.case_id WHERE 1\(only("o.case_id")) GROUP BY o.case_id)
                """, [b]).first ?? []
            sections.append(.init("2. Police and CSC caseloads (cases open at the end of the period)", ["known to police", "known to CSC", "both", "police only", "CSC only"],
                                  [caseload.map { $0.isEmpty ? "0" : $0 }]))
            // 3
            var levels = try rows(Self.asOf + """
                SELECT COALESCE(v.practitioner_level, 'not screened'), COUNT(*) FROM open_at o LEFT JOIN level_at v ON v.case_id = o.case_id WHERE 1\(only("o.case_id")) GROUP BY 1 ORDER BY 1
                """, [b])
            let changes = try rows("""
                SELECT COUNT(DISTINCT CASE WHEN rank > prev THEN case_id END), COUNT(DISTINCT CASE WHEN rank < prev THEN case_id END) FROM (
                  SELECT case_id, day, \(Self.levelRank("practitioner_level")) AS rank,
                    LAG(\(Self.levelRank("practitioner_level"))) OVER (PARTITION BY case_id ORDER BY seq) AS prev FROM screenings WHERE \(Self.knownBy("screenings"))\(only("case_id")))
                WHERE day BETWEEN ? AND ? AND prev IS NOT NULL
                """, [b, a, b]).first ?? []
            let opened = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT case_id) FROM audit_events WHERE type = 'case.opened' AND day BETWEEN ? AND ? AND recorded_day <= ?\(only("case_id"))", arguments: [a, b, b]) ?? 0
            let closed = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT case_id) FROM audit_events WHERE type = 'case.closed' AND day BETWEEN ? AND ? AND recorded_day <= ?\(only("case_id"))", arguments: [a, b, b]) ?? 0
            levels.append(["new in period", String(opened)])
            levels.append(["escalated in period", changes.first.flatMap { $0.isEmpty ? nil : $0 } ?? "0"])
            levels.append(["de-escalated in period", changes.count > 1 && !changes[1].isEmpty ? changes[1] : "0"])
            levels.append(["closed in period", String(closed)])
            sections.append(.init("3. Cases open at the end of the period by risk level, and movement in the period", ["level or movement", "cases"], levels))
            // 4
            let marks = try rows("SELECT kind, code, COUNT(DISTINCT case_id) FROM marks WHERE day BETWEEN ? AND ? AND \(Self.knownBy("marks"))\(only("case_id")) GROUP BY kind, code ORDER BY kind, COUNT(DISTINCT case_id) DESC, code", [a, b, b])
            sections.append(.init("4. Indicators and vulnerability factors noted in the period (children)", ["kind", "code", "label", "children"], marks.map { r in
                [r[0], r[1], (r[0] == "vulnerability" ? policy.vulnerabilities[r[1]] : policy.indicators[r[1]]?.label) ?? "", r[2]]
            }))
            // 5
            var demo: [String: Int] = [:]
            let active = try Row.fetchCursor(db, sql: """
                SELECT c.gender, c.birth_month, c.looked_after, c.learning_disability FROM cases c
                WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.case_id = c.case_id AND e.day BETWEEN ? AND ? AND e.recorded_day <= ?)\(only("c.case_id"))
                """, arguments: [a, b, b])
            while let r = try active.next() {
                demo["gender: " + ((r["gender"] as String?) ?? "not known").replacingOccurrences(of: "_", with: " "), default: 0] += 1
                demo["age band: " + AgeBand(birthMonth: r["birth_month"], on: end).label, default: 0] += 1
                if (r["looked_after"] as Int64?) == 1 { demo["looked after", default: 0] += 1 }
                if (r["learning_disability"] as Int64?) == 1 { demo["learning disability", default: 0] += 1 }
            }
            sections.append(.init("5. Children with activity in the period", ["group", "children"], demo.keys.sorted().map { [$0, String(demo[$0]!)] }))
            // 6
            let hours = Int64(policy.deadlines.rhiOfferHours) * 3600
            var offeredInTime = 0
            let episodes = try Row.fetchAll(db, sql: """
                SELECT m.case_id, m.returned_at, m.rhi_offered_at, m.rhi_completed_at FROM missing_episodes m JOIN audit_events e ON e.seq = m.start_seq
                WHERE e.day BETWEEN ? AND ? AND e.recorded_day <= ?\(only("m.case_id"))
                """, arguments: [a, b, b])
            for e in episodes {
                if let back = (e["returned_at"] as String?).flatMap(Timestamp.init(canonical:)), let offer = (e["rhi_offered_at"] as String?).flatMap(Timestamp.init(canonical:)),
                    offer.seconds - back.seconds <= hours { offeredInTime += 1 }
            }
            sections.append(.init("6. Missing episodes started in the period", ["episodes", "children", "returned", "RHI offered", "RHI completed", "RHI offered within \(policy.deadlines.rhiOfferHours) h of return"], [[
                String(episodes.count), String(Set(episodes.map { $0["case_id"] as String }).count),
                String(episodes.filter { $0["returned_at"] != nil }.count), String(episodes.filter { $0["rhi_offered_at"] != nil }.count),
                String(episodes.filter { $0["rhi_completed_at"] != nil }.count), String(offeredInTime),
            ]]))
            // 7
            let linked = try rows(Self.asOf + "SELECT link_kind, target, COUNT(DISTINCT case_id), GROUP_CONCAT(DISTINCT case_id) FROM links_at "
                                  + "WHERE link_kind <> 'other_case'\(only("case_id")) GROUP BY link_kind, target HAVING COUNT(DISTINCT case_id) >= 2 ORDER BY 3 DESC, 1, 2", [b])
            sections.append(.init("7. Locations, vehicles and persons of concern linked to two or more children (links known at the end of the period)",
                                  ["kind", "reference", "children", "cases"],
                                  linked.map { [$0[0].replacingOccurrences(of: "_", with: " "), $0[1], $0[2], Report.capped($0[3].split(separator: ",").map(String.init).sorted())] }))
            let clusters = try Self.clusters(db, upTo: b, chosen: chosen)
            var clusterSection = Report.Section("8. Clusters of linked children (two or more)", ["cluster", "children", "cases"],
                                                clusters.map { [$0[0], $0[1], Report.capped($0[2].split(separator: " ").map(String.init))] })
            clusterSection.graphs = try Self.networkGraphs(db, upTo: b, clusters: clusters.prefix(Self.drawnClusters).map { $0[2].split(separator: " ").map(String.init) })
            sections.append(clusterSection)
            // 8
            var tactics = try rows("SELECT tactic, status, COUNT(*) FROM disruptions WHERE day BETWEEN ? AND ? AND \(Self.knownBy("disruptions"))\(only("case_id")) GROUP BY tactic, status ORDER BY CAST(SUBSTR(tactic, 2) AS INTEGER), status", [a, b, b])
            let positive = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM disruptions WHERE day BETWEEN ? AND ? AND positive = 1 AND \(Self.knownBy("disruptions"))\(only("case_id"))", arguments: [a, b, b]) ?? 0
            tactics = tactics.map { [$0[0], policy.disruptions[$0[0]] ?? "", $0[1].replacingOccurrences(of: "_", with: " "), $0[2]] }
            tactics.append(["positive interventions", "", "", String(positive)])
            sections.append(.init("9. Disruption tactics recorded in the period", ["tactic", "label", "status", "count"], tactics))
            // 9
            sections.append(.init("10. Outcomes in the period", ["decision", "label", "outcome", "outcome label", "count"],
                                  try rows("SELECT type, COALESCE(outcome, ''), COUNT(*) FROM decisions WHERE day BETWEEN ? AND ? AND \(Self.knownBy("decisions"))\(only("case_id")) GROUP BY type, outcome ORDER BY type, outcome", [a, b, b])
                                    .map { [$0[0], CodeLabels.type($0[0]), $0[1], $0[1].isEmpty ? "" : CodeLabels.value($0[1]), $0[2]] }))
            // 10
            sections.append(.init("11. Recording-practice exceptions (safeguard report practice lists them all)", ["rule", "cases", "case list"],
                                  tally.rules.map { [$0, String(tally.cases[$0] ?? 0), Report.capped(tally.first[$0] ?? [], 10, of: tally.cases[$0] ?? 0)] }))
            // 11
            let horizon = Day(iso: Age.shiftMonths(end.description, by: policy.deadlines.transitionMonthsBefore18)) ?? end
            var cohort: [[String]] = []
            let open = try Row.fetchCursor(db, sql: Self.asOf + "SELECT c.case_id, c.birth_month FROM open_at o JOIN cases c ON c.case_id = o.case_id WHERE c.birth_month IS NOT NULL\(only("o.case_id")) ORDER BY c.case_id", arguments: [b])
            while let r = try open.next() {
                if let e = Age.eighteenth(birthMonth: r["birth_month"]), e > end, e <= horizon {
                    cohort.append([r["case_id"], e.description])
                }
            }
            sections.append(.init("12. Transition cohort: turning 18 within \(policy.deadlines.transitionMonthsBefore18) months", ["case", "18 from"], cohort))
            // 12
            sections.append(.init("13. MASE actions by strand", ["strand", "set in period", "done in period", "overdue at period end"], try rows("""
                SELECT strand, IFNULL(SUM(set_day BETWEEN ?1 AND ?2), 0), IFNULL(SUM(done_day BETWEEN ?1 AND ?2), 0), IFNULL(SUM(due_date < ?2 AND (done_day IS NULL OR done_day > ?2)), 0)
                FROM actions WHERE 1\(only("case_id")) GROUP BY strand ORDER BY strand
                """, [a, b])))
            // 14: where the practitioner's judgement differs from the tool's suggestion (DOMAIN.md: the ledger reports it).
            let divergent = try rows("""
                SELECT suggested_level, practitioner_level, COUNT(*), COUNT(DISTINCT case_id), GROUP_CONCAT(DISTINCT case_id) FROM screenings
                WHERE day BETWEEN ? AND ? AND suggested_level <> practitioner_level AND \(Self.knownBy("screenings"))\(only("case_id")) GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
                """, [a, b, b])
            sections.append(.init("14. Screenings in the period where the practitioner's level differs from the suggested one",
                                  ["suggested", "practitioner's", "screenings", "children", "cases"],
                                  divergent.map { [$0[0], $0[1], $0[2], $0[3], Report.capped($0[4].split(separator: ",").map(String.init).sorted())] }))
            // 15: which cases MASE discussed: at its meetings in the period, or (when none was) at the last before it.
            let meetings = try rows("""
                SELECT m.ref, m.day, COUNT(c.case_id), GROUP_CONCAT(c.case_id) FROM meetings m JOIN meeting_cases c ON c.seq = m.seq
                WHERE m.type = 'meeting.mase'\(only("c.case_id")) AND (m.day BETWEEN ?1 AND ?2
                  OR m.day = (SELECT MAX(day) FROM meetings WHERE type = 'meeting.mase' AND day < ?1 AND NOT EXISTS (
                    SELECT 1 FROM meetings WHERE type = 'meeting.mase' AND day BETWEEN ?1 AND ?2)))
                GROUP BY m.seq ORDER BY m.day, m.ref
                """, [a, b])
            sections.append(.init("15. Cases discussed at MASE (meetings in the period, or the last before it)", ["meeting", "day", "cases", "case list"],
                                  meetings.map { [$0[0], $0[1], $0[2], Report.capped($0[3].split(separator: ",").map(String.init).sorted(), 12)] }))
            // 16: who is to act on the exceptions (the agency a rule names, or any working with the child).
            let agencies = policy.permissions.agencies
            sections.append(.init("16. Recording-practice exceptions by rule and the agency to act (cases)", ["rule"] + agencies + ["any agency", "cases"],
                                  tally.rules.map { rule in
                                      [rule] + (agencies + [""]).map { String(tally.byAgency[rule + "\u{0}" + $0] ?? 0) } + [String(tally.cases[rule] ?? 0)]
                                  }))
            // 17
            sections.append(trend)
        }
        let scope = filter.phrase.isEmpty ? "" : " (\(filter.phrase))"
        var report = Report(title: "MASE statistics, \(start.spoken) to \(end.spoken)\(scope)", builtFrom: try builtFrom(), sections: sections)
        let late = try read(chosen) { db in
            try Row.fetchOne(db, sql: """
                SELECT COUNT(*), COUNT(DISTINCT case_id) FROM audit_events WHERE case_id IS NOT NULL AND day BETWEEN ? AND ? AND recorded_day > ?\(chosen.and("case_id"))
                """, arguments: [a, b, b]).map { ($0[0] as Int, $0[1] as Int) } ?? (0, 0)
        }
        report.notes = ["Every figure is as known at the end of \(end.spoken): from what had been recorded by then."
                        + (late.0 == 0 ? "" : " \(late.0) record\(late.0 == 1 ? "" : "s") of events in the period (about \(late.1) case\(late.1 == 1 ? "" : "s")) "
                           + "\(late.0 == 1 ? "was" : "were") recorded after it and \(late.0 == 1 ? "is" : "are") not counted, however late this report is made "
                           + "(report practice shows late recording, R12).")]
        if !filter.isEmpty { report.notes.append(Self.filterNote(filter, chosen: chosen)) }
        report.headline = Self.headline(sections, exceptionCases: tally.anyCases)
        return report
    }

    /// The figures a MASE page shows first, each read from its section.
    static func headline(_ sections: [Report.Section], exceptionCases: Int) -> [(label: String, value: String)] {
        func section(_ n: Int) -> Report.Section? { sections.first { $0.title.hasPrefix("\(n).") } }
        func column(_ s: Report.Section?, _ name: String) -> [String] {
            guard let s, let i = s.columns.firstIndex(of: name) else { return [] }
            return s.rows.map { $0[i] }
        }
        func total(_ values: [String]) -> String { String(values.compactMap { Int($0) }.reduce(0, +)) }
        let movement = section(3).map { s in Dictionary(s.rows.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a }) } ?? [:]
        let open = movement.filter { !$0.key.hasSuffix(" in period") }.map(\.value)
        return [
            ("Referrals received", total(column(section(1), "count"))),
            ("Cases open at the end", total(open)),
            ("New in the period", movement["new in period"] ?? "0"),
            ("Escalated", movement["escalated in period"] ?? "0"),
            ("De-escalated", movement["de-escalated in period"] ?? "0"),
            ("Closed", movement["closed in period"] ?? "0"),
            ("Missing episodes", total(column(section(6), "episodes"))),
            ("Cases with practice exceptions", String(exceptionCases)),
        ]
    }

    /// How many of the largest clusters the page draws, and the most children a drawing holds.
    static let drawnClusters = 4
    static let drawnChildren = 60

    /// The largest clusters as graphs: each child (by case id) joined to the locations, vehicles
    /// and persons of concern it shares with another child of the cluster, and to the cases it is
    /// linked to directly.
    static func networkGraphs(_ db: Database, upTo day: String, clusters: [[String]]) throws -> [Report.Graph] {
        let wanted = Set(clusters.filter { $0.count <= drawnChildren }.flatMap { $0 })
        var links: [String: [(kind: String, target: String)]] = [:]
        let rows = try Row.fetchCursor(db, sql: Self.asOf + "SELECT case_id, link_kind, target FROM links_at ORDER BY case_id, link_kind, target", arguments: [day])
        while let r = try rows.next() {
            let c: String = r["case_id"]
            if wanted.contains(c) { links[c, default: []].append((r["link_kind"], r["target"])) }
        }
        var graphs: [Report.Graph] = []
        for (n, members) in clusters.enumerated() where members.count <= drawnChildren {
            let inCluster = Set(members)
            var sharedBy: [String: Set<String>] = [:]
            var kinds: [String: String] = [:]
            for c in members {
                for l in links[c] ?? [] where l.kind != "other_case" {
                    sharedBy[l.target, default: []].insert(c)
                    kinds[l.target] = l.kind
                }
            }
            let entities = sharedBy.filter { $0.value.count >= 2 }.keys.sorted()
            var nodes = entities.map { Report.Graph.Node(id: $0, label: $0, kind: kinds[$0]!.replacingOccurrences(of: "_", with: " ")) }
            let entityIndex = Dictionary(uniqueKeysWithValues: entities.enumerated().map { ($0.element, $0.offset) })
            // Children in the order of their first shared entity, so that edges cross less.
            let children = members.sorted { x, y in
                let fx = entities.firstIndex { sharedBy[$0]!.contains(x) } ?? Int.max, fy = entities.firstIndex { sharedBy[$0]!.contains(y) } ?? Int.max
                return fx != fy ? fx < fy : x < y
            }
            let childIndex = Dictionary(uniqueKeysWithValues: children.enumerated().map { ($0.element, entities.count + $0.offset) })
            nodes += children.map { Report.Graph.Node(id: $0, label: String($0.split(separator: "-").last ?? Substring($0)), kind: "child") }
            var edges: [(Int, Int)] = []
            for c in children {
                for l in links[c] ?? [] {
                    if l.kind == "other_case" {
                        if inCluster.contains(l.target), let to = childIndex[l.target] { edges.append((childIndex[c]!, to)) }
                    } else if let e = entityIndex[l.target] {
                        edges.append((e, childIndex[c]!))
                    }
                }
            }
            let through = entities.count == 1 ? "1 location, vehicle or person of concern" : "\(entities.count) locations, vehicles and persons of concern"
            graphs.append(Report.Graph(title: "Cluster \(n + 1): \(members.count) children, linked through \(through) they share", nodes: nodes, edges: edges))
        }
        return graphs
    }

    /// The row of `table` was recorded by the day given as the next argument: a lookup of its
    /// own entry by seq (not a set of every seq recorded by then, which grows with the log).
    static func knownBy(_ table: String) -> String {
        "EXISTS (SELECT 1 FROM audit_events k WHERE k.seq = \(table).seq AND k.recorded_day <= ?)"
    }

    static func levelRank(_ column: String) -> String {
        "(CASE \(column) WHEN 'none' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'significant' THEN 3 END)"
    }

    /// Connected components of children linked through shared venues, vehicles, persons or
    /// direct case links (union-find over the links).
    static func clusters(_ db: Database, upTo day: String, chosen: Chosen = .every) throws -> [[String]] {
        var parent: [String: String] = [:]
        func find(_ x: String) -> String {
            var r = x
            while let p = parent[r], p != r { r = p }
            var y = x
            while let p = parent[y], p != r { parent[y] = r; y = p }
            return r
        }
        func union(_ x: String, _ y: String) {
            if parent[x] == nil { parent[x] = x }
            if parent[y] == nil { parent[y] = y }
            let (rx, ry) = (find(x), find(y))
            if rx != ry { parent[max(rx, ry)] = min(rx, ry) }
        }
        let links = try Row.fetchCursor(db, sql: Self.asOf + "SELECT case_id, link_kind, target FROM links_at ORDER BY link_kind, target, case_id", arguments: [day])
        var firstByTarget: [String: String] = [:]
        while let r = try links.next() {
            let c: String = r["case_id"], kind: String = r["link_kind"], target: String = r["target"]
            guard chosen.contains(c) else { continue }
            if kind == "other_case" { if chosen.contains(target) { union(c, target) }; continue }
            let key = kind + "\u{0}" + target
            if let first = firstByTarget[key] { union(first, c) } else { firstByTarget[key] = c; if parent[c] == nil { parent[c] = c } }
        }
        var groups: [String: [String]] = [:]
        for c in parent.keys { groups[find(c), default: []].append(c) }
        let clusters: [[String]] = groups.values.filter { $0.count >= 2 }.map { $0.sorted() }.sorted { x, y in
            x.count != y.count ? x.count > y.count : x[0] < y[0]
        }
        var out: [[String]] = []
        for (n, members) in clusters.enumerated() {
            out.append([String(n + 1), String(members.count), members.joined(separator: " ")])
        }
        return out
    }
}
