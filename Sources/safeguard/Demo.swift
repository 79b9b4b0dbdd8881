import ArgumentParser
import Foundation
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Synthetic data for trying safeguard out, testing and benchmarks.", subcommands: [Seed.self])
    }
}

extension Safeguard.Demo {
    struct Seed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a ledger of a fully synthetic partnership: agencies, keys and children's stories.",
            discussion: """
                Writes DIR/ledger.sqlite and DIR/keys/ (a root key and one practitioner key per agency, \
                unprotected: demo keys only). The events follow the toolkit: concerns, screenings, referrals, \
                strategy meetings, sharing, missing episodes, links through shared venues and vehicles, \
                disruption, MASE meetings and actions, with some late recordings and some recording-practice \
                gaps on purpose. The same --seed gives the same events. No real person is described.
                """)
        @Option(help: ArgumentHelp("A new folder for the ledger and keys.", valueName: "dir"), completion: .directory) var dir: String
        @Option(help: "How many events to generate (after the governance events).") var events = 10_000
        @Option(help: "The random seed.") var seed: UInt64 = 1
        @Option(name: .customLong("span-days"), help: "Spread the recordings over this many days.") var spanDays = 365
        @Option(help: ArgumentHelp("The last recording time (RFC 3339; default now). With the same --seed and --end the events and every hash are the same (not the wrapped case keys, whose nonces are random).", valueName: "time")) var end: String?
        @Flag(help: "Seal case details under per-case keys, each agency's key in DIR/keys/AGENCY.agency.key (docs/PRIVACY.md). Every agency is entitled to every case here.") var sealed = false
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...100_000_000).contains(events) else { throw ValidationError("--events must be between 1 and 100000000") }
            guard (1...36_500).contains(spanDays) else { throw ValidationError("--span-days must be between 1 and 36500") }
            if let end, Timestamp(rfc3339: end) == nil { throw ValidationError("--end must be an RFC 3339 time such as 2026-11-30T00:00:00Z") }
        }

        static let agencies: [(agency: String, role: String, name: String)] = [
            ("police", "practitioner", "DC 0001 (synthetic)"), ("csc", "practitioner", "SW 0002 (synthetic)"),
            ("health", "practitioner", "Nurse 0003 (synthetic)"), ("education", "safeguarding_lead", "DSL 0004 (synthetic)"),
            ("voluntary", "practitioner", "Worker 0005 (synthetic)"), ("mash", "practitioner", "MASH 0006 (synthetic)"),
            ("partnership", "mase_chair", "MASE chair 0007 (synthetic)"),
        ]

        /// Demo keys derive from the seed (SHA-256 of a label), so a seed gives the same ledger
        /// byte for byte. Never use such keys for real records.
        func demoKey(_ label: String) -> SigningKey {
            var seedBytes = SHA256.hash(Array("safeguard demo key \(seed) \(label)".utf8))
            return SigningKey(seed: SecretBytes(consuming: &seedBytes))
        }

        func run() throws {
            // The simulation dates its records by its own clock, with the pauses of real life.
            Ledger.maxClockJumpDays = nil
            let fm = FileManager.default
            if fm.fileExists(atPath: dir), let items = try? fm.contentsOfDirectory(atPath: dir), !items.isEmpty {
                throw InputError("\(dir) already exists and is not empty: choose a new folder")
            }
            try fm.createDirectory(atPath: dir + "/keys", withIntermediateDirectories: true)
            do { try generate() } catch {
                try? fm.removeItem(atPath: dir)  // nothing half-made is left behind
                throw error
            }
        }

        func generate() throws {
            let started = Date()
            let root = demoKey("root")
            try KeyFiles.writePair(try KeyFile.encode(root, passphrase: nil), root.publicKey, to: dir + "/keys/root.key")
            let end = self.end.flatMap(Timestamp.init(rfc3339:)) ?? Clock.now()
            // Stories take the time they take: a dry run finds when the last of the events would
            // be recorded, and the partnership starts that much earlier (or later) so that the
            // records run up to --end.
            let gap = spanDays * 86400 / events
            // Moving the start moves the calendar under the stories (weekends, panel days), so the
            // end moves by about as much, not exactly: up to 8 tries, keeping the closest (best a
            // day short of the end).
            var start = Timestamp(seconds: end.seconds - Int64(spanDays) * 86400)
            var best: (start: Timestamp, miss: Int64)?
            for _ in 0..<8 {
                var probe = SyntheticPartnership(seed: seed, start: start, meanGapSeconds: gap)
                var last = start.seconds
                for _ in 0..<events { last = probe.next().recordedAt.seconds }
                // Short of the end is better than past it (records past it are dated at it).
                let miss = last <= end.seconds ? abs(end.seconds - last - 86400) : 10 * (last - end.seconds) + 86400
                if best.map({ miss < $0.miss }) ?? true { best = (start, miss) }
                if (0...2 * 86400).contains(end.seconds - last) { break }
                start = Timestamp(seconds: start.seconds + (end.seconds - last) - 86400)
            }
            start = best?.start ?? start
            var setupClock = start.seconds - 3600
            var idNumber = 0
            let demoID = { () -> String in
                idNumber += 1
                return SyntheticPartnership.uuid("synthetic setup \(seed) \(idNumber)")
            }
            let tick = { () -> Timestamp in setupClock += 1; return Timestamp(seconds: setupClock) }
            // Details salts follow from --seed too, so that a seed always gives the same ledger.
            // Real recordings draw each salt at random; this data is synthetic.
            var saltNumber = 0
            let demoSalt = { () -> [UInt8] in saltNumber += 1; return SHA256.hash(Array("safeguard demo salt \(seed) \(saltNumber)".utf8)) }
            // Sealed (--sealed): each agency's key (from the seed, unprotected: demo only) is
            // in the policy, and the demo's writer holds them all, as a partnership's would not.
            var policy = ToolkitPolicy.document
            var agencyKeys: [String: SigningKey] = [:]
            if sealed {
                for a in Self.agencies {
                    let k = demoKey("agency \(a.agency)")
                    agencyKeys[a.agency] = k
                    try KeyFiles.writePair(try KeyFile.encode(k, passphrase: nil), k.publicKey, to: dir + "/keys/\(a.agency).agency.key")
                }
                // Every agency is entitled to every case here: the stories have schools and
                // voluntary workers record on cases others opened without a recorded share.
                policy = ToolkitPolicy.sealed(policy, agencyKeys: agencyKeys.mapValues(\.publicKey), everyCase: Self.agencies.map(\.agency).sorted())
            }
            // Case keys and nonces follow from --seed too (the wrapped keys do not: their nonces
            // are random, and they are not part of what is signed or hashed).
            var sealNumber = 0
            let keyring = CaseKeyring(agencyKey: nil) { sealNumber += 1; return SHA256.hash(Array("safeguard demo sealing \(seed) \(sealNumber)".utf8)) }
            let (ledger, _) = try Ledger.create(
                at: dir + "/ledger.sqlite", signer: root,
                drafts: [GovernanceDrafts.genesis(partnership: "Example Safeguarding Partnership (synthetic)", origin: "example.org/synthetic-ledger",
                                                  root: root.publicKey, at: Timestamp(seconds: setupClock)),
                         GovernanceDrafts.policy(document: policy, at: Timestamp(seconds: setupClock))],
                practitioner: "partnership root key holder (synthetic)", clock: tick, newID: demoID, newSalt: demoSalt)
            var keys: [String: SigningKey] = [:]
            var enrolments: [EventDraft] = []
            for a in Self.agencies {
                let k = demoKey(a.agency)
                keys[a.agency] = k
                try KeyFiles.writePair(try KeyFile.encode(k, passphrase: nil), k.publicKey, to: dir + "/keys/\(a.agency).key")
                enrolments.append(GovernanceDrafts.enrolment(of: k.publicKey, agency: a.agency, role: a.role, practitioner: a.name, at: Timestamp(seconds: setupClock)))
            }
            try ledger.append(enrolments, signer: root, clock: tick, newID: demoID, newSalt: demoSalt)

            var generator = SyntheticPartnership(seed: seed, start: start, meanGapSeconds: gap)
            let progress = Progress("seeded", total: Int64(events), json: output.json)
            var done = 0
            while done < events {
                let n = min(5_000, events - done)
                var items: [SyntheticPartnership.Item] = []
                items.reserveCapacity(n)
                for _ in 0..<n { items.append(generator.next()) }
                var i = 0
                let clock = { () -> Timestamp in defer { i += 1 }; return min(items[min(i, items.count - 1)].recordedAt, end) }
                // The simulation may run a little past --end; nothing is dated after it.
                let drafts = items.map { item -> EventDraft in
                    var d = item.draft
                    d.occurredAt = min(d.occurredAt, end)
                    return d
                }
                try ledger.append(drafts, signers: items.map { keys[$0.agency]! }, clock: clock, newID: Clock.newID, newSalt: demoSalt, keyring: keyring)
                done += n
                progress.update(Int64(done))
            }
            progress.finish()
            let seconds = Date().timeIntervalSince(started)
            let head = try ledger.head()!
            if output.json {
                printJSON(["ledger": .string(dir + "/ledger.sqlite"), "events": .integer(head.size), "head_hash": .string(Hex.encode(head.hash)),
                           "root_public_key": .string(root.publicKey.base64), "seconds": .integer(Int64(seconds))])
            } else {
                print("Seeded \(dir)/ledger.sqlite: \(head.size) events (\(events) synthetic) in \(String(format: "%.1f", seconds)) s.")
                print("Keys in \(dir)/keys (unprotected, demo only). Root public key: \(root.publicKey.base64)")
                print("Verify: safeguard verify --ledger \(dir)/ledger.sqlite --trust-file \(dir)/keys/root.key.pub")
            }
        }
    }
}
