import ArgumentParser
import Foundation
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Retention: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retention reviews and legal holds; at the end of retention, erase a case's details (its facts and every proof stay).",
            discussion: """
                Both are governance events recorded by an agency the policy allows (the toolkit's: \
                partnership). A review deciding 'destroyed' erases the case's details there and then: \
                its wrapped keys and its details records are deleted (overwritten in the file, the \
                write-ahead log emptied), so sealed details can never be opened again; verify, proofs \
                and statistics are unchanged, and the details read "erased". It is refused while the \
                case is open, before the policy's retention period has run from the day its closing was recorded, or while a \
                legal hold is in force (docs/PRIVACY.md).
                """,
            subcommands: [Review.self, Hold.self, Purge.self])
    }
}

extension Safeguard.Retention {
    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a retention review of a closed case: retain, destruction-due, held, or destroyed (erases its details now).")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var signer: SignerOptions
        @Option(name: .customLong("case"), help: ArgumentHelp("The case reviewed.", valueName: "id")) var caseID: String
        @Option(help: ArgumentHelp("retain, destruction-due, held, or destroyed.", valueName: "decision")) var decision: String
        @Option(name: .customLong("review-again-by"), help: ArgumentHelp("The next review (YYYY-MM-DD).", valueName: "date")) var reviewAgainBy: String?
        @OptionGroup var output: OutputOptions

        static let decisions = ["retain", "destruction_due", "held", "destroyed"]
        var code: String { decision.replacingOccurrences(of: "-", with: "_") }

        func validate() throws {
            try checkCaseID(caseID)
            guard Self.decisions.contains(code) else {
                throw ValidationError("--decision must be one of \(Self.decisions.map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", "))")
            }
            if let reviewAgainBy, Day(iso: reviewAgainBy) == nil { throw ValidationError("--review-again-by must be a date YYYY-MM-DD") }
        }

        func run() throws {
            var facts: [String: JSONValue] = ["case_ref": .string(caseID), "decision": .string(code)]
            if let reviewAgainBy { facts["review_again_by"] = .string(reviewAgainBy) }
            if try server.client() != nil {
                // The service erases in the transaction that places the review, then empties its write-ahead log.
                let draft = EventDraft(type: "governance.retention_review", caseID: nil, occurredAt: Clock.now(), facts: facts)
                try appendAndReport([draft], ledger: ledger, server: server, signer: signer, output: output, timeIsNow: true) {
                    "Recorded the retention review of \(caseID) (\(code)) as seq \($0[0].seq) through the log service."
                        + (code == "destroyed" ? " The service erased \(caseID)'s keys and details records with it; its facts, every proof and every figure are unchanged." : "")
                }
                return
            }
            let l = try ledger.open(readOnly: false)
            let records = code == "destroyed" ? try l.detailsRecordCount(of: caseID) : 0
            let draft = EventDraft(type: "governance.retention_review", caseID: nil, occurredAt: Clock.now(), facts: facts)
            let written: StoredEntry
            do {
                written = try l.append([draft], signers: [try signer.load()], clock: Clock.now, newID: Clock.newID)[0]
            } catch LedgerError.invalidFacts(let e, _) {
                throw InputError("\(e.problem); nothing was recorded or erased")
            }
            let walEmptied = code == "destroyed" ? try l.purgeWAL() : true
            if output.json {
                printJSON(["seq": .integer(written.seq), "event_id": .string(written.eventID), "decision": .string(code),
                           "details_records_erased": .integer(Int64(records)), "wal_emptied": .bool(walEmptied)])
                return
            }
            print("Recorded the retention review of \(caseID) (\(code)) as seq \(written.seq).")
            if code == "destroyed", walEmptied {
                print("Erased \(caseID)'s details: its keys and \(records) details records are gone from the file and its write-ahead log; its facts, every proof and every figure are unchanged.")
            } else if code == "destroyed" {
                print("Deleted \(caseID)'s keys and \(records) details records, but copies remain in the ledger's write-ahead log while another process has the ledger open: close it and run 'safeguard retention purge'.")
            }
        }
    }

    struct Hold: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Place or lift a legal hold on a case (--case) or the whole ledger (--ledger-wide): nothing is destroyed while one is in force.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signer: SignerOptions
        @OptionGroup var server: ServerOptions
        @Option(name: .customLong("case"), help: ArgumentHelp("The case held.", valueName: "id")) var caseID: String?
        @Flag(name: .customLong("ledger-wide"), help: "Hold every case.") var ledgerWide = false
        @Flag(help: "Lift the hold instead of placing it.") var lift = false
        @Option(help: ArgumentHelp("inquiry, litigation, police-investigation or other.", valueName: "reason")) var reason: String
        @OptionGroup var output: OutputOptions

        static let reasons = ["inquiry", "litigation", "police_investigation", "other"]

        func validate() throws {
            try checkCaseID(caseID)
            guard (caseID != nil) != ledgerWide else { throw ValidationError("give one of --case ID and --ledger-wide") }
            guard Self.reasons.contains(reason.replacingOccurrences(of: "-", with: "_")) else {
                throw ValidationError("--reason must be one of \(Self.reasons.map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", "))")
            }
        }

        func run() throws {
            var facts: [String: JSONValue] = ["action": .string(lift ? "lifted" : "placed"), "scope": .string(ledgerWide ? "ledger" : "case"),
                                              "reason": .string(reason.replacingOccurrences(of: "-", with: "_"))]
            if let caseID { facts["case_ref"] = .string(caseID) }
            let draft = EventDraft(type: "governance.legal_hold", caseID: nil, occurredAt: Clock.now(), facts: facts)
            try appendAndReport([draft], ledger: ledger, server: server, signer: signer, output: output, timeIsNow: true) {
                "\(lift ? "Lifted" : "Placed") a legal hold on \(caseID.map { "case \($0)" } ?? "the whole ledger") at seq \($0[0].seq)."
            }
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Empty the ledger's write-ahead log, so that no older copy of destroyed details remains in it.")
        @OptionGroup var ledger: LedgerOptions

        func run() throws {
            let l = try ledger.open(readOnly: false)
            guard try l.purgeWAL() else {
                throw InputError("another process has the ledger open, so its write-ahead log could not be emptied: close it (the log service, a reader) and run this again")
            }
            print("The write-ahead log of \(l.path) is empty.")
        }
    }
}
