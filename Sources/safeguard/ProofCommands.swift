import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore

/// A verifier key given on the command line, or a file holding one.
func noteVerifier(_ text: String, what: String) throws -> NoteVerifier {
    let s = FileManager.default.fileExists(atPath: text) ? (try String(contentsOfFile: text, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines) : text
    guard let v = NoteVerifier(verifierKey: s) else {
        throw InputError("\(what) must be a verifier key NAME+HEX8+BASE64 (as 'safeguard checkpoint --vkey' prints it), or a file holding one")
    }
    return v
}

func readFile(_ path: String, what: String) throws -> [UInt8] {
    try readSmallFile(path, what: what)
}

extension Safeguard {
    struct Prove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a proof, checkable offline with 'safeguard check-proof': that an event is in the log, or that the log only grew.",
            subcommands: [Inclusion.self, Consistency.self])
    }

    struct CheckProof: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-proof",
            abstract: "Check a proof from 'safeguard prove' offline, with nothing but the log's checkpoint verifier key.",
            discussion: """
                An inclusion proof (c2sp.org/tlog-proof) shows that the event it carries is in the tree \
                of a checkpoint the log signed. A consistency proof (a c2sp.org/tlog-witness \
                add-checkpoint body) shows that the log of a checkpoint you kept from before (--old) only \
                grew into the one in the proof. With --witness (repeatable) and --quorum, at least K of \
                those witnesses must have cosigned the proof's checkpoint. Exit 0 if it holds, 1 if not.
                """)

        @Argument(help: ArgumentHelp("The proof file.", valueName: "proof"))
        var proof: String
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's checkpoint verifier key, or a file holding it.", valueName: "vkey"))
        var logKey: String
        @Option(help: ArgumentHelp("For a consistency proof: the signed checkpoint you kept from before.", valueName: "path"))
        var old: String?
        @OptionGroup var witnesses: WitnessOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let log = try noteVerifier(logKey, what: "--log-key")
            let bytes = try readFile(proof, what: "the proof")
            let result: String
            let note: [UInt8]
            if bytes.first == UInt8(ascii: "{") {
                print(try Self.checkEvidence(bytes, log: log))
                return
            }
            if bytes.starts(with: Array(ProofText.inclusionHeader.utf8)) {
                let p = try ProofText.Inclusion(text: bytes)
                let (checkpoint, _) = try Checkpoint.open(p.checkpoint, log: log)
                guard let entry = p.extra else { throw InputError("the proof carries no entry (its 'extra' line): it is not from 'safeguard prove'") }
                guard let envelope = Self.envelope(entry), envelope.seq == p.index else {
                    throw ProofRefused("the proof's entry is not a signed envelope of seq \(p.index) (entry bytes, canonical JSON, 64-byte signature)")
                }
                let leaf = Merkle.leafHash(entry)
                do { try Merkle.verifyInclusion(index: p.index, size: checkpoint.size, leafHash: leaf, proof: p.proof, root: checkpoint.root) } catch {
                    throw ProofRefused("the entry is NOT in the log of this checkpoint (\(error))")
                }
                result = "OK: event \(envelope.eventID) (\(envelope.type), recorded \(envelope.recordedAt) by \(envelope.actor.agency)) is entry \(p.index) of the log "
                    + "\(checkpoint.origin), in its checkpoint of \(checkpoint.size) events (root \(Base64.encode(checkpoint.root))). Its signature is not checked here: "
                    + "'safeguard evidence check' or 'safeguard verify' does that."
                note = p.checkpoint
            } else {
                let p = try ProofText.Consistency(text: bytes)
                guard let old else { throw InputError("a consistency proof is checked against a checkpoint you kept: pass --old FILE") }
                let (newer, _) = try Checkpoint.open(p.checkpoint, log: log)
                let (older, _) = try Checkpoint.open(try readFile(old, what: "the old checkpoint"), log: log)
                guard older.origin == newer.origin else { throw ProofRefused("the checkpoints are of different logs (\(older.origin), \(newer.origin))") }
                guard p.old == older.size else { throw ProofRefused("the proof starts at size \(p.old), but your checkpoint has size \(older.size)") }
                do { try Merkle.verifyConsistency(old: older.size, new: newer.size, oldRoot: older.root, newRoot: newer.root, proof: p.proof) } catch {
                    throw ProofRefused("the log of \(newer.size) events does NOT extend your checkpoint of \(older.size) (\(error)): keep both signed checkpoints as evidence")
                }
                result = "OK: the log \(newer.origin) at \(newer.size) events extends your checkpoint of \(older.size) events: nothing was changed or removed in between."
                note = p.checkpoint
            }
            let cosigned = try witnesses.check(note)
            if output.json {
                printJSON(["ok": true, "result": .string(result), "witnesses": .array(cosigned.map { .string($0) })])
            } else {
                print(result)
                if !cosigned.isEmpty { print("Cosigned by: \(cosigned.joined(separator: ", "))") }
            }
        }

        /// Checks a witness's evidence file: both checkpoints must be signed by the log.
        static func checkEvidence(_ bytes: [UInt8], log: NoteVerifier) throws -> String {
            guard let e = try? JSONDecoder().decode(Misbehaviour.self, from: Data(bytes)), e.kind == Misbehaviour.kindName else {
                throw InputError("this JSON file is not evidence written by 'safeguard witness add-checkpoint'")
            }
            let (a, _) = try Checkpoint.open(Array(e.cosigned.utf8), log: log)
            guard !e.presented.isEmpty else {
                let observed = e.observed.map { " The file held \($0.size) events (tree root \($0.root)), a tree the log did not sign." } ?? ""
                throw ProofRefused("NOT PROVEN: the log signed a checkpoint of \(a.size) events, and the file it was checked against holds no later checkpoint the log signed."
                                   + observed + " Keep the file: verifying it in full shows what it holds, but only two checkpoints the log signed prove misbehaviour")
            }
            let (b, _) = try Checkpoint.open(Array(e.presented.utf8), log: log)
            guard a.origin == b.origin else { throw ProofRefused("the two checkpoints are of different logs") }
            if a.size == b.size {
                guard a.root != b.root else { throw ProofRefused("the two checkpoints are the same tree: no misbehaviour shown") }
                return "MISBEHAVIOUR PROVEN: the log \(a.origin) signed two different trees of \(a.size) events (roots \(Base64.encode(a.root)) and \(Base64.encode(b.root)))."
            }
            let proof = try e.proof.map { p in
                guard let h = Base64.decode(p) else { throw InputError("the evidence's proof holds something that is not base64") }
                return h
            }
            let (lo, hi) = a.size < b.size ? (a, b) : (b, a)
            if b.size < a.size {
                throw ProofRefused("ROLLBACK SHOWN, NOT PROVEN: the log signed a checkpoint of \(a.size) events (cosigned) and one of \(b.size) events (presented later). "
                                   + "A log only grows, so if the smaller one is its newest, it cut events off; the log's newest checkpoint, or a witness's "
                                   + "cosignature times, settle which")
            }
            if (try? Merkle.verifyConsistency(old: lo.size, new: hi.size, oldRoot: lo.root, newRoot: hi.root, proof: proof)) != nil {
                throw ProofRefused("the log's proof does connect the two checkpoints: no misbehaviour shown")
            }
            throw ProofRefused("NOT PROVEN: both checkpoints (\(lo.size) and \(hi.size) events) are signed by the log \(a.origin), but the proof in the evidence "
                               + "does not connect them, which shows nothing by itself: ask the log for a consistency proof between them")
        }

        /// The envelope of entry bytes `u32be(n) || signed || signature`, if they are exactly that
        /// and the signed bytes are a canonical envelope.
        static func envelope(_ entry: [UInt8]) -> Envelope? {
            guard entry.count > 4 + SigningKey.signatureByteCount else { return nil }
            let n = Int(entry.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            guard entry.count == 4 + n + SigningKey.signatureByteCount else { return nil }
            return try? Envelope(json: JSONParser.parse(Array(entry[4..<(4 + n)]), mode: .canonical))
        }
    }
}

