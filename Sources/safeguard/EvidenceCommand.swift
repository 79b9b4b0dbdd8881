import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Evidence: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write or check an evidence bundle for one case: its records, each provably in the log, checkable without the ledger.",
            subcommands: [Create.self, Check.self], defaultSubcommand: Create.self)
    }
}

extension Safeguard.Evidence {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Write the bundle for CASE: 'safeguard evidence CASE --out DIR'.",
            discussion: """
                DIR gets checkpoint.note (the checkpoint every proof is against: the latest the log \
                signed, or --checkpoint FILE, e.g. one carrying witnesses' cosignatures), entries.jsonl (the \
                case's records and the governance records they depend on, each with its entry bytes and \
                inclusion proof) and index.md (a readable list). By default the records include their \
                details (names, narrative): the bundle is then as sensitive as the case file. With --facts-only \
                the details are withheld: each signed record still holds their salted digest, so every \
                signature and proof verifies, and the details can be shown later and checked against it.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: ArgumentHelp("The case id.", valueName: "case"))
        var caseID: String
        func validate() throws { try checkCaseID(caseID, option: "case") }
        @Option(help: ArgumentHelp("A new folder for the bundle.", valueName: "dir"), completion: .directory)
        var out: String
        @Option(help: ArgumentHelp("The signed checkpoint to prove against (default: the latest the log signed).", valueName: "path"), completion: .file())
        var checkpoint: String?
        @Flag(name: .customLong("facts-only"), help: "Withhold every record's details (names, narrative); keep the coded facts and every proof.")
        var factsOnly = false

        func run() throws {
            let l = try ledger.open(readOnly: true)
            let note: [UInt8]
            let size: Int64
            if let checkpoint {
                note = try readFile(checkpoint, what: "the checkpoint")
                guard let c = Checkpoint(body: try SignedNote.parse(note).text) else { throw InputError("'\(checkpoint)' is not a signed checkpoint") }
                guard try l.checkpoints().contains(where: { $0.size == c.size && $0.root == c.root }) else {
                    throw InputError("'\(checkpoint)' is not a checkpoint this log signed (size \(c.size)): use one from 'safeguard checkpoint'")
                }
                size = c.size
            } else {
                guard let latest = try l.checkpoints().last else { throw InputError("the log has signed no checkpoint yet: run 'safeguard checkpoint' first") }
                (note, size) = (latest.note, latest.size)
            }
            let items = try l.evidence(caseID: caseID, size: size, withDetails: !factsOnly)
            // A new folder, made here: an existing one (or a link planted in its place) is refused.
            guard mkdir(out, 0o700) == 0 else {
                throw InputError(errno == EEXIST ? "'\(out)' already exists: give a new folder for the bundle" : "cannot create '\(out)': check that its parent folder exists and is writable")
            }
            try writePrivately(Data(note), to: out + "/checkpoint.note")
            try writePrivately(Data(items.flatMap { $0.line + [0x0A] }), to: out + "/entries.jsonl")
            var index = "# Evidence bundle: case \(caseID)\n\nA readable list only: the evidence is entries.jsonl, whose records are proved to be in the log "
                + "against checkpoint.note (\(size) events). Check it, and see the checked list, with:\n\n"
                + "    safeguard evidence check THIS_FOLDER --trust ROOT_PUBLIC_KEY --log-key LOG_VKEY\n\n"
                + "A bundle shows that each record it holds is in the log; it cannot show that it holds all of them: 'safeguard verify' on the whole log, "
                + "and the case's timeline from it, do.\n\n"
                + (factsOnly ? "Details (names, narrative) are withheld: each signed record holds their salted digest, so they can be produced later and checked against it.\n\n"
                    : "Each record's details (names, narrative) are in entries.jsonl and below: this bundle is as sensitive as the case file.\n\n")
                + "| seq | recorded | occurred | type | agency | practitioner | details |\n|---|---|---|---|---|---|---|\n"
            for item in items {
                let n = Int(item.entry.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                guard let e = try? Envelope(json: JSONParser.parse(Array(item.entry[4..<(4 + n)]), mode: .canonical)) else { continue }
                let details: String
                switch e.details {
                case .inline(let d): details = String(decoding: (try? CanonicalJSON.encode(.object(d))) ?? [], as: UTF8.self)
                case .committed: details = item.details.map { $0.isSealed ? "sealed (\($0.body.count) bytes)" : String(decoding: $0.body, as: UTF8.self) } ?? "withheld"
                }
                let cells = [String(e.seq), e.recordedAt.description, e.occurredAt.description, e.type, e.actor.agency, e.actor.practitioner, details]
                index += "| " + cells.map(markdownCell).joined(separator: " | ") + " |\n"
            }
            try writePrivately(Data(index.utf8), to: out + "/index.md")
            print("Wrote \(out): \(items.count) records (the case's and the governance records they depend on), each proved against the checkpoint of \(size) events"
                  + (factsOnly ? "; details withheld (facts only)." : "; with their details (as sensitive as the case file)."))
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a bundle on its own: every record in the checkpointed log, signed by a key enrolled and not revoked, allowed by the policy in force.")
        @Argument(help: ArgumentHelp("The bundle folder.", valueName: "dir"), completion: .directory)
        var dir: String
        @OptionGroup var trust: TrustOptions
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's checkpoint verifier key, or a file holding it.", valueName: "vkey"))
        var logKey: String
        @OptionGroup var witnesses: WitnessOptions

        func run() throws {
            let note = try readFile(dir + "/checkpoint.note", what: "the bundle's checkpoint")
            let (checkpoint, _) = try Checkpoint.open(note, log: try noteVerifier(logKey, what: "--log-key"))
            let cosigned = try witnesses.check(note)
            guard FileManager.default.fileExists(atPath: dir + "/entries.jsonl") else { throw InputError("'\(dir)/entries.jsonl' is missing: is this an evidence bundle?") }
            let data = try readSmallFile(dir + "/entries.jsonl", limit: 1 << 30, what: "the bundle's entries")
            // Lines as written: each ends with a newline, none is blank.
            guard data.last == 0x0A else { throw ProofRefused("the evidence bundle does not hold: entries.jsonl does not end with a newline (cut short?)") }
            let lines = [UInt8](data).dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
            guard !lines.contains(where: \.isEmpty) else { throw ProofRefused("the evidence bundle does not hold: entries.jsonl has a blank line") }
            let items = try lines.map { try EvidenceBundle.Item(line: Array($0)) }
            let checked: EvidenceBundle.Checked
            do { checked = try EvidenceBundle.check(items, checkpoint: checkpoint, root: try trust.anchor()) } catch let f as EvidenceBundle.Failure {
                throw ProofRefused(f.description)
            }
            print("OK: case \(checked.caseID): \(checked.events.count) record\(checked.events.count == 1 ? "" : "s") in the log \(checkpoint.origin) (checkpoint of \(checkpoint.size) events, root \(Base64.encode(checkpoint.root)))"
                  + (cosigned.isEmpty ? "" : ", cosigned by \(cosigned.joined(separator: ", "))") + ".")
            print("Each is signed by a key the root key's log had enrolled and not revoked, and allowed by the policy in force (\(checked.governance) governance records checked).")
            let shown = checked.details.count
            if checked.withheld == 0 {
                print("Details: all \(shown) details records match the digests their signed records hold.")
            } else {
                print("Details: withheld from \(checked.withheld) record\(checked.withheld == 1 ? "" : "s") (facts only; each signed record holds their digest)" + (shown > 0 ? "; \(shown) shown, each matching the digest its signed record holds." : "."))
            }
            if checked.inline > 0 {
                print("Note: \(checked.inline) of the case's records are of envelope format 1, whose details are inside the signed record and so are in this bundle.")
            }
            print("A bundle cannot show that it holds every record of the case, or every governance record (a revocation, say): 'safeguard verify' on the whole log does.")
            print("")
            print("The checked records of case \(checked.caseID):")
            print(["   seq", padded("occurred_at", 20), padded("recorded_at", 20), padded("type", 28), padded("agency", 12), "practitioner"].joined(separator: "  "))
            for e in checked.events {
                print([padded(String(e.seq), 6, left: true), e.occurredAt.description, e.recordedAt.description, padded(e.type, 28),
                       padded(e.actor.agency, 12), e.actor.practitioner].joined(separator: "  "))
            }
        }
    }
}

/// `text` as one markdown table cell: no line breaks, pipes escaped.
func markdownCell(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
        .replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
}
