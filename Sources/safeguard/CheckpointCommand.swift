import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct CheckpointCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Sign a checkpoint of the log: its origin, size and Merkle tree root, as a C2SP signed note.",
            discussion: """
                The checkpoint (c2sp.org/tlog-checkpoint) is signed with the log's checkpoint key under the \
                log's origin (set at 'init'), kept in the ledger, and printed on standard output for \
                auditors and witnesses to keep. The signer signs only a log it has verified itself, with \
                the key the log names ('safeguard keys set-log-key', or 'init --log-key'): it keeps its own \
                record of what it verified and signed in KEY.state beside the key (the first time, give the \
                root public key with --trust-file and the whole log is verified; later runs verify only what \
                was added since). A log cut short or rewritten since its last checkpoint is not signed, \
                whatever the file's own table of checkpoints says. Give auditors and witnesses the verifier \
                key ('--vkey') once, like the root public key.
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(help: ArgumentHelp("The log's checkpoint key (a key file from 'safeguard keys generate', kept apart from the root key).", valueName: "path"), completion: .file())
        var key: String
        @Option(help: ArgumentHelp("The partnership's root public key (base64): needed the first time this key signs for the log.", valueName: "key"))
        var trust: String?
        @Option(name: .customLong("trust-file"), help: ArgumentHelp("A file holding the root public key (e.g. root.key.pub).", valueName: "path"), completion: .file())
        var trustFile: String?
        @Flag(help: "Print the checkpoint key's verifier key (NAME+ID+KEY) for auditors and witnesses, and sign nothing.")
        var vkey = false
        @Option(help: ArgumentHelp("Also write the signed checkpoint to this file.", valueName: "path"), completion: .file())
        var out: String?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if trust != nil, trustFile != nil { throw ValidationError("give the root public key with one of --trust KEY or --trust-file PATH") }
            if let trust, PublicKey(base64: trust) == nil { throw ValidationError("--trust must be a base64 Ed25519 public key (44 characters)") }
        }

        func run() throws {
            let signer = try loadSigningKey(key)
            if vkey {
                let l = try ledger.open(readOnly: true)
                guard let origin = try l.state().genesis?.origin else { throw Ledger.CheckpointRefusal.empty }
                guard let v = NoteVerifier(name: origin, publicKey: signer.publicKey) else {
                    throw InputError("the log's origin '\(origin)' cannot name a note key (it has a space or a '+')")
                }
                print(output.json ? "{\"vkey\":\"\(v.verifierKey)\"}" : v.verifierKey)
                return
            }
            let anchor = try trust.flatMap(PublicKey.init(base64:)) ?? trustFile.map(KeyFiles.readPublic)
            let l = try ledger.open(readOnly: false)
            let signed: CheckpointSigner.Signed
            do {
                signed = try CheckpointSigner.sign(l, key: signer, statePath: CheckpointSigner.statePath(forKey: key), trustAnchor: anchor,
                                                   threads: ProcessInfo.processInfo.activeProcessorCount, at: Clock.now(),
                                                   notAfter: Clock.latestCredible())
            } catch let failure as VerificationFailure {
                throw ProofRefused("the log does not verify, so nothing was signed: \(failure)")
            }
            if let out { try Data(signed.note).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting) }
            if output.json {
                printJSON(["origin": .string(signed.checkpoint.origin), "size": .integer(signed.checkpoint.size), "root": .string(Base64.encode(signed.checkpoint.root)),
                           "new": .bool(signed.new), "verified": .integer(signed.verified), "note": .string(String(decoding: signed.note, as: UTF8.self))])
            } else {
                FileHandle.standardOutput.write(Data(signed.note))
                if !signed.new { FileHandle.standardError.write(Data("The log has not grown since this key's last checkpoint: it is signed again, unchanged.\n".utf8)) }
            }
            if !signed.stored { throw Ledger.CheckpointRefusal.notStored(size: signed.checkpoint.size) }
        }
    }
}
