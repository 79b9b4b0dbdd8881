import ArgumentParser
import Foundation
import Projections
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Project: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the read models (case state, audit trail) from the verified log.",
            discussion: """
                Read models live in your own folder, not beside the ledger: \
                $SAFEGUARD_HOME/projections/NAME-HASH.sqlite ($SAFEGUARD_HOME defaults to \
                ~/.local/state/safeguard; mode 0700, the file 0600), or the file $SAFEGUARD_PROJECTIONS. \
                They hold children's coded facts, and the verifier's record that 'update' trusts as \
                already verified, so only you should be able to change them. Each records the log size \
                and head hash it was built from and a digest of its rows: anyone who rebuilds from the \
                same log gets the same digest.
                """,
            subcommands: [Rebuild.self, Update.self, Status.self])
    }
}

/// Prints the statuses (one line each, or JSON).
func printStatus(_ statuses: [ProjectionEngine.Status], json: Bool) {
    for s in statuses {
        if json {
            printJSON(["projection": .string(s.name), "version": .integer(Int64(s.version)), "events": .integer(s.events),
                       "head_hash": .string(s.headHash), "digest": .string(s.digest), "behind": .integer(s.behind), "stale": .bool(s.stale)])
        } else {
            let lag = s.stale ? "code changed: update will rebuild" : s.behind == 0 ? "up to date" : "\(s.behind) events behind"
            print("\(padded(s.name, 11)) v\(s.version)  \(s.events) events, head \(s.headHash.prefix(16))…  digest \(s.digest)  (\(lag))")
        }
    }
}

extension Safeguard.Project {
    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replay the whole log from the first event, verifying it as it goes; nothing is kept if it does not verify.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var trust: TrustOptions
        @Flag(name: .customLong("details-withheld"), help: "The ledger is a copy without details records (from 'safeguard mirror'): verify it with them withheld.")
        var detailsWithheld = false
        @OptionGroup var output: OutputOptions

        func run() throws {
            let l = try ledger.open(readOnly: true)
            let fresh = !FileManager.default.fileExists(atPath: try ReadModels.path(for: l.path))
            let engine = try ReadModels.engine(l, create: true)
            let progress = Progress("verified and folded", json: output.json)
            defer { progress.finish() }
            let started = Date()
            let s: [ProjectionEngine.Status]
            do {
                engine.detailsWithheld = detailsWithheld
                // The total comes from the verification, once the file's schema is checked.
                s = try engine.rebuild(trustAnchor: try trust.anchor(), notAfter: Clock.latestCredible()) { n, total in
                    progress.total = total
                    progress.update(n)
                }
            } catch {
                // Nothing was kept (one transaction); a file made for this run goes too.
                if fresh {
                    try? engine.close()
                    for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: engine.path + suffix) }
                }
                throw error
            }
            if !output.json {
                let t = engine.timings
                let fold = t.foldTotal
                func secs(_ x: Double) -> String { String(format: "%.1f s", x) }
                print("Rebuilt \(engine.path) in \(secs(Date().timeIntervalSince(started))): \(t.events) events verified and folded; "
                      + "the fold took \(secs(fold)) of CPU (\(fold > 0 ? Int(Double(t.events) / fold) : 0) events/s: "
                      + t.fold.keys.sorted().map { "\($0) \(secs(t.fold[$0]!))" }.joined(separator: ", ")
                      + "), indexes, next steps and digests \(secs(t.finish)); verification ran beside it on another thread")
            }
            printStatus(s, json: output.json)
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Catch up with events added since the last build, verifying them (rebuilds if the code changed).")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var trust: TrustOptions
        @Flag(name: .customLong("details-withheld"), help: "The ledger is a copy without details records (from 'safeguard mirror'): verify it with them withheld.")
        var detailsWithheld = false
        @OptionGroup var output: OutputOptions

        func run() throws {
            let engine = try ReadModels.engine(try ledger.open(readOnly: true), create: true)
            engine.detailsWithheld = detailsWithheld
            printStatus(try engine.update(trustAnchor: try trust.anchor(), notAfter: Clock.latestCredible()), json: output.json)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each read model's head, digest and how far behind the log it is.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let engine = try ReadModels.engine(try ledger.open(readOnly: true), create: false)
            let s = try engine.status()
            guard !s.isEmpty else { throw InputError(ProjectionEngine.Failure.notBuilt.description) }
            printStatus(s, json: output.json)
        }
    }
}
