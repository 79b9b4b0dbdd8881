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
                revoked at that point, that the actor matches the key's enrolment, that the \
                policy in force allowed the agency to record the event type, and that each event's \
                details record is the one its signed envelope commits to. Streams the log in memory \
                that does not grow with its length (signatures checked on every core), and checks the \
                stored Merkle tree. With --checkpoint and --log-key, the log must still hold a checkpoint \
                you kept (nothing cut off, nothing rewritten), cosigned by --witness keys if given. Events \
                signed with a key after the point its revocation names as compromised are listed as \
                FLAGGED for review. With --state FILE, your own record of what you verified is kept \
                in FILE: the first run verifies everything and creates it; later runs verify only the \
                events added since and bring it up to date. Exit 0 if valid; 1 with the first bad \
                sequence number, event id and reason if not.
                """)

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var trust: TrustOptions
        @Option(help: ArgumentHelp("A signed checkpoint of this log you kept from before: the log must still contain it (nothing cut off, nothing rewritten).", valueName: "path"))
        var checkpoint: String?
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's checkpoint verifier key, or a file holding it (with --checkpoint).", valueName: "vkey"))
        var logKey: String?
        @OptionGroup var witnesses: WitnessOptions
        @Option(help: ArgumentHelp("If the log no longer holds --checkpoint, write the evidence here (your checkpoint, the log's latest one and its proof), for 'safeguard check-proof'.", valueName: "path"))
        var evidence: String?
        @Option(help: ArgumentHelp("Cores to verify on (default: all of them): each entry's decoding, hashes and signature are spread across them; the chain itself is walked on one.", valueName: "n"))
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        @Flag(name: .customLong("since-checkpoint"), help: ArgumentHelp(
            "You verified this log before, up to --checkpoint: verify only what was added since; the entries before it are hashed again (to match your checkpoint), not re-verified."))
        var sinceCheckpoint = false
        @Option(help: ArgumentHelp(
            "Your own record of what you verified (keep it yourself, not with the log): if the file exists, only the events added since are verified, then it is brought up to date; if not, the whole log is verified and it is created.",
            valueName: "path"))
        var state: String?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if state != nil, checkpoint != nil {
                throw ValidationError("--state and --checkpoint are two ways to re-verify: give one (--state keeps your own record of the log)")
            }
            guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256") }
            if (checkpoint == nil) != (logKey == nil) { throw ValidationError("--checkpoint and --log-key go together: the checkpoint is checked with the log's key") }
            if checkpoint == nil, witnesses.given { throw ValidationError("--witness and --quorum apply to a --checkpoint") }
            if sinceCheckpoint, checkpoint == nil { throw ValidationError("--since-checkpoint needs the --checkpoint you verified up to, and --log-key") }
        }

        func run() throws {
            let anchor = try trust.anchor()
            let l = try ledger.open(readOnly: true)
            // A kept checkpoint is read and its signatures checked first; the root at its size is
            // then computed from the verified entries as they stream, never read from the file.
            var kept: (checkpoint: Checkpoint, note: [UInt8], cosigned: [String], log: NoteVerifier)? = nil
            if let checkpoint, let logKey {
                let note = try readFile(checkpoint, what: "the checkpoint")
                let log = try noteVerifier(logKey, what: "--log-key")
                let (c, _) = try Checkpoint.open(note, log: log)
                kept = (c, note, try witnesses.check(note), log)
            }
            if sinceCheckpoint, let kept { return try verifySince(l, kept: kept.checkpoint, cosigned: kept.cosigned, anchor: anchor) }
            if let state, FileManager.default.fileExists(atPath: state) { return try verifyFromState(l, path: state, anchor: anchor) }
            let update = try state.map(AuditState.Update.init(creating:))
            var frontier = MerkleFrontier()
            var rootAtKept: [UInt8]? = kept?.checkpoint.size == 0 ? Merkle.emptyRoot : nil
            let summary: VerificationSummary
            do {
                // On a terminal, long runs show progress on stderr; piped output stays clean.
                let showProgress = isatty(STDERR_FILENO) == 1 && !output.json
                defer { if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
                summary = try l.verify(trustAnchor: anchor, threads: threads, every: 50_000, progress: { n in
                    if showProgress { FileHandle.standardError.write(Data("\rverified \(n) events…".utf8)) }
                }, onEntry: { row, envelope in
                    try update?.add(row, envelope)
                    guard let kept, frontier.size < kept.checkpoint.size else { return }
                    frontier.append(row.entryHash)
                    if frontier.size == kept.checkpoint.size { rootAtKept = frontier.root }
                })
            } catch let failure as VerificationFailure {
                throw failed(failure, "The ledger cannot be relied on from sequence number \(failure.seq) onward; events before it verified.")
            }
            var held: (Checkpoint, [String])? = nil
            if let kept {
                let c = kept.checkpoint
                guard sameBytes(c.origin, summary.origin) else {
                    throw ProofRefused("the checkpoint is of the log '\(c.origin)', but this ledger's origin is '\(summary.origin)'")
                }
                guard summary.events >= c.size, let root = rootAtKept else {
                    throw ProofRefused("TRUNCATED: the log has \(summary.events) events, but your checkpoint, signed by the log, says it had \(c.size): "
                                       + "events were cut off the end. Keep the checkpoint and this file as evidence")
                }
                guard root == c.root else {
                    let saved = evidence.flatMap { path in (try? writeEvidence(l, kept: kept, to: path)) == true ? " Evidence written to \(path)." : nil } ?? ""
                    throw ProofRefused("REWRITTEN: the first \(c.size) events now have tree root \(Base64.encode(root)), but your checkpoint, signed by the log, "
                                       + "says \(Base64.encode(c.root)): history was changed after it was checkpointed. Keep the checkpoint and this file as evidence.\(saved)")
                }
                held = (c, kept.cosigned)
            }
            report(summary, anchor: anchor, checkpoint: held)
            if let state, let update {
                try AuditState.create(state, update, rootKey: anchor, origin: summary.origin)
                if !output.json { print("State: your record of these \(summary.events) events is in \(state); 'verify --state \(state)' will check only what is added after them.") }
            }
        }

        /// `--state` with an existing state: only the entries added since it.
        func verifyFromState(_ l: Ledger, path: String, anchor: PublicKey) throws {
            let state = try AuditState.open(path)
            let update = AuditState.Update(state)
            let e: Ledger.Extension
            do {
                e = try l.verify(from: state, trustAnchor: anchor, threads: threads, update: update)
            } catch Ledger.ExtensionRefusal.truncated(let size) {
                throw ProofRefused("TRUNCATED: the log has \(size) events, but your state (\(path)) says you verified \(state.head.size): "
                                   + "events were cut off the end. Keep the state and this file as evidence")
            } catch Ledger.ExtensionRefusal.rewritten {
                throw ProofRefused("REWRITTEN: the file no longer holds the first \(state.head.size) events you verified (root \(Base64.encode(state.head.root)), in \(path)): "
                                   + "history was changed after you verified it. Keep the state and this file as evidence; 'safeguard verify' in full says where")
            } catch let failure as VerificationFailure {
                throw failed(failure, "Your state (\(path)) is left as it was.")
            }
            try state.save(update)
            if output.json {
                printJSON(["ok": true, "since": .integer(e.from), "events": .integer(e.events), "new_events": .integer(e.events - e.from),
                           "head_hash": .string(Hex.encode(e.headHash)), "tree_root": .string(Base64.encode(e.treeRoot)),
                           "root_key_id": .string(anchor.keyID), "state": .string(path),
                           "flagged": .array(e.flagged.map { .object(["seq": .integer($0.seq), "event_id": .string($0.eventID), "key_id": .string($0.keyID)]) })])
            } else {
                print("OK: \(e.events - e.from) events added since your state of \(e.from) verified against root key \(anchor.keyID).")
                print("The first \(e.from) were not read again: the file's tree still holds the root you verified (\(Base64.encode(state.head.root))), and the new root is consistent with it.")
                print("Head: \(Hex.encode(e.headHash))")
                print("Merkle tree root: \(Base64.encode(e.treeRoot)) (size \(e.events))")
                if !e.flagged.isEmpty { print("FLAGGED for review: \(e.flagged.count) event(s) signed with a key later revoked as compromised or lost: seq " + e.flagged.map { String($0.seq) }.joined(separator: ", ")) }
                print("State: \(path) now covers \(e.events) events.")
            }
        }

        /// Best effort: the log's own latest signed checkpoint at or above the kept one's size (that
        /// opens with the log's key) and its proof from the kept size, for 'check-proof'.
        func writeEvidence(_ l: Ledger, kept: (checkpoint: Checkpoint, note: [UInt8], cosigned: [String], log: NoteVerifier), to path: String) throws -> Bool {
            let head = try l.head()?.size ?? 0
            guard let latest = try l.checkpoints().last(where: { stored in
                stored.size >= kept.checkpoint.size && stored.size <= head && (try? Checkpoint.open(stored.note, log: kept.log)) != nil
            }) else { return false }
            let proof = try l.consistencyProof(old: kept.checkpoint.size, new: latest.size)
            try Misbehaviour(reason: "the log's checkpoint of \(latest.size) events does not extend the checkpoint of \(kept.checkpoint.size) events it signed before",
                             cosigned: String(decoding: kept.note, as: UTF8.self), presented: String(decoding: latest.note, as: UTF8.self),
                             old: kept.checkpoint.size, proof: proof.map(Base64.encode)).write(to: path)
            return true
        }

        /// `--since-checkpoint`: only the entries added since the kept checkpoint.
        func verifySince(_ l: Ledger, kept c: Checkpoint, cosigned: [String], anchor: PublicKey) throws {
            let e: Ledger.Extension
            do {
                e = try l.verifyExtension(size: c.size, root: c.root, trustAnchor: anchor, threads: threads)
            } catch Ledger.ExtensionRefusal.truncated(let size) {
                throw ProofRefused("TRUNCATED: the log has \(size) events, but your checkpoint, signed by the log, says it had \(c.size): "
                                   + "events were cut off the end. Keep the checkpoint and this file as evidence")
            } catch Ledger.ExtensionRefusal.rewritten {
                throw ProofRefused("REWRITTEN: the first \(c.size) events are not the ones your checkpoint, signed by the log, commits to (root \(Base64.encode(c.root))): "
                                   + "history was changed after it was checkpointed. Keep the checkpoint and this file as evidence; 'safeguard verify' in full says where")
            } catch let failure as VerificationFailure {
                throw failed(failure, nil)
            }
            if output.json {
                printJSON(["ok": true, "since": .integer(e.from), "events": .integer(e.events), "new_events": .integer(e.events - e.from),
                           "head_hash": .string(Hex.encode(e.headHash)), "tree_root": .string(Base64.encode(e.treeRoot)),
                           "governance_proved": .integer(Int64(e.governanceProved)), "root_key_id": .string(anchor.keyID),
                           "flagged": .array(e.flagged.map { .object(["seq": .integer($0.seq), "event_id": .string($0.eventID), "key_id": .string($0.keyID)]) })])
            } else {
                print("OK: \(e.events - e.from) events added since your checkpoint of \(c.size) verified against root key \(anchor.keyID).")
                print("The first \(c.size) are the ones your checkpoint commits to (root \(Base64.encode(c.root))" + (cosigned.isEmpty ? "" : ", cosigned by \(cosigned.joined(separator: ", "))")
                      + "): hashed again, not re-verified; the rules come from their \(e.governanceProved) governance records.")
                print("Head: \(Hex.encode(e.headHash))")
                print("Merkle tree root: \(Base64.encode(e.treeRoot)) (size \(e.events)), consistent with your checkpoint.")
                if !e.flagged.isEmpty { print("FLAGGED for review: \(e.flagged.count) event(s) signed with a key later revoked as compromised or lost: seq " + e.flagged.map { String($0.seq) }.joined(separator: ", ")) }
            }
        }

        /// Prints a verification failure (a JSON object with --json; else FAILED and `then`) and
        /// returns the exit to throw.
        func failed(_ failure: VerificationFailure, _ then: String?) -> ExitCode {
            if output.json {
                var o: [String: JSONValue] = ["ok": false, "seq": .integer(failure.seq), "code": .string(failure.code), "reason": .string(failure.detail)]
                if let id = failure.eventID { o["event_id"] = .string(id) }
                printJSON(.object(o))
            } else {
                print("FAILED: \(failure)")
                if let then { print(then) }
            }
            return ExitCode(ExitStatus.verificationFailed)
        }

        func report(_ s: VerificationSummary, anchor: PublicKey, checkpoint: (Checkpoint, [String])?) {
            if output.json {
                var o: [String: JSONValue] = [
                    "ok": true, "events": .integer(s.events), "head_hash": .string(Hex.encode(s.headHash)),
                    "partnership": .string(s.partnership), "origin": .string(s.origin), "policy": .string(s.policy),
                    "keys_enrolled": .integer(Int64(s.keysEnrolled)), "keys_revoked": .integer(Int64(s.keysRevoked)),
                    "agencies": .array(s.agencies.sorted().map { .string($0) }), "cases": .integer(Int64(s.cases)),
                    "root_key_id": .string(anchor.keyID), "tree_root": .string(Base64.encode(s.treeRoot)),
                ]
                if let (c, w) = checkpoint {
                    o["checkpoint"] = ["size": .integer(c.size), "root": .string(Base64.encode(c.root)), "consistent": true, "witnesses": .array(w.map { .string($0) })]
                }
                if let f = s.firstOccurred, let l = s.lastOccurred { o["first_occurred_at"] = .string(f.description); o["last_occurred_at"] = .string(l.description) }
                if let f = s.firstRecorded, let l = s.lastRecorded { o["first_recorded_at"] = .string(f.description); o["last_recorded_at"] = .string(l.description) }
                o["flagged"] = .array(s.flagged.map { f in
                    var e: [String: JSONValue] = ["seq": .integer(f.seq), "event_id": .string(f.eventID), "type": .string(f.type), "key_id": .string(f.keyID),
                                                  "compromised_since": .integer(f.compromisedSince), "revoked_at": .integer(f.revokedAt)]
                    if let c = f.caseID { e["case_id"] = .string(c) }
                    return .object(e)
                })
                printJSON(.object(o))
            } else {
                print("OK: \(s.events) events verified against root key \(anchor.keyID).")
                print("Partnership: \(s.partnership) (origin \(s.origin)); policy \(s.policy)")
                print("Keys: \(s.keysEnrolled) enrolled, \(s.keysRevoked) revoked; agencies: \(s.agencies.sorted().joined(separator: ", ")); cases: \(s.cases)")
                if let f = s.firstOccurred, let l = s.lastOccurred { print("Occurred: \(f) to \(l)") }
                if let f = s.firstRecorded, let l = s.lastRecorded { print("Recorded: \(f) to \(l)") }
                print("Head: \(Hex.encode(s.headHash))")
                print("Merkle tree root: \(Base64.encode(s.treeRoot)) (size \(s.events))")
                if let (c, w) = checkpoint {
                    print("Checkpoint: the log still holds your checkpoint of \(c.size) events unchanged (root \(Base64.encode(c.root)))"
                          + (w.isEmpty ? "." : "; cosigned by \(w.joined(separator: ", ")).") + (s.events > c.size ? " \(s.events - c.size) events were added since." : ""))
                }
                if !s.flagged.isEmpty {
                    print("FLAGGED for review: \(s.flagged.count) event\(s.flagged.count == 1 ? "" : "s") signed with a key later revoked as compromised or lost, "
                          + "from the point its revocation names (valid signatures; check with the practitioner and agency whether they made them):")
                    for f in s.flagged {
                        print("  seq \(f.seq)  \(padded(f.type, 28))  \(padded(f.caseID ?? "-", 16))  key \(f.keyID) (compromised since seq \(f.compromisedSince), revoked at seq \(f.revokedAt))")
                    }
                }
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
