import ArgumentParser
import SafeguardCatalogue
import SafeguardCore
import SafeguardService
import SafeguardStore

extension Safeguard {
    struct Append: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign and append one event, read as JSON from a file or stdin.",
            discussion: """
                The input is a JSON object with: type (see 'safeguard types'), case_id (every \
                non-governance event), occurred_at (RFC 3339, e.g. 2026-11-30T09:15:00Z), facts \
                (coded, non-identifying) and optionally details (names, narrative) and event_id \
                (a UUID, to make re-sending safe). The ledger adds the sequence number, previous \
                hash, your enrolled identity and the recording time, then signs it. The event is \
                durable when this command returns.

                Example: echo '{"type":"contact.recorded","case_id":"C-0001","occurred_at":"2026-11-30T09:15:00Z","facts":{"contact_type":"phone","indicators":["A2"]}}' | safeguard append --key pc.key \
                ('safeguard schema' gives every type's facts.)
                """)

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var signer: SignerOptions
        @OptionGroup var agency: AgencyKeyOptions
        @Option(help: ArgumentHelp("Read the event from this file ('-' for stdin, the default).", valueName: "path"), completion: .file())
        var file = "-"
        @OptionGroup var output: OutputOptions

        func run() throws {
            let bytes = try readInput(file, limit: Entry.maxCanonicalBytes, what: "event input")
            let draft = try parseDraft(bytes)
            try appendAndReport([draft], ledger: ledger, server: server, signer: signer, agency: agency, output: output) {
                "Appended \($0[0].type) as seq \($0[0].seq), event \($0[0].eventID), entry hash \(Hex.encode($0[0].entryHash))."
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append many events from a JSON Lines file in one transaction: all or nothing.",
            discussion: """
                Each non-empty line is one input event, as for 'safeguard append'. If any line is refused, nothing is \
                appended and the errors name every refused line (the first 100 are listed). A file is read as the \
                import goes, so its length does not set the memory needed; standard input is read whole first (up \
                to 1 GiB). Through the log service (--server), each event is placed on its own.
                """)

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var signer: SignerOptions
        @OptionGroup var agency: AgencyKeyOptions
        @Option(help: ArgumentHelp("The JSON Lines file ('-' for stdin).", valueName: "path"), completion: .file())
        var file: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            if let client = try server.client() { return try submit(to: client) }
            let l = try ledger.open(readOnly: false)
            let key = try signer.load()
            // Streamed and pipelined (Ledger.importDrafts): memory stays flat whatever the file's
            // length. Anything but a regular file (standard input, a pipe, /dev/stdin) is read
            // whole first: it cannot be read again, to count its lines or to report refusals.
            let stdin = isRegularFile(file) ? nil : try readInput(file, limit: 1 << 30, what: "import file", maxLine: Entry.maxCanonicalBytes)
            func lines() throws -> LineReader {
                try stdin.map { LineReader(bytes: $0, what: "import file", maxLine: Entry.maxCanonicalBytes) }
                    ?? LineReader(file, what: "import file", maxLine: Entry.maxCanonicalBytes)
            }
            let reader = try lines()
            let progress = Progress("imported", json: output.json)
            if progress.enabled {
                // The lines are counted first (on a terminal only), so that the progress line has a total.
                let counter = try lines()
                var n: Int64 = 0
                while let (_, line) = try counter.next() {
                    if !isBlank(line) { n += 1 }
                }
                progress.total = n
            }
            let imported: Ledger.Imported?
            do {
                defer { progress.finish() }
                imported = try l.importDrafts({
                    while let (n, line) = try reader.next() {
                        if isBlank(line) { continue }
                        do { return (n, try parseDraft(Array(line), trailer: false)) } catch { throw Ledger.ImportStopped(index: n, reason: "\(error)") }
                    }
                    return nil
                }, signer: key, clock: Clock.now, newID: Clock.newID, progress: { progress.update(Int64($0)) })
            } catch let stopped as Ledger.ImportStopped {
                // Something was refused and nothing appended: every line is checked again, to report them all.
                return try checkEveryLine(l, key: key, input: stdin, stopped: stopped)
            }
            guard let imported else { throw InputError("\(file) holds no events: give one JSON object per line") }
            report(count: imported.count, first: imported.first.seq, last: imported.last.seq, head: imported.last.entryHash, through: false)
        }

        private func report(count: Int, first: Int64, last: Int64, head: [UInt8], through service: Bool) {
            if output.json {
                printJSON(["appended": .integer(Int64(count)), "first_seq": .integer(first), "last_seq": .integer(last), "head_hash": .string(Hex.encode(head))])
            } else if service {
                print("Recorded \(count) events through the log service as seq \(first)-\(last) (placed one by one, not all or nothing).")
            } else {
                print("Imported \(count) events as seq \(first)-\(last); head \(Hex.encode(head)).")
            }
        }

        /// Every line parsed, for the log service or for a report of every refusal.
        private func readAll(_ input: [UInt8]? = nil) throws -> (drafts: [EventDraft], lines: [Int], bad: [(line: Int, reason: String)]) {
            let bytes = try input ?? readInput(file, limit: 1 << 30, what: "import file", maxLine: Entry.maxCanonicalBytes)
            var drafts: [EventDraft] = []
            var lineNumbers: [Int] = []
            var bad: [(line: Int, reason: String)] = []
            for (n, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
                if isBlank(line) { continue }
                do { drafts.append(try parseDraft(Array(line), trailer: false)) } catch { bad.append((n + 1, "\(error)")); continue }
                lineNumbers.append(n + 1)
            }
            guard drafts.count + bad.count > 0 else { throw InputError("\(file) holds no events: give one JSON object per line") }
            return (drafts, lineNumbers, bad)
        }

        private func submit(to client: LogClient) throws {
            // Through the service each event is placed on its own (a statement names no
            // head, so the service cannot hold a batch back): all lines must parse first.
            let (drafts, _, bad) = try readAll()
            guard bad.isEmpty else { throw BatchRefused(lines: bad, total: drafts.count + bad.count) }
            let pinned = try server.pinnedLogKey(), log = try client.log()
            server.warnIfNotPinned(pinned, named: log.logKey)
            let receipts = try client.submit(drafts, key: try signer.load(), agencyKey: try agency.load(), logKey: pinned, log: log).map(\.0)
            report(count: receipts.count, first: receipts.first!.seq, last: receipts.last!.seq, head: receipts.last!.entryHash, through: true)
        }

        /// Checks every line against the ledger as an import would, and rolls back: all the
        /// refusals are reported at once. A ledger whose policy seals details imports here too
        /// (its case keys are read and written as each draft is sealed).
        private func checkEveryLine(_ l: Ledger, key: SigningKey, input: [UInt8]?, stopped: Ledger.ImportStopped) throws {
            let (drafts, lineNumbers, refused) = try readAll(input)
            var bad = refused
            let total = drafts.count + refused.count
            var written: [StoredEntry] = []
            do {
                // With lines already refused, the rest are only checked (and rolled back): all or nothing.
                let progress = Progress(bad.isEmpty ? "imported" : "checked", total: Int64(drafts.count), json: output.json)
                defer { progress.finish() }
                // Only an import stopped for the policy's sealing commits here: after a refusal, this
                // check only reports (the file may have changed since it was first read).
                written = try l.append(drafts, signers: [key], reportAll: true, commit: bad.isEmpty && stopped.sealing, clock: Clock.now, newID: Clock.newID,
                                       keyring: try agency.keyring(), progress: { progress.update(Int64($0)) })
            } catch LedgerError.refused(let list) {
                bad += list.map { (lineNumbers[$0.index], $0.reason) }
            }
            if bad.isEmpty, !stopped.sealing { bad = [(stopped.index, stopped.reason)] }
            guard bad.isEmpty else { throw BatchRefused(lines: bad.sorted { $0.line < $1.line }, total: total) }
            report(count: written.count, first: written.first!.seq, last: written.last!.seq, head: written.last!.entryHash, through: false)
        }
    }
}

/// A line of spaces, tabs and carriage returns only: skipped by import.
private func isBlank(_ line: some Collection<UInt8>) -> Bool { line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }

/// Parses one input event, naming the field or byte at fault.
func parseDraft(_ bytes: [UInt8], trailer: Bool = true) throws -> EventDraft {
    let tail = trailer ? "; nothing was appended" : ""
    guard !bytes.isEmpty else { throw InputError("no event given: pipe a JSON object to stdin or pass --file PATH") }
    let json: JSONValue
    do { json = try JSONParser.parse(bytes) } catch { throw InputError("the event is not valid JSON: \(error)\(tail)") }
    do { return try EventDraft(json: json, types: EventType.known) } catch { throw InputError("event \(error)\(tail)") }
}
