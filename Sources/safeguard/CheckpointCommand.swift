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
                auditors and witnesses to keep. The log never signs a checkpoint inconsistent with one it \
                signed before: if the tree no longer extends the last checkpoint, nothing is signed and the \
                command fails. Give auditors and witnesses the verifier key ('--vkey') once, like the root \
                public key. Run it after verifying the file if anyone else could have written to it.
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(help: ArgumentHelp("The log's checkpoint key (a key file from 'safeguard keys generate', kept apart from the root key).", valueName: "path"))
        var key: String
        @Flag(help: "Print the checkpoint key's verifier key (NAME+ID+KEY) for auditors and witnesses, and sign nothing.")
        var vkey = false
        @Option(help: ArgumentHelp("Also write the signed checkpoint to this file.", valueName: "path"))
        var out: String?
        @OptionGroup var output: OutputOptions

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
            let l = try ledger.open(readOnly: false)
            let (checkpoint, note, new) = try l.signCheckpoint(key: signer, at: Clock.now())
            if let out { try Data(note).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting) }
            if output.json {
                printJSON(["origin": .string(checkpoint.origin), "size": .integer(checkpoint.size), "root": .string(Base64.encode(checkpoint.root)),
                           "new": .bool(new), "note": .string(String(decoding: note, as: UTF8.self))])
            } else {
                FileHandle.standardOutput.write(Data(note))
                if !new { FileHandle.standardError.write(Data("The log has not grown since this checkpoint: nothing new was signed.\n".utf8)) }
            }
        }
    }
}
