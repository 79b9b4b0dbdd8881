import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a facts-only copy of the ledger for an auditor: every signed entry and the tree, no details (no names, no narrative).",
            discussion: """
                The copy holds the entries up to the ledger's latest checkpoint (run 'safeguard checkpoint' first) \
                and is written only if they make exactly that checkpoint's tree; the checkpoint goes beside it in \
                COPY.checkpoint. Whoever receives it verifies it with nothing but the root public key: \
                'safeguard verify --ledger COPY --details-withheld --trust-file ROOT.pub --checkpoint COPY.checkpoint --log-key LOG.vkey'. \
                Each signed record still commits to its details by a salted digest, so details produced later \
                can be checked against it. The copy and its checkpoint are created mode 0600.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Flag(name: .customLong("facts-only"), help: "Leave out every details record (required: a full copy is the file itself, taken with 'sqlite3 FILE .backup COPY').")
        var factsOnly = false
        @Option(help: ArgumentHelp("The copy to write (a new file).", valueName: "path"), completion: .file())
        var out: String

        func validate() throws {
            guard factsOnly else { throw ValidationError("give --facts-only: export writes copies without details (for a full copy, back up the file itself)") }
        }

        func run() throws {
            let l = try Ledger.open(at: try ledger.path(), readOnly: true)
            guard let latest = try l.checkpoints().last else {
                throw InputError("the ledger holds no signed checkpoint: run 'safeguard checkpoint' first, then export up to it")
            }
            if FileManager.default.fileExists(atPath: out) || FileManager.default.fileExists(atPath: out + ".checkpoint") {
                throw InputError("\(out) or \(out).checkpoint already exists: give a new path for the copy")
            }
            let progress = Progress("copied", json: false)
            try l.exportFactsOnly(to: out, checkpoint: latest) { done, total in
                progress.total = total
                progress.update(done)
            }
            progress.finish()
            do { try writePrivately(Data(latest.note), to: out + ".checkpoint") } catch {
                throw InputError("cannot write \(out).checkpoint: \(error); the copy is at \(out)")
            }
            print("Wrote \(out): \(latest.size) events, facts only (no details), with the tree of the checkpoint in \(out).checkpoint.")
            print("Verify: safeguard verify --ledger \(out) --details-withheld --trust-file ROOT.pub --checkpoint \(out).checkpoint --log-key LOG.vkey")
        }
    }
}