/// The witnesses (cosigner verifier keys) that validly cosigned a checkpoint note; throws
/// unless at least `quorum` (default: all) did.
func witnessQuorum(_ note: [UInt8], witnesses: [String], quorum: Int?) throws -> [String] {
    guard !witnesses.isEmpty else {
        if let quorum, quorum > 0 { throw InputError("--quorum needs --witness keys to count") }
        return []
    }
    var cosigners: [Cosigner] = []
    for w in witnesses {
        guard let c = Cosigner(verifierKey: w) else { throw InputError("--witness must be a cosigner verifier key NAME+HEX8+BASE64 (type 0x04)") }
        // One witness counts once, however often it is named.
        guard !cosigners.contains(where: { $0.publicKey == c.publicKey }) else { throw InputError("--witness \(c.name) is given twice: each witness counts once") }
        cosigners.append(c)
    }
    let needed = quorum ?? cosigners.count
    guard needed >= 1, needed <= cosigners.count else { throw InputError("--quorum must be between 1 and the number of --witness keys (\(cosigners.count))") }
    let (text, signatures) = try SignedNote.parse(note)
    guard let checkpoint = Checkpoint(body: text) else { throw ProofRefused("the checkpoint is malformed") }
    let cosigned = cosigners.filter { (try? $0.verifiedTime(of: checkpoint, in: signatures)).flatMap({ $0 }) != nil }.map(\.name)
    guard cosigned.count >= needed else {
        throw ProofRefused("only \(cosigned.count) of the \(needed) witness cosignatures required are on the checkpoint"
                           + (cosigned.isEmpty ? "" : " (\(cosigned.joined(separator: ", ")))"))
    }
    return cosigned
}

