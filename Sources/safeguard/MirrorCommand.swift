import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardService
import SafeguardStore

extension Safeguard {
    struct MirrorCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mirror",
            abstract: "Keep a verified local copy of a served log: fetch what is new through c2sp.org/tlog-tiles, check it, verify it.",
            discussion: """
                Fetches the log service's latest signed checkpoint (checked with --log-key), then the entry \
                bundles after what the copy holds (with a request signed by --key, a key enrolled as analyst \
                or mase_chair). The new entries are written only if, on top of the copy, they make exactly \
                the tree of that checkpoint; then the copy is verified with the root public key from your \
                kept state (COPY.state: the first time, in full), as 'verify --state' does. The service \
                does not serve details (names, narrative), so the copy holds none: verify it with \
                'safeguard verify --ledger COPY --details-withheld'. The checkpoint is kept in \
                COPY.checkpoint, for 'verify --checkpoint'. Run it as often as you like: each run fetches \
                only what is new.
                """)

        @Option(help: ArgumentHelp("The log service's address (default: $SAFEGUARD_SERVER).", valueName: "url"))
        var server: String?
        @Option(help: ArgumentHelp("Your copy: a ledger file made by the first run.", valueName: "path"), completion: .file())
        var ledger: String
        @Option(help: ArgumentHelp("Your key, enrolled as analyst or mase_chair, to sign the reads of entries.", valueName: "path"), completion: .file())
        var key: String
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's checkpoint verifier key, or a file holding it.", valueName: "vkey"))
        var logKey: String
        @OptionGroup var trust: TrustOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard let url = server ?? ProcessInfo.processInfo.environment["SAFEGUARD_SERVER"].flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw ValidationError("no service given: pass --server URL or set SAFEGUARD_SERVER")
            }
            let client = try LogClient(server: url, timeout: 120)
            let reader = try loadSigningKey(key)
            let log = try noteVerifier(logKey, what: "--log-key")
            let anchor = try trust.anchor()
            let progress = Progress("fetched", json: output.json)
            let outcome: Mirror.Outcome
            do {
                outcome = try Mirror.update(client, copy: ledger, reader: reader, log: log, trustAnchor: anchor, statePath: ledger + ".state") { n, of in
                    progress.total = of
                    progress.update(n)
                }
            } catch let failure as VerificationFailure {
                throw ProofRefused("the copy does not verify: \(failure). The log served it and signed its checkpoint: keep the copy as evidence")
            }
            progress.finish()
            let checkpointPath = ledger + ".checkpoint"
            // Written to a new file and renamed over the old one (never through a planted link).
            try Data(outcome.note).write(to: URL(fileURLWithPath: checkpointPath), options: .atomic)
            let c = outcome.checkpoint
            if output.json {
                printJSON(["ok": true, "size": .integer(c.size), "added": .integer(outcome.added), "root": .string(Base64.encode(c.root)),
                           "checkpoint": .string(checkpointPath), "state": .string(ledger + ".state")])
            } else {
                print("OK: \(ledger) holds the log \(c.origin) up to its checkpoint of \(c.size) events (\(outcome.added) new, verified against root key \(anchor.keyID); details withheld).")
                print("Checkpoint: \(checkpointPath); state: \(ledger).state.")
            }
        }
    }
}
