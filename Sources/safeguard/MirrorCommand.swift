import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardPostgres
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
                only what is new. With --store postgres://URL instead (docs/SCALE.md), the copy is made \
                from the ledger in PostgreSQL (a standby will do), in one snapshot with its schema checked \
                exactly, and verified from your state the same way; the database's own roles decide \
                who may read it, so --key and --log-key are not needed. A role that may not read \
                details (an auditor's) copies with --details-withheld.
                """)

        @Option(help: ArgumentHelp("The log service's address (default: $SAFEGUARD_SERVER).", valueName: "url"))
        var server: String?
        @Option(help: ArgumentHelp("Your copy: a ledger file made by the first run.", valueName: "path"), completion: .file())
        var ledger: String
        @Option(help: ArgumentHelp("Copy from the ledger in PostgreSQL at this postgres:// URL (a standby will do) instead of from a log service.", valueName: "url"))
        var store: String?
        @Flag(name: .customLong("details-withheld"), help: ArgumentHelp("With --store: copy without the details records and wrapped keys (an auditor's role may not read them); the copy is verified with them withheld."))
        var detailsWithheld = false
        @Option(help: ArgumentHelp("Your key, enrolled as analyst or mase_chair, to sign the reads of entries.", valueName: "path"), completion: .file())
        var key: String?
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's checkpoint verifier key, or a file holding it.", valueName: "vkey"))
        var logKey: String?
        @OptionGroup var trust: TrustOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let store {
                guard PostgresURL.isURL(store) else { throw ValidationError("--store takes a postgres:// URL of a ledger in PostgreSQL") }
                if server != nil { throw ValidationError("--server and --store are two places to copy from: give one") }
            } else if detailsWithheld {
                throw ValidationError("--details-withheld goes with --store (a copy from the service never holds details)")
            } else if key == nil || logKey == nil {
                throw ValidationError("copying from a log service needs --key (yours, enrolled as analyst or mase_chair) and --log-key (the log's verifier key)")
            }
        }

        func run() throws {
            if let store { return try fromStore(store) }
            guard let key, let logKey else { return }
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

        /// A new snapshot of the store, verified from the kept state (or in full, creating it),
        /// then put in place of the copy: the copy is always one the state covers.
        func fromStore(_ text: String) throws {
            let url = try PostgresURL(text)
            let anchor = try trust.anchor()
            let statePath = ledger + ".state"
            guard FileManager.default.fileExists(atPath: ledger) || !FileManager.default.fileExists(atPath: statePath) else {
                throw ProofInputError("a state file '\(statePath)' exists but no copy at '\(ledger)': move the state away, or give the copy it belongs to")
            }
            let folder = (ledger as NSString).deletingLastPathComponent
            let fresh = (folder.isEmpty ? "" : folder + "/") + "." + (ledger as NSString).lastPathComponent + ".new-\(getpid())"
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: fresh + suffix) }
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: fresh + suffix) } }
            let progress = Progress("read from PostgreSQL:", json: output.json)
            let copy = try PostgresLedger.copy(from: url, toNewFile: fresh, mode: 0o640, withhold: detailsWithheld) { progress.update($0) }
            progress.finish()
            let withheld = detailsWithheld
            let kept = FileManager.default.fileExists(atPath: statePath) ? try AuditState.open(statePath) : nil
            let update = kept == nil ? try AuditState.Update(creating: statePath) : AuditState.Update()
            let v: Ledger.Verification
            do {
                v = try copy.verify(from: kept.map { .state($0) } ?? .none, trustAnchor: anchor, threads: ProcessInfo.processInfo.activeProcessorCount,
                                    detailsWithheld: withheld, onEntry: { try update.add($0, $1) })
            } catch let refusal as Ledger.ExtensionRefusal {
                throw ProofRefused("the ledger in PostgreSQL no longer holds what your state (\(statePath)) says you verified (\(refusal)): keep the state and your copy as evidence")
            } catch let failure as VerificationFailure {
                throw ProofRefused("the ledger in PostgreSQL does not verify: \(failure). Your copy and state are left as they were")
            }
            update.finish(tree: v.tree, cases: v.cases)
            if let kept { try kept.save(update) } else { try AuditState.create(statePath, update, rootKey: anchor, origin: v.summary.origin) }
            guard rename(fresh, ledger) == 0 else { throw ProofInputError("cannot put the new copy at \(ledger): \(String(cString: strerror(errno)))") }
            let added = v.summary.events - v.from
            if output.json {
                printJSON(["ok": true, "size": .integer(v.summary.events), "added": .integer(added), "root": .string(Base64.encode(v.summary.treeRoot)),
                           "state": .string(statePath), "details_withheld": .bool(withheld)])
            } else {
                print("OK: \(ledger) holds the ledger at \(url), \(v.summary.events) events (\(added) new, verified against root key \(anchor.keyID)\(withheld ? "; details withheld" : "")).")
                print("State: \(statePath).")
            }
        }
    }
}