/// Each given witness that validly cosigned `note`, with the time of its cosignature (POSIX
/// seconds): every entry the checkpoint covers was recorded before it.
func witnessTimes(_ note: [UInt8], witnesses: [String]) throws -> [(name: String, time: Int64)] {
    guard !witnesses.isEmpty else { return [] }
    let (text, signatures) = try SignedNote.parse(note)
    guard let checkpoint = Checkpoint(body: text) else { return [] }
    return witnesses.compactMap(Cosigner.init(verifierKey:)).compactMap { c in
        (try? c.verifiedTime(of: checkpoint, in: signatures)).flatMap { $0 }.map { (c.name, Int64($0)) }
    }
}

/// `--witness VKEY` (repeatable) and `--quorum K`: the witnesses whose cosignatures a checkpoint must carry.
struct WitnessOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A witness's cosigning verifier key that must have cosigned the checkpoint (repeatable).", valueName: "vkey"))
    var witness: [String] = []
    @Option(help: ArgumentHelp("How many of the --witness keys must have cosigned (default: all).", valueName: "k"))
    var quorum: Int?

    var given: Bool { !witness.isEmpty || quorum != nil }

    /// The witnesses that validly cosigned `note`; throws unless the quorum is met.
    func check(_ note: [UInt8]) throws -> [String] { try witnessQuorum(note, witnesses: witness, quorum: quorum) }
}

/// A proof that does not hold: exit 1, like a ledger that does not verify.
struct ProofRefused: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension Safeguard.Prove {
    struct Inclusion: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove that an event is in the log: its entry, its inclusion proof and the latest checkpoint covering it (c2sp.org/tlog-proof).")
        @OptionGroup var ledger: LedgerOptions
        @Option(help: ArgumentHelp("The event id.", valueName: "id"))
        var event: String

        func run() throws {
            let l = try ledger.open(readOnly: true)
            guard let row = try l.entry(eventID: event) else { throw InputError("no event \(event) in this ledger: check the id ('safeguard log list')") }
            guard let checkpoint = try l.checkpoints().last(where: { $0.size > row.seq }) else {
                throw InputError("no checkpoint covers event \(event) (seq \(row.seq)) yet: run 'safeguard checkpoint' first")
            }
            let proof = try l.inclusionProof(seq: row.seq, size: checkpoint.size)
            let entry = Entry(canonical: row.envelope, signature: row.signature).entryBytes
            FileHandle.standardOutput.write(Data(ProofText.Inclusion(extra: entry, index: row.seq, proof: proof, checkpoint: checkpoint.note).text))
        }
    }

    struct Consistency: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove that the log only grew from a size you hold a checkpoint of to a later checkpoint (a c2sp.org/tlog-witness add-checkpoint body).")
        @OptionGroup var ledger: LedgerOptions
        @Option(help: ArgumentHelp("The size of the checkpoint you hold.", valueName: "n"))
        var from: Int64
        @Option(help: ArgumentHelp("The size of a later checkpoint the log signed (default: the latest).", valueName: "m"))
        var to: Int64?

        func run() throws {
            let l = try ledger.open(readOnly: true)
            let stored = try l.checkpoints()
            guard let target = to.map({ m in stored.first { $0.size == m } }) ?? stored.last else {
                throw InputError(to.map { "the log signed no checkpoint of size \($0): 'safeguard checkpoint' makes one of the current size" }
                                 ?? "the log has signed no checkpoint yet: run 'safeguard checkpoint' first")
            }
            guard from >= 0, from <= target.size else { throw InputError("--from must be between 0 and \(target.size), the size of the checkpoint proved to") }
            let proof = try l.consistencyProof(old: from, new: target.size)
            FileHandle.standardOutput.write(Data(ProofText.Consistency(old: from, proof: proof, checkpoint: target.note).text))
        }
    }
}
