import ArgumentParser
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List or show the events in the ledger.",
            subcommands: [List.self, Show.self],
            defaultSubcommand: List.self)
    }
}

extension Safeguard.Log {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List events in order, optionally only one case, type or agency.",
            discussion: """
                The rows as the file holds them, found by reading the rows (not through indexes); what \
                is shown comes from each signed envelope, and a row whose envelope and signature do not \
                give its stored entry hash is marked ALTERED. Signatures, keys and the log's rules are \
                checked by 'safeguard verify', not here. With --json, each line is {seq, event_id, entry_hash, signature, envelope, details, details_salt}: envelope is \
                the signed event; details and its salt are the event's details record, which the envelope's details_digest \
                commits to (absent for format 1 events, whose details are inside the envelope).
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .customLong("case"), help: ArgumentHelp("Only this case id.", valueName: "id"))
        var caseID: String?
        @Option(help: ArgumentHelp("Only this event type (e.g. referral.mase) or family (referral.*).", valueName: "type"))
        var type: String?
        @Option(help: ArgumentHelp("Only events recorded by this agency.", valueName: "code"))
        var agency: String?
        @Option(help: ArgumentHelp("Start at this sequence number.", valueName: "seq"))
        var from: Int64?
        @Option(help: ArgumentHelp("At most this many events.", valueName: "n"))
        var limit: Int?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try checkCaseID(caseID)
            if let type, !EventType.isKnown(type), !EventType.isFamilyPattern(type) {
                throw ValidationError("--type \"\(type)\" is not a known event type or family; see 'safeguard types'")
            }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
            if let from, from < 0 { throw ValidationError("--from must not be negative") }
        }

        func run() throws {
            let l = try ledger.open(readOnly: true)
            let filter = Ledger.Filter(caseID: caseID, type: type, agency: agency, fromSeq: from, limit: limit)
            if !output.json {
                print(["   seq", padded("occurred_at", 20), padded("recorded_at", 20), padded("type", 28), padded("case", 16),
                       padded("agency", 12), "event_id"].joined(separator: "  "))
            }
            try l.forEach(filter) { row in
                if output.json {
                    printJSON(try rowJSON(row))
                } else {
                    let altered = Entry.entryHash(canonical: row.envelope, signature: row.signature) != row.entryHash
                    guard let e = try? Envelope(json: JSONParser.parse(row.envelope, mode: .canonical)) else {
                        print("\(padded(String(row.seq), 6, left: true))  (not a readable envelope: run 'safeguard verify')")
                        return
                    }
                    print([padded(String(row.seq), 6, left: true), e.occurredAt.description, e.recordedAt.description, padded(e.type, 28),
                           padded(e.caseID ?? "-", 16), padded(e.actor.agency, 12), e.eventID].joined(separator: "  ") + (altered ? "  ALTERED" : ""))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one event in full: the signed envelope, its details, signature and entry hash.")

        @OptionGroup var ledger: LedgerOptions
        @Argument(help: ArgumentHelp("A sequence number or an event id.", valueName: "seq-or-id"))
        var which: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let l = try ledger.open(readOnly: true)
            let row: StoredEntry?
            if let seq = Int64(which) { row = try l.entry(seq: seq) }
            else if Validate.isUUID(which) { row = try l.entry(eventID: which) }
            else { throw ValidationError("give a sequence number or a lowercase event id (UUID)") }
            guard let row else { throw InputError("no event \(which) in \(l.path): 'safeguard head' shows the last sequence number") }
            if output.json {
                printJSON(try rowJSON(row))
            } else {
                print("seq:        \(row.seq)")
                print("event id:   \(row.eventID)")
                print("entry hash: \(Hex.encode(row.entryHash))")
                print("signature:  \(Hex.encode(row.signature))")
                print("envelope (signed bytes, RFC 8785 canonical JSON):")
                print(String(decoding: row.envelope, as: UTF8.self))
                if let d = row.details, d.isSealed {
                    print("details: sealed under the case's key (\(d.body.count) bytes; the envelope holds their salted digest). An entitled agency reads them with 'safeguard case show \(row.caseID ?? "CASE") --details', which records the reading.")
                    print("details salt: \(Hex.encode(d.salt))")
                } else if let d = row.details {
                    print("details (kept beside the envelope, which holds their salted digest):")
                    print(String(decoding: d.body, as: UTF8.self))
                    print("details salt: \(Hex.encode(d.salt))")
                }
            }
        }
    }
}

/// The JSON form of a stored row: the envelope as parsed JSON, plus its place and hashes.
func rowJSON(_ row: StoredEntry) throws -> JSONValue {
    var o: [String: JSONValue] = [
        "seq": .integer(row.seq), "event_id": .string(row.eventID), "entry_hash": .string(Hex.encode(row.entryHash)),
        "signature": .string(Hex.encode(row.signature)), "envelope": try JSONParser.parse(row.envelope),
    ]
    if let d = row.details {
        // Sealed details are shown as what they are: ciphertext (base64), never opened here.
        o[d.isSealed ? "details_sealed" : "details"] = d.isSealed ? .string(Base64.encode(d.body)) : try JSONParser.parse(d.body)
        o["details_salt"] = .string(Hex.encode(d.salt))
    }
    return .object(o)
}

func padded(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return left ? fill + s : s + fill
}
