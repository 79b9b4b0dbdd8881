import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardPostgres
import SafeguardStore

extension Safeguard {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a ledger between a file and PostgreSQL, without re-signing anything.",
            discussion: """
                Copies every row as it is stored (events, details records, the Merkle tree's nodes, \
                checkpoints and wrapped case keys) from --from to --to, one a ledger file and the other \
                a postgres:// URL (docs/SCALE.md), then verifies the copy in full against the root public \
                key and checks that its head hash, tree root and checkpoints are the source's. A \
                PostgreSQL database must hold no ledger yet: its schema 'safeguard' is made in the same \
                transaction (so a failed move leaves nothing), and --service-role is granted what the log \
                service may do (SELECT and INSERT, never UPDATE, DELETE or TRUNCATE). A file must not \
                exist yet. The source is only read. Stop the log service before moving its ledger.
                """)

        @Option(help: ArgumentHelp("The ledger to copy: a file, or a postgres:// URL.", valueName: "file|url"), completion: .file())
        var from: String
        @Option(help: ArgumentHelp("Where to copy it: a new file, or a postgres:// URL of a database with no ledger (its password in $PGPASSWORD).", valueName: "file|url"), completion: .file())
        var to: String
        @Option(name: .customLong("service-role"), help: ArgumentHelp("Moving into PostgreSQL: the role 'safeguard serve --store' connects as, granted SELECT and INSERT on the ledger's tables and the two erasure functions.", valueName: "role"))
        var serviceRole: String?
        @Option(name: .customLong("reader-role"), help: ArgumentHelp("Moving into PostgreSQL: a role granted SELECT only (an auditor's, on a standby); repeat for more.", valueName: "role"))
        var readerRoles: [String] = []
        @Option(help: ArgumentHelp("Cores to verify the copy on (default: all of them).", valueName: "n"))
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        @OptionGroup var trust: TrustOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            let fromPG = PostgresURL.isURL(from), toPG = PostgresURL.isURL(to)
            guard fromPG != toPG else {
                throw ValidationError(fromPG ? "--from and --to are both PostgreSQL URLs: move a ledger between a file and PostgreSQL (to copy a database, use PostgreSQL's own tools)"
                                      : "--from and --to are both files: one of them must be a postgres:// URL (to copy a file, use 'safeguard export')")
            }
            if fromPG, serviceRole != nil || !readerRoles.isEmpty {
                throw ValidationError("--service-role and --reader-role grant privileges in the PostgreSQL database moved into: give them with --to postgres://…")
            }
            for role in [serviceRole].compactMap({ $0 }) + readerRoles {
                guard !role.isEmpty, role.count <= 63, role.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw ValidationError("the role '\(role)' is not a PostgreSQL role name safeguard accepts: letters, digits and _, at most 63")
                }
            }
            guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256") }
        }

        func run() throws {
            let anchor = try trust.anchor()
            let started = Date()
            let copy: Ledger
            let source: (head: Ledger.Head?, root: [UInt8], checkpoints: [Ledger.StoredCheckpoint])
            if PostgresURL.isURL(to) {
                let url = try PostgresURL(to)
                let file = try Ledger.open(at: from, readOnly: true)
                let size = try file.head()?.size ?? 0
                source = (try file.head(), try file.treeRoot().root, try file.checkpoints())
                let progress = Progress("copied to PostgreSQL:", total: size, json: output.json)
                try PostgresLedger.copy(from: file, to: url, serviceRole: serviceRole, readers: readerRoles) { progress.update($0) }
                progress.finish()
                copy = try PostgresCopy.open(to)
            } else {
                let url = try PostgresURL(from)
                let progress = Progress("copied from PostgreSQL:", json: output.json)
                copy = try PostgresLedger.copy(from: url, toNewFile: to, mode: 0o640) { progress.update($0) }
                progress.finish()
                source = (try copy.head(), try copy.treeRoot().root, try copy.checkpoints())
            }
            let copied = Date()
            // The copy, verified in full with the root key alone: what now answers for the ledger.
            let progress = Progress("verified", json: output.json)
            let v: Ledger.Verification
            do {
                v = try copy.verify(from: .none, trustAnchor: anchor, threads: threads, every: 2_000, progress: { n, total in
                    progress.total = total
                    progress.update(n)
                })
                progress.finish()
            } catch let f as VerificationFailure {
                progress.finish()
                if !PostgresURL.isURL(to) { try? FileManager.default.removeItem(atPath: to) }
                throw ProofRefused("the copy does not verify: seq \(f.seq): \(f.code): \(f.detail). "
                                   + (PostgresURL.isURL(to) ? "The database holds it now: drop its schema 'safeguard' before trying again, and verify the source ('safeguard verify')."
                                      : "Nothing was kept at \(to); verify the source with 'safeguard verify --ledger \(PostgresURL.isURL(from) ? "postgres://…" : from)'."))
            }
            let checkpoints = try copy.checkpoints()
            guard v.summary.headHash == (source.head?.hash ?? Entry.zeroHash), v.summary.treeRoot == source.root,
                checkpoints.map(\.size) == source.checkpoints.map(\.size), checkpoints.map(\.root) == source.checkpoints.map(\.root),
                checkpoints.map(\.note) == source.checkpoints.map(\.note)
            else {
                throw ProofRefused("the copy verifies but is not the source: its head, tree root or checkpoints differ (was the source written to during the move? stop the log service and move it again)")
            }
            let seconds = Date().timeIntervalSince(started)
            if output.json {
                printJSON(.object([
                    "ok": true, "from": .string(PostgresURL.isURL(from) ? (try PostgresURL(from)).description : from),
                    "to": .string(PostgresURL.isURL(to) ? (try PostgresURL(to)).description : to),
                    "events": .integer(v.summary.events), "head_hash": .string(Hex.encode(v.summary.headHash)),
                    "tree_root": .string(Base64.encode(v.summary.treeRoot)), "checkpoints": .integer(Int64(checkpoints.count)),
                    "copy_seconds": .string(String(format: "%.2f", copied.timeIntervalSince(started))), "seconds": .string(String(format: "%.2f", seconds)),
                ]))
            } else {
                print("Moved \(v.summary.events) events to \(PostgresURL.isURL(to) ? (try PostgresURL(to)).description : to) in \(String(format: "%.1f", seconds)) s (copy \(String(format: "%.1f", copied.timeIntervalSince(started))) s), and verified them there.")
                print("  head hash  \(Hex.encode(v.summary.headHash))")
                print("  tree root  \(Base64.encode(v.summary.treeRoot))")
                print("  checkpoints \(checkpoints.count), the same as the source's; nothing was re-signed.")
            }
        }
    }
}
