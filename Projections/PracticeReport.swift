import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

/// One recording-practice exception (DOMAIN.md R1–R15).
public struct PracticeException: Equatable, Sendable {
    public let rule: String
    public let caseID: String
    public let what: String
    /// The date it became due, or the date of the record concerned.
    public let since: String
    /// Working days overdue on the report's day, when it has a due date.
    public let overdue: Int?
}

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

    public func practiceExceptions(on asOf: Day, witnessed: [WitnessedBound] = []) throws -> [PracticeException] {
        let policy = try policyAtHead()
        let cal = policy.calendar
        var out: [PracticeException] = []
        // For a day before the last recording, the per-case rules are worked out again from what
        // had been recorded by that day; otherwise the stored steps are current.
        var stepRows: [(caseID: String, rule: String, what: String, due: Day?)] = []
        var lateRows: [(caseID: String, step: LateStep)] = []
        if asOf < (try lastRecordedDay()) {
            try forEachVerifiedCase { id, envelopes in
                let events = envelopes.filter { Day(london: $0.recordedAt) <= asOf }.map(CaseEvent.init)
                guard !events.isEmpty else { return }
                for s in NextSteps.forCase(events, policy: policy, today: nil) { stepRows.append((id, s.rule, s.what, s.due)) }
                for l in NextSteps.lateSteps(events, policy: policy) { lateRows.append((id, l)) }
            }
        } else {
            try read { db in
                for r in try Row.fetchAll(db, sql: "SELECT case_id, rule, what, due FROM case_next_steps ORDER BY rule, case_id, what") {
                    stepRows.append((r["case_id"], r["rule"], r["what"], (r["due"] as String?).flatMap(Day.init(iso:))))
                }
                for r in try Row.fetchAll(db, sql: "SELECT case_id, rule, what, due, done FROM case_late_steps ORDER BY rule, case_id, due") {
                    if let due = Day(iso: r["due"]), let done = Day(iso: r["done"]) {
                        lateRows.append((r["case_id"], LateStep(rule: r["rule"], what: r["what"], due: due, done: done)))
                    }
                }
            }
        }
        try read { db in
            // Rules worked out per case from its events (R1-R4, R7, R8, R10, R13-R15).
            for r in stepRows where r.rule != "R7" {  // R7 is worked out across cases below
                let due = r.due
                let rule = r.rule
                if rule == "R10" {
                    // An exception from six months before 18 until a plan or referral is recorded.
                    guard let d = due, let start = Day(iso: NextSteps.shiftMonths(d.description, by: -policy.deadlines.transitionMonthsBefore18)), asOf >= start else { continue }
                    out.append(PracticeException(rule: rule, caseID: r.caseID, what: r.what, since: start.description,
                                                 overdue: asOf > d ? cal.workingDays(from: d, to: asOf) : nil))
                    continue
                }
                if let d = due, d >= asOf { continue }  // not yet due: not an exception
                if rule == "R8", due == nil { continue }  // still missing: nothing to record yet
                out.append(PracticeException(rule: rule, caseID: r.caseID, what: r.what, since: due?.description ?? "",
                                             overdue: due.map { cal.workingDays(from: $0, to: asOf) }))
            }
            // R1, R2, R3, R8 done, but after the deadline (judged by the report's day).
            for (caseID, l) in lateRows where l.done <= asOf {
                out.append(PracticeException(rule: l.rule, caseID: caseID, what: "\(l.what) (on \(l.done.spoken))",
                                             since: l.due.description, overdue: cal.workingDays(from: l.due, to: l.done)))
            }
            // R7: each agency at a MASE meeting acknowledges its decisions as recorded on its own
            // system, whichever case the acknowledgement was recorded under; listed for every
            // case discussed.
            let meetings = try Row.fetchAll(db, sql: Self.asOf + """
                SELECT m.seq, m.event_id, m.day, m.ref, m.attendees FROM meetings m JOIN known k ON k.seq = m.seq
                WHERE m.type = 'meeting.mase' ORDER BY m.seq
                """, arguments: [asOf.description])
            var acks: [String: Set<String>] = [:]
            for a in try Row.fetchAll(db, sql: """
                SELECT a.meeting_event_id, a.agency FROM acknowledgements a JOIN audit_events k ON k.seq = a.seq
                WHERE k.recorded_day <= ? AND a.recorded_on_own_system = 1
                """, arguments: [asOf.description]) {
                acks[a[0] as String, default: []].insert(a[1])
            }
            for m in meetings {
                let acked = acks[m["event_id"] as String] ?? []
                let missing = (m["attendees"] as String).split(separator: ",").map(String.init).filter { $0 != "partnership" && !acked.contains($0) }
                guard !missing.isEmpty else { continue }
                for c in try String.fetchAll(db, sql: "SELECT case_id FROM meeting_cases WHERE seq = ? ORDER BY case_id", arguments: [m["seq"] as Int64]) {
                    for agency in missing {
                        out.append(PracticeException(rule: "R7", caseID: c, what: "\(agency) has not acknowledged the decisions of \(m["ref"] as String) as recorded on its own system",
                                                     since: m["day"], overdue: nil))
                    }
                }
            }
            // R6: police and CSC should hold the same open cases.
            let r6 = try Row.fetchAll(db, sql: Self.asOf + """
                SELECT o.case_id, SUM(k.agency = 'police') AS police, SUM(k.agency = 'csc') AS csc FROM open_at o
                JOIN known k ON k.case_id = o.case_id GROUP BY o.case_id
                HAVING (police > 0) <> (csc > 0) ORDER BY o.case_id
                """, arguments: [asOf.description])
            for r in r6 {
                let missing = (r["police"] as Int64) > 0 ? "children's social care" : "police"
                out.append(PracticeException(rule: "R6", caseID: r["case_id"], what: "known to one of police and CSC only: nothing recorded by \(missing)", since: "", overdue: nil))
            }
            // R9: low-risk (or unscreened) open cases linked to venues, vehicles or people also linked to other cases.
            let r9 = try Row.fetchAll(db, sql: Self.asOf + """
                SELECT DISTINCT o.case_id, l.link_kind, l.target FROM open_at o JOIN links_at l ON l.case_id = o.case_id
                LEFT JOIN level_at v ON v.case_id = o.case_id
                WHERE COALESCE(v.practitioner_level, 'none') IN ('none', 'low')
                  AND (l.link_kind = 'other_case' OR EXISTS (SELECT 1 FROM links_at x WHERE x.link_kind = l.link_kind AND x.target = l.target AND x.case_id <> l.case_id))
                ORDER BY o.case_id, l.link_kind, l.target
                """, arguments: [asOf.description])
            for r in r9 {
                out.append(PracticeException(rule: "R9", caseID: r["case_id"], what: "low-risk case linked (\(r["link_kind"] as String) \(r["target"] as String)) to other cases: review its level", since: "", overdue: nil))
            }
            // R5: a case discussed at MASE needs a MASH referral, a strategy decision, a police
            // CSE CRIS number and a MASE referral first (MASE never takes a first referral).
            let r5 = try Row.fetchAll(db, sql: """
                SELECT DISTINCT mc.case_id, m.day, m.ref,
                  EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = mc.case_id AND r.seq < m.seq AND r.type IN ('referral.mash_written', 'referral.mash_telephone')) AS mash,
                  EXISTS (SELECT 1 FROM decisions d WHERE d.case_id = mc.case_id AND d.seq < m.seq AND d.type = 'decision.strategy') AS strategy,
                  COALESCE((SELECT police_cris FROM cases c WHERE c.case_id = mc.case_id), 0) AS cris,
                  EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = mc.case_id AND r.seq < m.seq AND r.type = 'referral.mase') AS mase
                FROM meeting_cases mc JOIN meetings m ON m.seq = mc.seq WHERE m.type = 'meeting.mase' AND m.day <= ?
                ORDER BY mc.case_id, m.day
                """, arguments: [asOf.description])
            for r in r5 {
                var missing: [String] = []
                if (r["mash"] as Int64) == 0 { missing.append("a MASH referral") }
                if (r["strategy"] as Int64) == 0 { missing.append("a strategy decision") }
                if (r["cris"] as Int64) == 0 { missing.append("a police CSE CRIS number") }
                if (r["mase"] as Int64) == 0 { missing.append("a MASE referral") }
                guard !missing.isEmpty else { continue }
                out.append(PracticeException(rule: "R5", caseID: r["case_id"], what: "discussed at \(r["ref"] as String) without " + missing.joined(separator: ", "),
                                             since: r["day"], overdue: nil))
            }
            // R12: events recorded (by the report's day) more than the policy's working days after they happened.
            let lateRecords = try Row.fetchAll(db, sql: """
                SELECT seq, case_id, type, occurred_at, delay_working_days FROM audit_events
                WHERE case_id IS NOT NULL AND delay_working_days > ? AND recorded_day <= ? ORDER BY seq
                """, arguments: [policy.deadlines.lateRecording, asOf.description])
            for r in lateRecords {
                out.append(PracticeException(rule: "R12", caseID: r["case_id"], what: "\(r["type"] as String) at seq \(r["seq"] as Int64) recorded \(r["delay_working_days"] as Int64) working days after it happened",
                                             since: String((r["occurred_at"] as String).prefix(10)), overdue: nil))
            }
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
                    SELECT seq, case_id, type, occurred_at FROM audit_events
                    WHERE case_id IS NOT NULL AND seq >= ? AND seq < ? AND occurred_at < ? AND (delay_working_days IS NULL OR delay_working_days <= ?) ORDER BY seq
                    """, arguments: [previous, bound.size, cutoff.description, policy.deadlines.lateRecording])
                for r in candidates {
                    guard let occurred = Timestamp(canonical: r["occurred_at"]) else { continue }
                    let days = cal.workingDays(from: Day(london: occurred), to: boundDay)
                    guard days > policy.deadlines.lateRecording else { continue }
                    out.append(PracticeException(rule: "R12", caseID: r["case_id"],
                                                 what: "\(r["type"] as String) at seq \(r["seq"] as Int64) not shown recorded in time: the first witnessed checkpoint covering it "
                                                     + "(cosigned by \(bound.witness) at \(bound.time)) is \(days) working days after it happened",
                                                 since: String((r["occurred_at"] as String).prefix(10)), overdue: nil))
                }
            }
        }
        let order = (1...15).map { "R\($0)" }
        return out.sorted { (order.firstIndex(of: $0.rule) ?? 99, $0.caseID) < (order.firstIndex(of: $1.rule) ?? 99, $1.caseID) }
    }

    /// The recording-practice report: each exception with case, rule, what is missing, since
    /// when and how overdue.
    public func practiceReport(on asOf: Day, witnessed: [WitnessedBound] = []) throws -> Report {
        let list = try practiceExceptions(on: asOf, witnessed: witnessed)
        var counts = Report.Section("Exceptions by rule", ["rule", "cases", "exceptions"])
        for rule in (1...15).map({ "R\($0)" }) {
            let l = list.filter { $0.rule == rule }
            counts.rows.append([rule, String(Set(l.map(\.caseID)).count), String(l.count)])
        }
        let detail = Report.Section("Exceptions", ["rule", "case", "what is missing", "since", "working days overdue"],
                                    list.map { [$0.rule, $0.caseID, $0.what, $0.since, $0.overdue.map(String.init) ?? ""] })
        return Report(title: "Recording-practice exceptions as of \(asOf.spoken)", builtFrom: try builtFrom(), sections: [counts, detail])
    }
}
