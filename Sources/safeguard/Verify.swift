import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the whole ledger against the partnership's root public key.",
            discussion: """
                Checks every event in order: canonical form, sequence numbers without gaps, the \
                hash chain, the stored hashes, each signature, that each key was enrolled and not \
                revoked at that point, that the actor matches the key's enrolment, and that the \
                policy in force allowed the agency to record the event type. Streams the log in \
                memory that does not grow with its length. Exit 0 if valid; 1 with the first bad sequence number, event id \
                and reason if not.
                """)

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var trust: TrustOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let anchor = try trust.anchor()
            let l = try ledger.open(readOnly: true)
            let summary: VerificationSummary
            do {
                // On a terminal, long runs show progress on stderr; piped output stays clean.
                let showProgress = isatty(STDERR_FILENO) == 1 && !output.json
                defer { if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
                summary = try l.verify(trustAnchor: anchor, every: 50_000) { n in
                    if showProgress { FileHandle.standardError.write(Data("\rverified \(n) events…".utf8)) }
                }
            } catch let failure as VerificationFailure {
                if output.json {
                    var o: [String: JSONValue] = ["ok": false, "seq": .integer(failure.seq), "code": .string(failure.code),
                                                  "reason": .string(failure.detail)]
                    if let id = failure.eventID { o["event_id"] = .string(id) }
                    printJSON(.object(o))
                } else {
                    print("FAILED: \(failure)")
                    print("The ledger cannot be relied on from sequence number \(failure.seq) onward; events before it verified.")
                }
                throw ExitCode(ExitStatus.verificationFailed)
            }
            report(summary, anchor: anchor)
        }

        func report(_ s: VerificationSummary, anchor: PublicKey) {
            if output.json {
                var o: [String: JSONValue] = [
                    "ok": true, "events": .integer(s.events), "head_hash": .string(Hex.encode(s.headHash)),
                    "partnership": .string(s.partnership), "origin": .string(s.origin), "policy": .string(s.policy),
                    "keys_enrolled": .integer(Int64(s.keysEnrolled)), "keys_revoked": .integer(Int64(s.keysRevoked)),
                    "agencies": .array(s.agencies.sorted().map { .string($0) }), "cases": .integer(Int64(s.cases)),
                    "root_key_id": .string(anchor.keyID), "tree_root": .string(Base64.encode(s.treeRoot)),
                ]
                if let f = s.firstOccurred, let l = s.lastOccurred { o["first_occurred_at"] = .string(f.description); o["last_occurred_at"] = .string(l.description) }
                if let f = s.firstRecorded, let l = s.lastRecorded { o["first_recorded_at"] = .string(f.description); o["last_recorded_at"] = .string(l.description) }
                printJSON(.object(o))
            } else {
                print("OK: \(s.events) events verified against root key \(anchor.keyID).")
                print("Partnership: \(s.partnership) (origin \(s.origin)); policy \(s.policy)")
                print("Keys: \(s.keysEnrolled) enrolled, \(s.keysRevoked) revoked; agencies: \(s.agencies.sorted().joined(separator: ", ")); cases: \(s.cases)")
                if let f = s.firstOccurred, let l = s.lastOccurred { print("Occurred: \(f) to \(l)") }
                if let f = s.firstRecorded, let l = s.lastRecorded { print("Recorded: \(f) to \(l)") }
                print("Head: \(Hex.encode(s.headHash))")
                print("Merkle tree root: \(Base64.encode(s.treeRoot)) (size \(s.events))")
            }
        }
    }
}

/// `--trust KEY` or `--trust-file PATH`: the partnership's root public key, obtained out of band.
struct TrustOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The partnership's root public key (base64), obtained out of band.", valueName: "key"))
    var trust: String?
    @Option(name: .customLong("trust-file"), help: ArgumentHelp("A file holding the root public key (e.g. root.key.pub).", valueName: "path"))
    var trustFile: String?

    func validate() throws {
        guard (trust == nil) != (trustFile == nil) else {
            throw ValidationError("give the trust anchor with exactly one of --trust KEY or --trust-file PATH")
        }
        if let trust, PublicKey(base64: trust) == nil {
            throw ValidationError("--trust must be a base64 Ed25519 public key (44 characters), as printed by 'safeguard init'")
        }
    }

    func anchor() throws -> PublicKey {
        try trust.flatMap(PublicKey.init(base64:)) ?? KeyFiles.readPublic(trustFile!)
    }
}
