import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

extension ProjectionEngine {
    /// SQL common table expressions for "as known on day ?1": `known` (events recorded by then),
    /// `open_at` (cases whose last opening or closing recorded by then was an opening),
    /// `level_at` (each case's latest practitioner level by then) and `links_at`.
    static let asOf = """
        WITH known AS (SELECT * FROM audit_events WHERE recorded_day <= ?1),
        open_at AS (SELECT case_id FROM (SELECT case_id, type, ROW_NUMBER() OVER (PARTITION BY case_id ORDER BY seq DESC) AS rn
                    FROM known WHERE type IN ('case.opened', 'case.closed')) WHERE rn = 1 AND type = 'case.opened'),
        level_at AS (SELECT case_id, practitioner_level FROM (SELECT s.case_id, s.practitioner_level,
                     ROW_NUMBER() OVER (PARTITION BY s.case_id ORDER BY s.seq DESC) AS rn FROM screenings s JOIN known k ON k.seq = s.seq) WHERE rn = 1),
        links_at AS (SELECT l.* FROM case_links l JOIN known k ON k.seq = l.first_seq)
        """

    /// The provenance lines of every report.
    func builtFrom() throws -> [(String, String)] {
        let s = try status()
        guard let first = s.first else { throw Failure.notBuilt }
        var out = [("log size", String(first.events)), ("head hash", first.headHash)]
        // The tree head of that prefix, as the verifier recorded it, and the log's checkpoint of
        // it if the file holds one signed by the checkpoint key the log names there: the figures
        // can then be rebuilt from a prefix anyone can check against a signed checkpoint.
        if let state = try keptState(), state.head.size == first.events {
            out.append(("tree root", Base64.encode(state.head.root)))
            let named = try Self.logKey(in: state, forSize: first.events)
            let signed = named.flatMap { key in
                NoteVerifier(name: state.head.origin, publicKey: key).flatMap { verifier in
                    (try? ledger.checkpoints())?.first { stored in
                        stored.size == first.events && stored.root == state.head.root
                            && (try? Checkpoint.open(stored.note, log: verifier)).map { $0.checkpoint.root == state.head.root } == true
                    }
                }
            }
            if signed != nil {
                out.append(("checkpoint", "\(state.head.origin) \(first.events) \(Base64.encode(state.head.root)), signed by the log's checkpoint key \(named!.keyID)"))
            } else {
                out.append(("checkpoint", "none at this size signed by the log's checkpoint key: run 'safeguard checkpoint' before 'project update' to have one"))
            }
        }
        if let policy = try? policyAtHead() { out.append(("policy", "\(policy.name) version \(policy.version): \(policy.levelForRules.phrase)")) }
        for p in s { out.append(("\(p.name) digest", p.digest)) }
        if first.behind > 0 { out.append(("note", "\(first.behind) newer events are not included: run 'safeguard project update'")) }
        return out
    }

    /// The last day anything was recorded in the read models (a report for a day before it is
    /// worked out from what had been recorded by then).
    public func lastRecordedDay() throws -> Day {
        try read { db in
            let t = try String.fetchOne(db, sql: "SELECT recorded_at FROM audit_events ORDER BY seq DESC LIMIT 1")
            return t.flatMap(Timestamp.init(canonical:)).map(Day.init(london:)) ?? Day(number: 0)
        }
    }

    /// Every recording-practice exception on `asOf`, by rule then case. Reports are as of the
    /// day asked for (by default the analyst's today), never of the last row's date: one
    /// record dated in the past must not turn the whole partnership's report back in time.
    /// A witness's cosignature on a checkpoint of `size` events at `time`: every one of them was
    /// recorded by then, whatever its `recorded_at` says (docs/FORMAT.md §6.4).
    public struct WitnessedBound: Sendable {
        public let size: Int64
        public let time: Timestamp
        public let witness: String
        public init(size: Int64, time: Timestamp, witness: String) { self.size = size; self.time = time; self.witness = witness }
    }

    /// With a `filter`, the exceptions of the children it chooses.
    public func practiceExceptions(on asOf: Day, witnessed: [WitnessedBound] = [], filter: ReportFilter = ReportFilter()) throws -> [PracticeException] {
        try practiceExceptions(on: asOf, witnessed: witnessed, chosen: try chosen(filter, on: asOf))
    }

