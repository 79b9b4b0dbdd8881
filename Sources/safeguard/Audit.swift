import ArgumentParser
import GRDB
import Projections
import SafeguardCore

extension Safeguard {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The audit trail and the information-sharing register, from the read models.", subcommands: [Trail.self, Sharing.self, Access.self])
    }
}

extension Safeguard.Audit {
    struct Trail: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every event in order: sequence number, entry hash, key, agency, practitioner, when it happened and was recorded, and the delay; corrections shown beside what they correct.")
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .customLong("case"), help: ArgumentHelp("Only this case.", valueName: "id")) var caseID: String?
        func validate() throws { try checkCaseID(caseID) }
        @Option(help: ArgumentHelp("Only this agency.", valueName: "agency")) var agency: String?
        @Option(help: ArgumentHelp("Only this practitioner (as enrolled).", valueName: "name")) var practitioner: String?
        @Option(help: ArgumentHelp("Only this event type, or a family as contact.*", valueName: "type")) var type: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let engine = try openProjections(ledger)
            let from = try provenance(engine, ["audit"])
            var sql = """
                SELECT a.seq, a.entry_hash, a.key_id, a.agency, a.practitioner, a.type, a.case_id, a.occurred_at, a.recorded_at,
                  a.delay_seconds, a.delay_working_days,
                  (SELECT group_concat(c.kind || ' at seq ' || c.seq, '; ') FROM corrections c WHERE c.corrects_seq = a.seq) AS corrected_by
                FROM audit_events a WHERE 1
                """
            var args: [(any DatabaseValueConvertible)?] = []
            if let caseID { sql += " AND a.case_id = ?"; args.append(caseID) }
            if let agency { sql += " AND a.agency = ?"; args.append(agency) }
            if let practitioner { sql += " AND a.practitioner = ?"; args.append(practitioner) }
            if let type {
                if type.hasSuffix(".*") { sql += " AND a.type LIKE ? ESCAPE '\\'"; args.append(String(type.dropLast(2)).replacingOccurrences(of: "_", with: "\\_") + ".%") }
                else { sql += " AND a.type = ?"; args.append(type) }
            }
            sql += " ORDER BY a.seq"
            if !output.json { print(from.text) }
            try engine.read { db in
                let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
                while let r = try rows.next() {
                    if output.json { printJSON(rowJSON(r)); continue }
                    let days = (r["delay_working_days"] as Int64?).map { "\($0)wd" } ?? "-"
                    let corrected = (r["corrected_by"] as String?).map { "  [\($0)]" } ?? ""
                    print("\(padded(String(r["seq"] as Int64), 7, left: true))  \((r["entry_hash"] as String).prefix(12))  \(padded(r["type"], 26)) \(padded((r["case_id"] as String?) ?? "-", 14)) \(padded(r["agency"], 11)) \(padded(r["practitioner"], 24)) key \(r["key_id"] as String)  occurred \(r["occurred_at"] as String) recorded \(r["recorded_at"] as String) delay \(days)\(corrected)")
                }
            }
        }
    }

    struct Sharing: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The information-sharing register: what, from and to whom, purpose, lawful basis, consent; with --not-shared, the register of decisions not to share.")
        @OptionGroup var ledger: LedgerOptions
        @Flag(name: .customLong("not-shared"), help: "Only decisions not to share (with their reasons and review dates).") var notShared = false
        @Option(name: .customLong("case"), help: ArgumentHelp("Only this case.", valueName: "id")) var caseID: String?
        func validate() throws { try checkCaseID(caseID) }
        @OptionGroup var output: OutputOptions

        func run() throws {
            let engine = try openProjections(ledger)
            let from = try provenance(engine, ["audit"])
            var sql = "SELECT * FROM sharing_register WHERE 1"
            var args: [(any DatabaseValueConvertible)?] = []
            sql += notShared ? " AND decision = 'not_shared'" : " AND decision <> 'not_shared'"
            if let caseID { sql += " AND case_id = ?"; args.append(caseID) }
            sql += " ORDER BY seq"
            if !output.json { print(from.text) }
            try engine.read { db in
                let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
                while let r = try rows.next() {
                    if output.json { printJSON(rowJSON(r)); continue }
                    let s = { (k: String) in (r[k] as String?) ?? "-" }
                    if notShared {
                        print("\(padded(String(r["seq"] as Int64), 7, left: true))  \(s("occurred_at").prefix(10))  \(padded(s("case_id"), 14)) \(s("from_agency")) refused \(s("other_agency")): \(s("reason")); review by \(s("review_by"))")
                    } else {
                        print("\(padded(String(r["seq"] as Int64), 7, left: true))  \(s("occurred_at").prefix(10))  \(padded(s("case_id"), 14)) \(s("from_agency")) → \(s("other_agency")) [\(s("decision"))] what \(s("scope")); purpose \(s("purpose")); basis \(s("lawful_basis")); consent \(s("consent")); told \(s("subject_informed"))")
                    }
                }
            }
        }
    }

    struct Access: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who read which case's sealed details, when and why: every access.consulted record (DPA 2018 s.62).",
            discussion: """
                Each reading of sealed details ('safeguard case show --details') is recorded, signed by \
                the reader, before anything is opened: this lists them, oldest first, with the agency, \
                practitioner and key, the case, how many records were read and the purpose.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .customLong("case"), help: ArgumentHelp("Only this case.", valueName: "id")) var caseID: String?
        @Option(help: ArgumentHelp("Only readings by this agency.", valueName: "agency")) var agency: String?
        func validate() throws { try checkCaseID(caseID) }
        @OptionGroup var output: OutputOptions

        func run() throws {
            let engine = try openProjections(ledger)
            let from = try provenance(engine, ["audit"])
            var sql = "SELECT * FROM access_register WHERE 1"
            var args: [(any DatabaseValueConvertible)?] = []
            if let caseID { sql += " AND case_id = ?"; args.append(caseID) }
            if let agency { sql += " AND agency = ?"; args.append(agency) }
            sql += " ORDER BY seq"
            if !output.json { print(from.text) }
            var count = 0
            try engine.read { db in
                let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
                while let r = try rows.next() {
                    count += 1
                    if output.json { printJSON(rowJSON(r)); continue }
                    let s = { (k: String) in (r[k] as String?) ?? "-" }
                    print("\(padded(String(r["seq"] as Int64), 7, left: true))  \(s("recorded_at"))  \(padded(s("case_id"), 14)) \(s("agency")) / \(s("practitioner")) (key \(s("key_id").prefix(8))) read \(r["records"] as Int64) records; purpose \(s("purpose"))")
                }
            }
            if !output.json, count == 0 { print("No readings of sealed details recorded\(caseID.map { " for \($0)" } ?? "")\(agency.map { " by \($0)" } ?? "").") }
        }
    }
}
