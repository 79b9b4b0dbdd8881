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
        @Option(help: ArgumentHelp("For a consistency proof: the signed checkpoint you kept from before.", valueName: "path"), completion: .file())
        var old: String?
        @OptionGroup var witnesses: WitnessOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let log = try noteVerifier(logKey, what: "--log-key")
            let bytes = try readFile(proof, what: "the proof")
            if bytes.first == UInt8(ascii: "{") {
                print(try OfflineProof.checkEvidence(bytes, log: log))
                return
            }
            let (result, note) = try OfflineProof.check(bytes, log: log, old: try old.map { try readFile($0, what: "the old checkpoint") })
            let cosigned = try witnesses.check(note)
            if output.json {
                printJSON(["ok": true, "result": .string(result), "witnesses": .array(cosigned.map { .string($0) })])
            } else {
                print(result)
                if !cosigned.isEmpty { print("Cosigned by: \(cosigned.joined(separator: ", "))") }
            }
        }
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
    func check(_ note: [UInt8]) throws -> [String] { try WitnessQuorum.cosigned(note, witnesses: witness, quorum: quorum) }
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
