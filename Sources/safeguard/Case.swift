import ArgumentParser
import Foundation
import GRDB
import Projections
import SafeguardCatalogue
import SafeguardCore

extension Safeguard {
    struct Case: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Look at cases: list them, show one, or what it needs next.", subcommands: [List.self, Show.self, Next.self, Read.self])
    }
}

extension Safeguard.Case {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List cases from the case-state read model (run 'safeguard project rebuild' first).")
        @OptionGroup var ledger: LedgerOptions
        @Option(help: "open, closed or all.", completion: .list(["open", "closed", "all"])) var status = "open"
        @Option(help: "Only cases at this level (none, low, medium, significant; the practitioner's level).", completion: Choices.levels) var level: String?
        @Option(help: ArgumentHelp("Only cases this agency has recorded about.", valueName: "agency"), completion: Choices.agency) var agency: String?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard ["open", "closed", "all"].contains(status) else { throw ValidationError("--status must be open, closed or all") }
            if let level, RiskLevel(rawValue: level) == nil { throw ValidationError("--level must be none, low, medium or significant") }
        }

        func run() throws {
            let engine = try openProjections(ledger)
            let from = try provenance(engine, ["case_state"])
            var sql = """
                SELECT c.case_id, c.status, c.stage, c.practitioner_level, c.suggested_level, c.lead_agency, c.missing_now, c.events
                FROM cases c WHERE 1
                """
            var args: [(any DatabaseValueConvertible)?] = []
            if status != "all" { sql += " AND c.status = ?"; args.append(status) }
            if let level { sql += " AND c.practitioner_level = ?"; args.append(level) }
            if let agency { sql += " AND EXISTS (SELECT 1 FROM case_agencies a WHERE a.case_id = c.case_id AND a.agency = ?)"; args.append(agency) }
            sql += " ORDER BY c.case_id"
            if !output.json { print(from.text) }
            // The steps are the practice report's rules, worked out from the verified events.
            let today = Day(london: Clock.now())
            var steps: [String: Int] = [:]
            try engine.forEachCasePractice(knownOn: nil) { steps[$0.caseID] = $0.nextSteps(today: today).count }
            try engine.read { db in
                let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
                if !output.json {
                    print([padded("case", 16), padded("status", 7), padded("stage", 12), padded("level", 12), padded("lead", 12), "steps  missing now"].joined(separator: " "))
                }
                while let r = try rows.next() {
                    let count = steps[r["case_id"] as String] ?? 0
                    if output.json {
                        guard case .object(var o) = rowJSON(r) else { continue }
                        o["steps"] = .integer(Int64(count))
                        printJSON(.object(o))
                        continue
                    }
                    let level = (r["practitioner_level"] as String?) ?? "-"
                    print([padded(r["case_id"], 16), padded(r["status"], 7), padded(r["stage"], 12), padded(level, 12),
                           padded((r["lead_agency"] as String?) ?? "-", 12), padded(String(count), 6), String(r["missing_now"] as Int64)].joined(separator: " "))
                }
            }
        }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a case's sealed details through the log service; the reading is recorded first.",
            discussion: """
                For practitioners with no copy of the ledger (on one, 'safeguard case show CASE \
                --details' does the same). Your agency's copy of the case key is checked, then a \
                signed access.consulted event naming every sealed record of the case, with your \
                purpose, is recorded through the service; only then are the records fetched, each \
                checked against its entry signed by the log key, and opened on this machine. \
                'safeguard audit access' lists every reading.
                """)
        @Argument(help: ArgumentHelp("The case id.", valueName: "case")) var caseID: String
        @OptionGroup var server: ServerOptions
        @OptionGroup var consult: ConsultOptions
        @OptionGroup var output: OutputOptions
        func validate() throws { try checkCaseID(caseID, option: "case") }

        func run() throws {
            guard let client = try server.client() else {
                throw InputError("give the log service with --server URL (or $SAFEGUARD_SERVER); on a copy of the ledger use 'safeguard case show \(caseID) --details'")
            }
            let choices = ConsultOptions.purposes.map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", ")
            guard let purpose = consult.purpose?.replacingOccurrences(of: "-", with: "_") else {
                throw InputError("say why you read \(caseID)'s details with --purpose (\(choices)); the reading is recorded before they are opened")
            }
            guard let readerKey = consult.readerKey else { throw InputError("give your own key with --reader-key FILE, to sign the record of this reading") }
            guard let agencyKey = try consult.agency.load() else { throw InputError("give your agency's key with --agency-key FILE (or $SAFEGUARD_AGENCY_KEY)") }
            let pinned = try server.pinnedLogKey(), log = try client.log()
            server.warnIfNotPinned(pinned, named: log.logKey)
            let (reading, records) = try client.read(caseID, purpose: purpose, reader: try loadSigningKey(readerKey), agencyKey: agencyKey, logKey: pinned, log: log, now: Clock.now)
            FileHandle.standardError.write(Data("Recorded your reading of \(records.count) sealed records of \(caseID) (purpose \(purpose)) as seq \(reading.seq); 'safeguard audit access' lists every reading.\n".utf8))
            for (e, d) in records {
                let text = d.map { String(decoding: (try? CanonicalJSON.encode(.object($0))) ?? [], as: UTF8.self) } ?? "(sealed: your agency's copy of the key does not open it)"
                if output.json {
                    printJSON(.object(["seq": .integer(e.seq), "event_id": .string(e.eventID), "type": .string(e.type), "occurred_at": .string(e.occurredAt.description),
                               "agency": .string(e.actor.agency), "details": d.map { .object($0) } ?? .null]))
                } else {
                    print("seq \(e.seq)  \(e.occurredAt)  \(e.type)  \(e.actor.agency)")
                    print("    \(text)")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one case: its state, what the toolkit requires next, and its chronology.",
            discussion: """
                The chronology gives each record's coded facts in words (level and why, outcome, \
                indicators with their labels, who was told), with corrections beside what they \
                correct. Names and narrative stay in the details and are shown only with --details.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: ArgumentHelp("The case id.", valueName: "case")) var caseID: String
        @Flag(help: "Also show each record's details (names, narrative): only when you need to read them. Sealed details need --purpose, --reader-key and --agency-key, and the reading is recorded first.") var details = false
        @OptionGroup var consult: ConsultOptions
        func validate() throws { try checkCaseID(caseID, option: "case") }
        @OptionGroup var output: OutputOptions

        func run() throws {
            let engine = try openProjections(ledger)
            let from = try provenance(engine, ["case_state", "audit"])
            // The steps come from the events the read models were built from (verified), not from
            // whatever the file holds now.
            let policy = try engine.policyAtHead()
            let practice = try engine.practice(of: caseID, knownOn: nil)
            let steps = practice?.nextSteps(today: Day(london: Clock.now())) ?? [], actions = practice?.toolkitActions() ?? []
            let entries = try engine.verifiedEntries(of: caseID)
            var seqOf: [String: Int64] = [:]
            for (row, _) in entries { seqOf[row.eventID] = row.seq }
            var words: [Int64: String] = [:], detail: [Int64: String] = [:]
            for (row, envelope) in entries {
                words[row.seq] = EventWords.describe(type: envelope.type, facts: Facts(envelope.facts), policy: policy) { id in seqOf[id].map { "seq \($0)" } ?? String(id.prefix(8)) }
            }
            if details {
                for (seq, d) in try consult.details(of: entries.map(\.0), caseID: caseID, ledger: ledger) {
                    detail[seq] = String(decoding: try CanonicalJSON.encode(.object(d)), as: UTF8.self)
                }
                for (row, _) in entries where row.details?.isSealed == true && detail[row.seq] == nil { detail[row.seq] = "(sealed: your agency holds no key that opens it)" }
                if entries.contains(where: { $0.0.details == nil && $0.1.details.digest != nil }), let erased = try ledger.open(readOnly: true).erasure(of: caseID) {
                    for (row, envelope) in entries where row.details == nil && envelope.details.digest != nil && row.seq < erased.seq {
                        detail[row.seq] = "(erased on \(erased.recordedAt.prefix(10)) under the retention review at seq \(erased.seq))"
                    }
                }
            }
            let lateDays = policy.deadlines.lateRecording
            try engine.read { db in
                guard let state = try Row.fetchOne(db, sql: "SELECT * FROM cases WHERE case_id = ?", arguments: [caseID]) else {
                    throw InputError("no case \(caseID) in the read models: check the id, or run 'safeguard project update'")
                }
                let agencies = try String.fetchAll(db, sql: "SELECT agency FROM case_agencies WHERE case_id = ? ORDER BY first_seq", arguments: [caseID])
                let links = try Row.fetchAll(db, sql: "SELECT link_kind, target FROM case_links WHERE case_id = ? ORDER BY first_seq", arguments: [caseID])
                let timeline = try Row.fetchAll(db, sql: """
                    SELECT a.seq, a.occurred_at, a.recorded_at, a.type, a.agency, a.practitioner, a.key_id, a.delay_working_days,
                      (SELECT group_concat(c.kind || ' at seq ' || c.seq, '; ') FROM corrections c WHERE c.corrects_seq = a.seq) AS corrected_by
                    FROM audit_events a WHERE a.case_id = ? ORDER BY a.seq
                    """, arguments: [caseID])
                if output.json {
                    printJSON(.object(["built_from": from.json, "state": rowJSON(state), "agencies": .array(agencies.map { .string($0) }),
                                       "links": .array(links.map(rowJSON)), "next_steps": .array(steps.map(CaseQueries.json)),
                                       "toolkit_actions": .array(actions.map(CaseQueries.json)),
                                       "timeline": .array(timeline.map { r in
                                           var o = rowJSON(r).objectValue ?? [:]
                                           let seq = r["seq"] as Int64
                                           o["in_words"] = .string(words[seq] ?? "")
                                           if let d = detail[seq] { o["details"] = (try? JSONParser.parse(Array(d.utf8))) ?? .string(d) }
                                           return .object(o)
                                       })]))
                    return
                }
                print(from.text)
                print("Case \(caseID): \(state["status"] as String), stage \(state["stage"] as String)")
                print("  born \((state["birth_month"] as String?) ?? "?"), \((state["gender"] as String?) ?? "?"), looked after: \((state["looked_after"] as Int64?) == 1 ? "yes" : "no"), learning disability: \((state["learning_disability"] as Int64?) == 1 ? "yes" : "no"), borough \((state["borough"] as String?) ?? "?")")
                print("  level: \((state["practitioner_level"] as String?) ?? "not screened") (suggested \((state["suggested_level"] as String?) ?? "-")); lead agency \((state["lead_agency"] as String?) ?? "-"); agencies: \(agencies.joined(separator: ", "))")
                print("  missing episodes: \(state["missing_episodes"] as Int64) (missing now: \(state["missing_now"] as Int64)); disruptions: \(state["disruptions"] as Int64); links: \(links.map { "\($0["link_kind"] as String) \($0["target"] as String)" }.joined(separator: ", "))\((state["legal_hold"] as Int64) == 1 ? "; LEGAL HOLD" : "")")
                for line in CaseQueries.stepLines(caseID, steps: steps, actions: actions, heading: "Next steps for") { print(line) }
                print("Chronology:")
                for r in timeline {
                    let seq = r["seq"] as Int64
                    let late = (r["delay_working_days"] as Int64?).map { $0 > Int64(lateDays) ? " (recorded \($0) working days later)" : "" } ?? ""
                    let corrected = (r["corrected_by"] as String?).map { "  [\($0)]" } ?? ""
                    print("  \(padded(String(seq), 6, left: true))  \(r["occurred_at"] as String)  \(r["type"] as String) by \(r["agency"] as String) / \(r["practitioner"] as String) (key \((r["key_id"] as String).prefix(8)))\(late)\(corrected)")
                    if let w = words[seq], !w.isEmpty { print("          " + w) }
                    if let d = detail[seq] { print("          details: " + d) }
                }
            }
        }
    }

    struct Next: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What the toolkit requires next for a case, with due dates in working days.",
            discussion: """
                Read from the ledger directly (no rebuild needed), each record checked to be signed by \
                an enrolled key ('safeguard verify' checks the rest). The rules are the practice \
                report's, worked out from what had been recorded by the end of the day asked about \
                (--on, default today): the steps still to do, then the case's exceptions on that day \
                (steps overdue, steps done late, records made late). Deadlines exclude weekends and \
                the England & Wales bank holidays of the policy in force.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: ArgumentHelp("The case id.", valueName: "case")) var caseID: String
        func validate() throws { try checkCaseID(caseID, option: "case") }
        @Option(help: ArgumentHelp("Judge as known on this date, and overdue as of it (default today).", valueName: "YYYY-MM-DD")) var on: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let l = try ledger.open(readOnly: true)
            guard !(try l.caseEvents(caseID)).isEmpty else { throw InputError("no case \(caseID) in \(l.path): check the case id ('safeguard log' lists events)") }
            let today: Day
            if let on {
                guard let d = Day(iso: on) else { throw ValidationError("--on must be a date YYYY-MM-DD") }
                today = d
            } else {
                today = Day(london: Clock.now())
            }
            let practice = try CaseQueries.practice(l, caseID: caseID, knownOn: today)
            let steps = practice.nextSteps(today: today), exceptions = practice.exceptions(on: today), actions = practice.toolkitActions()
            if output.json {
                printJSON(.object(["case": .string(caseID), "on": .string(today.description), "level_for_rules": .string(practice.policy.levelForRules.rawValue),
                                   "next_steps": .array(steps.map(CaseQueries.json)), "toolkit_actions": .array(actions.map(CaseQueries.json)),
                                   "exceptions": .array(exceptions.map(CaseQueries.json))]))
                return
            }
            guard practice.isKnown else { return print("Nothing about \(caseID) had been recorded by \(today.spoken).") }
            for line in CaseQueries.stepLines(caseID, steps: steps, actions: actions, heading: nil) { print(line) }
            if !exceptions.isEmpty {
                print("Recording-practice exceptions on \(today.spoken) (as 'safeguard report practice' lists them):")
                for e in exceptions { print("  \(e.rule)  \(e.what)\(e.since.isEmpty ? "" : " (since \(e.since))")\(e.overdue.map { ", \($0) working days overdue" } ?? "")") }
            }
        }
    }
}