    func practiceExceptions(on asOf: Day, witnessed: [WitnessedBound], chosen: Chosen) throws -> [PracticeException] {
        let policy = try policyAtHead()
        let cal = policy.calendar
        // Every rule is the catalogue's `CasePractice`, as `case next` and `record` apply it,
        // over the verified events known on the day.
        var out: [PracticeException] = []
        try mapCasePractice(knownOn: [asOf], chosen: chosen, { _, practice in practice.exceptions(on: asOf) }, collect: { _, perDay in out += perDay[0] ?? [] })
        try read(chosen) { db in
            // R12 with time proven, not claimed: each event is bound by the earliest witnessed
            // checkpoint covering it. An event whose recording time says it was on time, but whose
            // bound is later than the policy allows, is not shown to have been recorded in time.
            // Each event's bound is the earliest time among the checkpoints covering it.
            var bounds = witnessed.sorted { ($0.size, $0.time) < ($1.size, $1.time) }
            for i in bounds.indices.reversed().dropFirst() where bounds[i + 1].time < bounds[i].time { bounds[i] = WitnessedBound(size: bounds[i].size, time: bounds[i + 1].time, witness: bounds[i + 1].witness) }
            var previous: Int64 = 0
            for bound in bounds where bound.size > previous {
                defer { previous = bound.size }
                let boundDay = Day(london: bound.time)
                guard boundDay <= asOf else { continue }
                // Only events that happened more than N calendar days before the bound can be N working days before it.
                let cutoff = Timestamp(seconds: bound.time.seconds - Int64(policy.deadlines.lateRecording) * 86_400)
                let candidates = try Row.fetchAll(db, sql: """
                    SELECT seq, case_id, type, occurred_at, agency FROM audit_events
                    WHERE case_id IS NOT NULL AND seq >= ? AND seq < ? AND occurred_at < ? AND (delay_working_days IS NULL OR delay_working_days <= ?)\(chosen.and("case_id")) ORDER BY seq
                    """, arguments: [previous, bound.size, cutoff.description, policy.deadlines.lateRecording])
                for r in candidates {
                    guard let occurred = Timestamp(canonical: r["occurred_at"]) else { continue }
                    let days = cal.workingDays(from: Day(london: occurred), to: boundDay)
                    guard days > policy.deadlines.lateRecording else { continue }
                    out.append(PracticeException(rule: "R12", caseID: r["case_id"],
                                                 what: "\(r["type"] as String) at seq \(r["seq"] as Int64) not shown recorded in time: the first witnessed checkpoint covering it "
                                                     + "(cosigned by \(bound.witness) at \(bound.time)) is \(days) working days after it happened",
                                                 since: String((r["occurred_at"] as String).prefix(10)), overdue: nil, agency: r["agency"]))
                }
            }
        }
        return out.sorted(by: PracticeException.ordered)
    }

    /// How many days of readings the practice report lists.
    static let readingsDays: Int64 = 28

    /// Who read which case's sealed details, when and why, in the 28 days to `asOf` (the
    /// `access.consulted` events, docs/PRIVACY.md): for the panel to see that each reading had
    /// a purpose and an entitled reader.
    func readings(on asOf: Day, chosen: Chosen) throws -> Report.Section {
        let from = asOf.adding(days: -(Self.readingsDays - 1))
        let rows = try read { db in
            chosen.register(in: db)
            return try Row.fetchAll(db, sql: """
                SELECT recorded_at, case_id, agency, practitioner, purpose, records FROM access_register
                WHERE recorded_at >= ? AND recorded_at < ?\(chosen.and("case_id")) ORDER BY seq
                """, arguments: [from.adding(days: -1).description, asOf.adding(days: 2).description])
        }
        var section = Report.Section("Readings of sealed details, \(from.spoken) to \(asOf.spoken)",
                                     ["recorded", "case", "agency", "practitioner", "purpose", "records read"])
        for r in rows {
            guard let at = Timestamp(canonical: r["recorded_at"]), (from...asOf).contains(Day(london: at)) else { continue }
            section.rows.append([r["recorded_at"], r["case_id"], r["agency"], r["practitioner"], (r["purpose"] as String?)?.replacingOccurrences(of: "_", with: " ") ?? "",
                                 String(r["records"] as Int64)])
        }
        return section
    }

    /// The recording-practice report: each exception with case, rule, what is missing, since
    /// when and how overdue; and the readings of sealed details of the last 28 days.
    public func practiceReport(on asOf: Day, witnessed: [WitnessedBound] = [], filter: ReportFilter = ReportFilter()) throws -> Report {
        let chosen = try self.chosen(filter, on: asOf)
        let list = try practiceExceptions(on: asOf, witnessed: witnessed, chosen: chosen)
        var counts = Report.Section("Exceptions by rule", ["rule", "cases", "exceptions"])
        for rule in (1...15).map({ "R\($0)" }) {
            let l = list.filter { $0.rule == rule }
            counts.rows.append([rule, String(Set(l.map(\.caseID)).count), String(l.count)])
        }
        let detail = Report.Section("Exceptions", ["rule", "case", "what is missing", "since", "working days overdue", "agency to act"],
                                    list.map { [$0.rule, $0.caseID, $0.what, $0.since, $0.overdue.map(String.init) ?? "", $0.agency ?? "any"] })
        var report = Report(title: "Recording-practice exceptions as of \(asOf.spoken)" + (filter.isEmpty ? "" : " (\(filter.phrase))"),
                            builtFrom: try builtFrom(), sections: [counts, detail, try readings(on: asOf, chosen: chosen)])
        if !filter.isEmpty { report.notes.append(Self.filterNote(filter, chosen: chosen)) }
        return report
    }
}
