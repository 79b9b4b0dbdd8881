import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardPostgres
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
        @Option(help: ArgumentHelp("A signed checkpoint of this log you kept from before: the log must still contain it (nothing cut off, nothing rewritten).", valueName: "path"), completion: .file())
        var checkpoint: String?
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's checkpoint verifier key, or a file holding it (with --checkpoint).", valueName: "vkey"))
        var logKey: String?
        @OptionGroup var witnesses: WitnessOptions
        @Option(help: ArgumentHelp("If the log no longer holds --checkpoint (TRUNCATED or REWRITTEN), write the evidence here (your checkpoint, the log's latest signed one, its proof and the tree the file holds), for 'safeguard check-proof'.", valueName: "path"), completion: .file())
        var evidence: String?
        @Option(help: ArgumentHelp("Cores to verify on (default: all of them): each entry's decoding, hashes and signature are spread across them; the chain itself is walked on one.", valueName: "n"))
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        @Flag(name: .customLong("since-checkpoint"), help: ArgumentHelp(
            "You verified this log before, up to --checkpoint: verify only what was added since; the entries before it are hashed again (to match your checkpoint), not re-verified."))
        var sinceCheckpoint = false
        @Option(help: ArgumentHelp(
            "Your own record of what you verified (keep it yourself, not with the log): if the file exists, only the events added since are verified, then it is brought up to date; if not, the whole log is verified and it is created.",
            valueName: "path"), completion: .file())
        var state: String?
        @Option(name: .customLong("clock-skew"), help: ArgumentHelp(
            "How far another machine's clock may be ahead of this one's: an event recorded later than this machine's clock plus this many seconds fails (recorded_after_clock).",
            valueName: "seconds"))
        var clockSkew: Int64 = Clock.skew
        @Flag(name: .customLong("details-withheld"), help: ArgumentHelp(
            "The copy holds no details records (one made by 'safeguard mirror'), or, for a ledger in PostgreSQL, read it without them (an auditor's role may not read them): a missing record is taken as withheld; those it holds are still checked."))
        var detailsWithheld = false
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if state != nil, checkpoint != nil {
                throw ValidationError("--state and --checkpoint are two ways to re-verify: give one (--state keeps your own record of the log)")
            }
            guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256") }
            if (checkpoint == nil) != (logKey == nil) { throw ValidationError("--checkpoint and --log-key go together: the checkpoint is checked with the log's key") }
            if checkpoint == nil, witnesses.given { throw ValidationError("--witness and --quorum apply to a --checkpoint") }
            if sinceCheckpoint, checkpoint == nil { throw ValidationError("--since-checkpoint needs the --checkpoint you verified up to, and --log-key") }
            if sinceCheckpoint, detailsWithheld { throw ValidationError("--details-withheld goes with a full verification or --state, not --since-checkpoint") }
            if evidence != nil, checkpoint == nil { throw ValidationError("--evidence records how the log departs from a --checkpoint you kept: give --checkpoint and --log-key") }
            guard (0...31 * 86400).contains(clockSkew) else { throw ValidationError("--clock-skew is a number of seconds from 0 to 2678400 (31 days)") }
        }

        func run() throws {
            let anchor = try trust.anchor()
            let l: Ledger
            // A ledger in PostgreSQL is read in one snapshot first, its schema checked exactly.
            // With --details-withheld, a ledger in PostgreSQL is read without its details records
            // (an auditor's role may not read them); without it, a role that may not is refused.
            do { l = try ledger.open(readOnly: true, detailsWithheld: detailsWithheld) } catch let failure as VerificationFailure { throw failed(failure, nil) }
            // A kept checkpoint is read and its signatures checked first; the root at its size is
            // then computed from the verified entries as they stream, never read from the file.
            var kept: (checkpoint: Checkpoint, note: [UInt8], cosigned: [String], log: NoteVerifier)? = nil
            if let checkpoint, let logKey {
                let note = try readFile(checkpoint, what: "the checkpoint")
                let log = try noteVerifier(logKey, what: "--log-key")
                let (c, _) = try Checkpoint.open(note, log: log)
                kept = (c, note, try witnesses.check(note), log)
            }
            // Where this run starts: your kept checkpoint, your kept state, or genesis.
            let prefix: Ledger.TrustedPrefix
            var keptState: AuditState?
            let update: AuditState.Update?
            if sinceCheckpoint, let kept {
                prefix = .checkpoint(size: kept.checkpoint.size, root: kept.checkpoint.root)
                update = nil
            } else if let state, FileManager.default.fileExists(atPath: state) {
                keptState = try AuditState.open(state)
                prefix = .state(keptState!)
                update = AuditState.Update()
            } else {
                prefix = .none
                update = try state.map(AuditState.Update.init(creating:))
            }
            var frontier = MerkleFrontier()
            // The latest recording time among the entries the kept checkpoint covers: no later than
            // any witness's cosignature of it, or the log dated them after they were witnessed.
            var latestCovered: Timestamp?
            var rootAtKept: [UInt8]? = kept?.checkpoint.size == 0 ? Merkle.emptyRoot : nil
            let v: Ledger.Verification
            do {
                // On a terminal, long runs show progress on stderr; piped output stays clean.
                // The total comes from the verification, once the file's schema is checked.
                let progress = Progress("verified", json: output.json)
                defer { progress.finish() }
                let fromGenesis = keptState == nil && !sinceCheckpoint
                v = try l.verify(from: prefix, trustAnchor: anchor, threads: threads, notAfter: Timestamp(seconds: Clock.now().seconds + clockSkew), detailsWithheld: detailsWithheld,
                                 every: 2_000, progress: { n, total in
                    progress.total = total
                    progress.update(n)
                }, onEntry: { row, envelope in
                    try update?.add(row, envelope)
                    if let kept, envelope.seq < kept.checkpoint.size { latestCovered = max(latestCovered ?? envelope.recordedAt, envelope.recordedAt) }
                    guard fromGenesis, let kept, frontier.size < kept.checkpoint.size else { return }
                    frontier.append(row.entryHash)
                    if frontier.size == kept.checkpoint.size { rootAtKept = frontier.root }
                })
            } catch Ledger.ExtensionRefusal.truncated(let size) {
                let what = keptState.map { "your state (\(state ?? "")) says you verified \($0.head.size)" }
                    ?? "your checkpoint, signed by the log, says it had \(kept?.checkpoint.size ?? 0)"
                throw ProofRefused("TRUNCATED: the log has \(size) events, but \(what): events were cut off the end. Keep "
                                   + (keptState == nil ? "the checkpoint" : "the state") + " and this file as evidence." + evidenceWritten(l, kept: kept))
            } catch Ledger.ExtensionRefusal.rewritten {
                let what = keptState.map { "the first \($0.head.size) events you verified (root \(Base64.encode($0.head.root)), in \(state ?? ""))" }
                    ?? "the first \(kept?.checkpoint.size ?? 0) events your checkpoint, signed by the log, commits to (root \(Base64.encode(kept?.checkpoint.root ?? [])))"
                throw ProofRefused("REWRITTEN: the file no longer holds \(what): history was changed after it was verified. Keep it and this file as evidence; "
                                   + "'safeguard verify' in full says where." + evidenceWritten(l, kept: kept))
            } catch let failure as VerificationFailure {
                throw failed(failure, keptState != nil ? "Your state (\(state ?? "")) is left as it was."
                             : sinceCheckpoint ? nil : "The ledger cannot be relied on from sequence number \(failure.seq) onward; events before it verified.")
            }
            var held: (Checkpoint, [String])? = nil
            var bounds: [(name: String, time: Int64)] = []
            if let kept {
                let c = kept.checkpoint
                // Time is proven, not claimed: each witness's cosignature time bounds when every entry
                // it covers was recorded (docs/FORMAT.md §6.4).
                bounds = try WitnessQuorum.times(kept.note, witnesses: witnesses.witness)
                // With --since-checkpoint the prefix was held to the checkpoint by the library already.
                let verdict = KeptCheckpoint.judge(c, origin: v.summary.origin, events: sinceCheckpoint ? max(v.summary.events, c.size) : v.summary.events,
                                                   rootAtSize: sinceCheckpoint ? c.root : rootAtKept, latestCovered: latestCovered, bounds: bounds)
                switch verdict {
                case .holds: break
                case .otherLog(let theirs, let ours):
                    throw ProofRefused("the checkpoint is of the log '\(theirs)', but this ledger's origin is '\(ours)'")
                case .truncated(let events, let size):
                    throw ProofRefused("TRUNCATED: the log has \(events) events, but your checkpoint, signed by the log, says it had \(size): "
                                       + "events were cut off the end. Keep the checkpoint and this file as evidence." + evidenceWritten(l, kept: kept))
                case .rewritten(let size, let root, let theirs):
                    throw ProofRefused("REWRITTEN: the first \(size) events now have tree root \(Base64.encode(root)), but your checkpoint, signed by the log, "
                                       + "says \(Base64.encode(theirs)): history was changed after it was checkpointed. Keep the checkpoint and this file as evidence."
                                       + evidenceWritten(l, kept: kept))
                case .datedAfterWitness(let latest, let witness, let time):
                    throw ProofRefused("TIME: entries before seq \(c.size) are dated as late as \(latest), but \(witness) cosigned the checkpoint covering them at "
                                       + "\(Timestamp(seconds: time)): the log dated them after they were witnessed (only the log key's holder can). Keep the checkpoint and this file as evidence.")
                }
                held = (c, kept.cosigned)
            }
            // The state is written first: the report says it covers these events only once it does.
            if let update {
                update.finish(tree: v.tree, cases: v.cases)
                if let keptState {
                    try keptState.save(update)
                } else if let state {
                    try AuditState.create(state, update, rootKey: anchor, origin: v.summary.origin)
                }
            }
            report(v, anchor: anchor, checkpoint: held, statePath: state, bounds: bounds)
        }

        /// Writes the evidence, when asked for (`--evidence`), of a log that no longer holds the
        /// kept checkpoint: that checkpoint, the log's latest signed checkpoint in the file (if
        /// any opens with the log's key), the log's consistency proof between them where the file
        /// can give one, and the tree the file holds now. Says where it went, or why not.
        func evidenceWritten(_ l: Ledger, kept: (checkpoint: Checkpoint, note: [UInt8], cosigned: [String], log: NoteVerifier)?) -> String {
            guard let path = evidence, let kept else { return "" }
            do {
                let head = try l.treeRoot()
                let latest = try l.checkpoints().last(where: { (try? Checkpoint.open($0.note, log: kept.log)) != nil })
                var proof: [[UInt8]] = []
                if let latest, latest.size >= kept.checkpoint.size, latest.size <= head.size {
                    proof = (try? l.consistencyProof(old: kept.checkpoint.size, new: latest.size)) ?? []
                }
                let reason = latest.map { "the log's file holds \(head.size) events and its latest signed checkpoint is of \($0.size) events; "
                    + "it does not extend the checkpoint of \(kept.checkpoint.size) events it signed before" }
                    ?? "the log's file holds \(head.size) events and no checkpoint the log signed; it does not extend the checkpoint of \(kept.checkpoint.size) events it signed before"
                try Misbehaviour(reason: reason, cosigned: String(decoding: kept.note, as: UTF8.self),
                                 presented: latest.map { String(decoding: $0.note, as: UTF8.self) } ?? "", old: kept.checkpoint.size,
                                 proof: proof.map(Base64.encode), observed: .init(size: head.size, root: Base64.encode(head.root))).write(to: path)
                return " Evidence written to \(path)."
            } catch {
                return " The evidence could not be written to \(path) (\(error))."
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

        func report(_ v: Ledger.Verification, anchor: PublicKey, checkpoint: (Checkpoint, [String])?, statePath: String?, bounds: [(name: String, time: Int64)] = []) {
            let s = v.summary
            if output.json {
                var o: [String: JSONValue] = [
                    "ok": true, "events": .integer(s.events), "head_hash": .string(Hex.encode(s.headHash)),
                    "partnership": .string(s.partnership), "origin": .string(s.origin), "policy": .string(s.policy),
                    "keys_enrolled": .integer(Int64(s.keysEnrolled)), "keys_revoked": .integer(Int64(s.keysRevoked)),
                    "agencies": .array(s.agencies.sorted().map { .string($0) }),
                    "root_key_id": .string(anchor.keyID), "tree_root": .string(Base64.encode(s.treeRoot)),
                ]
                if v.from > 0 {
                    o["since"] = .integer(v.from)
                    o["new_events"] = .integer(s.events - v.from)
                    o["governance_proved"] = .integer(Int64(v.governanceProved))
                } else {
                    o["cases"] = .integer(s.cases)
                }
                if let statePath { o["state"] = .string(statePath) }
                if detailsWithheld { o["details_withheld"] = true }
                if let (c, w) = checkpoint {
                    o["checkpoint"] = ["size": .integer(c.size), "root": .string(Base64.encode(c.root)), "consistent": true, "witnesses": .array(w.map { .string($0) }),
                                       "recorded_before": .array(bounds.map { ["witness": .string($0.name), "time": .string(Timestamp(seconds: $0.time).description),
                                                                               "first_seq": 0, "last_seq": .integer(c.size - 1)] })]
                }
                if let f = s.firstOccurred, let l = s.lastOccurred { o["first_occurred_at"] = .string(f.description); o["last_occurred_at"] = .string(l.description) }
                if let f = s.firstRecorded, let l = s.lastRecorded { o["first_recorded_at"] = .string(f.description); o["last_recorded_at"] = .string(l.description) }
                o["flagged"] = .array(s.flagged.map { f in
                    var e: [String: JSONValue] = ["seq": .integer(f.seq), "event_id": .string(f.eventID), "type": .string(f.type), "key_id": .string(f.keyID),
                                                  "compromised_since": .integer(f.compromisedSince), "revoked_at": .integer(f.revokedAt)]
                    if let c = f.caseID { e["case_id"] = .string(c) }
                    if let by = f.enrolledBy { e["enrolled_by"] = .string(by) }
                    return .object(e)
                })
                printJSON(.object(o))
                return
            }
            if v.from > 0 {
                print("OK: \(s.events - v.from) events added since your \(statePath != nil ? "state" : "checkpoint") of \(v.from) verified against root key \(anchor.keyID).")
                if let statePath {
                    print("The first \(v.from) were not read again: the file's tree still holds the root you verified, and the new root is consistent with it.")
                    print("State: \(statePath) now covers \(s.events) events.")
                } else if let (c, w) = checkpoint {
                    print("The first \(c.size) are the ones your checkpoint commits to (root \(Base64.encode(c.root))" + (w.isEmpty ? "" : ", cosigned by \(w.joined(separator: ", "))")
                          + "): hashed again, not re-verified; the rules come from their \(v.governanceProved) governance records.")
                }
            } else {
                print("OK: \(s.events) events verified against root key \(anchor.keyID)." + (detailsWithheld ? " Details withheld: the records the copy lacks were not checked." : ""))
                print("Partnership: \(s.partnership) (origin \(s.origin)); policy \(s.policy)")
                print("Keys: \(s.keysEnrolled) enrolled, \(s.keysRevoked) revoked; agencies: \(s.agencies.sorted().joined(separator: ", ")); cases: \(s.cases)")
                if let f = s.firstOccurred, let l = s.lastOccurred { print("Occurred: \(f) to \(l)") }
                if let f = s.firstRecorded, let l = s.lastRecorded { print("Recorded: \(f) to \(l)") }
            }
            print("Head: \(Hex.encode(s.headHash))")
            print("Merkle tree root: \(Base64.encode(s.treeRoot)) (size \(s.events))" + (v.from > 0 ? ", consistent with what you verified before." : ""))
            if v.from == 0, let (c, w) = checkpoint {
                print("Checkpoint: the log still holds your checkpoint of \(c.size) events unchanged (root \(Base64.encode(c.root)))"
                      + (w.isEmpty ? "." : "; cosigned by \(w.joined(separator: ", ")).") + (s.events > c.size ? " \(s.events - c.size) events were added since." : ""))
            }
            if let (c, _) = checkpoint, c.size > 0 {
                for b in bounds { print("Time: seq 0-\(c.size - 1) recorded before \(Timestamp(seconds: b.time)), cosigned by \(b.name).") }
            }
            if v.from == 0, let statePath { print("State: your record of these \(s.events) events is in \(statePath); 'verify --state \(statePath)' will check only what is added after them.") }
            if !s.flagged.isEmpty {
                print("FLAGGED for review: \(s.flagged.count) event\(s.flagged.count == 1 ? "" : "s") signed with a key later revoked as compromised or lost, "
                      + "from the point its revocation names, or with a key it enrolled then (valid signatures; check with the practitioner and agency whether they made them):")
                for f in s.flagged {
                    let why = f.enrolledBy.map { "enrolled by compromised key \($0) (compromised since seq \(f.compromisedSince), revoked at seq \(f.revokedAt))" }
                        ?? "(compromised since seq \(f.compromisedSince), revoked at seq \(f.revokedAt))"
                    print("  seq \(f.seq)  \(padded(f.type, 28))  \(padded(f.caseID ?? "-", 16))  key \(f.keyID) \(why)")
                }
            }
        }
    }
}

/// `--trust KEY` or `--trust-file PATH`: the partnership's root public key, obtained out of band.
struct TrustOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The partnership's root public key (base64), obtained out of band.", valueName: "key"))
    var trust: String?
    @Option(name: .customLong("trust-file"), help: ArgumentHelp("A file holding the root public key (e.g. root.key.pub).", valueName: "path"), completion: .file())
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
