import ArgumentParser
import Foundation
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy",
            abstract: "Show the policy in force, or record a new one (a governance event signed by the root key).",
            subcommands: [Show.self, Set.self, Seal.self, Rewrap.self, Identifiers.self])
    }
}

extension Safeguard.PolicyCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The policy in force: its version, which level drives the rules, the deadlines and what each agency may record.")
        @OptionGroup var ledger: LedgerOptions
        @Flag(help: "Print the whole policy document as JSON.") var json = false

        func run() throws {
            let l = try ledger.open(readOnly: true)
            guard let doc = try l.state().policyDocument else { throw InputError("\(l.path) has no policy yet: run 'safeguard init' to make a ledger with one") }
            if json { return print(String(decoding: try CanonicalJSON.encode(doc), as: UTF8.self)) }
            let p = try PolicyDocument(json: doc)
            print("Policy \(p.name), version \(p.version) (built-in toolkit policy: version \(ToolkitPolicy.version))")
            print("Level for the rules: \(p.levelForRules.rawValue): \(p.levelForRules.phrase)")
            let d = p.deadlines
            print("Deadlines: MASH referral \(d.mashReferralSignificant) working days (significant), \(d.mashReferralMedium) (medium); written form \(d.writtenAfterTelephone) after a telephone referral; "
                  + "Family CAF \(d.familyCAF); tell the referrer of NFA \(d.nfaReferrerTold); return home interview \(d.rhiOfferHours) hours; late recording after \(d.lateRecording); "
                  + "transition plan \(d.transitionMonthsBefore18) months before 18")
            print("What each agency may record:")
            for agency in p.permissions.agencies {
                print("  \(padded(agency, 12)) \(p.permissions.permissions[agency]!.sorted().joined(separator: " "))")
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a new policy: the built-in toolkit policy (--toolkit) or a document (--file).",
            discussion: """
                The policy is a governance.policy_set event signed by the root key. Screenings from then \
                on are scored under it (their policy_version must be its version), and reports judge \
                deadlines by the policy in force at the head. Its version must be higher than the one in \
                force. See docs/CATALOGUE.md for the document's members.
                """)
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var signer: SignerOptions
        @Flag(help: "Record the policy built into this safeguard (the toolkit's, version \(ToolkitPolicy.version)).") var toolkit = false
        @Option(help: ArgumentHelp("A policy document (JSON) to record.", valueName: "path"), completion: .file()) var file: String?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard toolkit != (file != nil) else { throw ValidationError("give one of --toolkit and --file PATH") }
        }

        func run() throws {
            let doc: JSONValue
            if let file {
                guard let bytes = FileManager.default.contents(atPath: file) else { throw InputError("cannot read \(file): check the path") }
                do { doc = try JSONParser.parse([UInt8](bytes)) } catch { throw InputError("\(file) is not a JSON document: \(error)") }
            } else {
                doc = ToolkitPolicy.document
            }
            let p: PolicyDocument
            do { p = try PolicyDocument(json: doc) } catch { throw InputError("\(error): nothing was recorded") }
            if try server.client() == nil, let current = try? ledger.open(readOnly: true).state().policyDocument, let v = current["version"]?.integerValue, p.version <= v {
                throw InputError("the policy in force is version \(v); the new one must have a higher version (it has \(p.version)): nothing was recorded")
            }
            try appendAndReport([GovernanceDrafts.policy(document: doc, at: Clock.now())], ledger: ledger, server: server, signer: signer, output: output, timeIsNow: true) {
                "Recorded policy \(p.name) version \(p.version) at seq \($0[0].seq): \(p.levelForRules.phrase). Screenings from now on give policy version \(p.version)."
            }
        }
    }

    struct Seal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal case details from now on: a new policy version with a key for each agency and the agencies entitled to every case.",
            discussion: """
                Records the policy in force again, one version higher, with a `sealing` member \
                (docs/FORMAT.md §3.5, docs/PRIVACY.md): from then on every case's details are \
                encrypted under that case's own key, wrapped for each agency entitled to the case — \
                those of --every-case, the agency that opened it, and any it is shared with \
                (record share). Each agency's key is FOLDER/AGENCY.key (made there, like 'safeguard \
                keys generate', where it does not exist; otherwise its .pub is used): give it to that \
                agency's practitioners as --agency-key, and keep it like a signing key. Every agency \
                is also granted access.consulted, the record of each reading of details. Signed by \
                the root key. Records made before stay as they were.
                """)
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signer: SignerOptions
        @Option(name: .customLong("agency-keys"), help: ArgumentHelp("The folder of the agencies' keys (AGENCY.key and AGENCY.key.pub).", valueName: "folder"),
                completion: .directory)
        var folder: String
        @Option(name: .customLong("every-case"), help: ArgumentHelp("The agencies entitled to every case's details, comma-separated (default: \(Self.defaultEveryCase.joined(separator: ",")), those the policy names).", valueName: "agencies"))
        var everyCase: String?
        @Option(name: .customLong("retain-years"), help: ArgumentHelp("How many years after a case is closed its details may be destroyed ('safeguard retention review --decision destroyed'); without it, the policy's retention stays as it is.", valueName: "years"))
        var retainYears: Int?
        @Flag(help: "Write new agency keys without a passphrase (demo and test keys only).")
        var unprotected = false

        func validate() throws {
            if let retainYears, !(0...100).contains(retainYears) { throw ValidationError("--retain-years must be a whole number of years from 0 to 100") }
        }
        @OptionGroup var output: OutputOptions

        static let defaultEveryCase = ToolkitPolicy.everyCaseByDefault

        func run() throws {
            let l = try ledger.open(readOnly: true)
            let state = try l.state()
            guard let policy = state.policy else {
                throw InputError("the ledger has no policy in force: record one with 'safeguard policy set' first")
            }
            let agencies = policy.agencies
            let every = everyCase.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? Self.defaultEveryCase.filter { policy.permissions[$0] != nil }
            if let unknown = every.first(where: { policy.permissions[$0] == nil }) {
                throw InputError("--every-case names \(unknown), which the policy does not: give some of \(agencies.joined(separator: ", "))")
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
                throw InputError("\(folder) is not a folder: create it (mode 0700) for the agencies' keys")
            }
            var passphrase: SecretBytes?
            var keys: [String: PublicKey] = [:], made: [String] = []
            for agency in agencies {
                let path = (folder as NSString).appendingPathComponent("\(agency).key")
                if FileManager.default.fileExists(atPath: path + ".pub") {
                    keys[agency] = try KeyFiles.readPublic(path + ".pub")
                    continue
                }
                if !unprotected, passphrase == nil {
                    guard let p = try Passphrase.new(prompt: "Passphrase for the new agency keys: ", minimum: Passphrase.minimum) else {
                        throw InputError("a passphrase is needed for the agency keys: set SAFEGUARD_PASSPHRASE, run from a terminal, or pass --unprotected for demo keys")
                    }
                    passphrase = p
                }
                let key = SigningKey.generate()
                try KeyFiles.writePair(try KeyFile.encode(key, passphrase: passphrase), key.publicKey, to: path)
                keys[agency] = key.publicKey
                made.append(path)
            }
            try recordNextVersion(ledger: ledger, signer: signer, output: output) { doc in
                guard case .object(let sealed) = ToolkitPolicy.sealed(.object(doc), agencyKeys: keys, everyCase: every) else { return }
                doc = sealed
                if let retainYears { doc["retention"] = .object(["years_after_closure": .integer(Int64(retainYears))]) }
            } human: { version, entry in
                var lines = made.map { "Agency key: \($0) (mode 0600\(passphrase == nil ? ", NOT passphrase-protected" : ", passphrase-protected")): give it to that agency's practitioners as --agency-key" }
                lines.append("Recorded policy version \(version) at seq \(entry.seq): case details are sealed from now on, entitled to every case: \(every.joined(separator: ", ")).")
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Rewrap: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wrap case keys again: copies for agencies entitled to a case that lack one, bound copies for old ones, and new copies of named cases.",
            discussion: """
                Run by a practitioner of an agency that holds the case keys (say police), with \
                their own key and their agency's key, on the ledger's machine, in one transaction. \
                For each case whose key that agency holds, the copy is opened and trusted only if \
                it opens the case's first sealed record; then it is wrapped, bound to the case, for \
                each entitled agency that holds no copy (after a policy adds agencies to every \
                case). Every copy of a case is written again, and copies for agencies not entitled \
                removed, when your agency's copy was written before copies were bound to their \
                case (the log service seals nothing under such a copy), and for each case named \
                with --case: use it when an agency's copy does not open (it was made wrongly). \
                No event is recorded: who is entitled is already in the log. Cases your agency \
                holds no copy of are listed, for an agency that does to run this too.
                """)
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signer: SignerOptions
        @OptionGroup var agency: AgencyKeyOptions
        @Option(name: .customLong("case"), help: "Write every copy of this case's key again (repeat for more cases); without it, only missing and unbound copies.")
        var cases: [String] = []
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard let agencyKey = try agency.load() else { throw InputError("give your agency's key with --agency-key FILE (or $SAFEGUARD_AGENCY_KEY)") }
            let l = try ledger.open(readOnly: false)
            let progress = Progress("cases looked at", json: output.json)
            let done: Ledger.Rewrapped
            do {
                done = try l.rewrap(agencyKey: agencyKey, writer: try signer.load(), only: cases.isEmpty ? nil : Swift.Set(cases)) { i, of in
                    progress.total = Int64(of)
                    progress.update(Int64(i))
                }
            } catch let r as CaseKeyring.Refusal { throw InputError("\(r.description); nothing was changed") }
            progress.finish()
            if output.json {
                printJSON(.object(["copies_written": .integer(Int64(done.copiesWritten)), "cases": .integer(Int64(done.cases)),
                                   "cases_not_held": .array(done.notHeld.map { .string($0) })]))
                return
            }
            print("Wrote \(done.copiesWritten) wrapped cop\(done.copiesWritten == 1 ? "y" : "ies") of case keys for \(done.cases) case\(done.cases == 1 ? "" : "s").")
            if !done.notHeld.isEmpty {
                print("\(done.notHeld.count) case\(done.notHeld.count == 1 ? "" : "s") still lack a copy for an entitled agency, and your agency holds none to wrap from: "
                      + done.notHeld.prefix(10).joined(separator: ", ") + (done.notHeld.count > 10 ? ", …" : "") + " (an agency that holds them runs this too).")
            }
        }
    }

    struct Identifiers: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refuse case ids and references that could identify someone: a new policy version with the partnership's shapes and borough codes.",
            discussion: """
                Records the policy in force again, one version higher, with an `identifiers` member \
                (docs/CATALOGUE.md "Identifiers"): from then on a new case's id must be one of the \
                case prefixes followed by digits (and '-'), every reference (link targets, meetings, \
                actions) one of the reference prefixes followed by digits, '-' and single capital \
                letters, and the borough one of the codes given; anything else — a name, a date of \
                birth, an address — is refused, by 'record' and by 'verify'. Facts are signed and never \
                erased: identifying data belongs in the details. Signed by the root key.
                """)
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signer: SignerOptions
        @Option(name: .customLong("case-prefixes"), help: ArgumentHelp("Case id prefixes, comma-separated (default C-).", valueName: "prefixes")) var casePrefixes = "C-"
        @Option(name: .customLong("reference-prefixes"), help: ArgumentHelp("Reference prefixes, comma-separated (default VENUE-,VEH-,POI-,STRAT-,MASE-).", valueName: "prefixes"))
        var referencePrefixes = "VENUE-,VEH-,POI-,STRAT-,MASE-"
        @Option(help: ArgumentHelp("The partnership's borough codes, comma-separated.", valueName: "codes")) var boroughs: String
        @OptionGroup var output: OutputOptions

        static func list(_ s: String) -> [String] { s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

        func validate() throws {
            for (name, value) in [("--case-prefixes", casePrefixes), ("--reference-prefixes", referencePrefixes), ("--boroughs", boroughs)] {
                let items = Self.list(value)
                guard !items.isEmpty, items.allSatisfy({ $0.count <= 32 && $0.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 } }) else {
                    throw ValidationError("\(name) must be a comma-separated list of ASCII codes of up to 32 characters")
                }
            }
        }

        func run() throws {
            try recordNextVersion(ledger: ledger, signer: signer, output: output) { doc in
                doc["identifiers"] = .object([
                    "case_id_prefixes": .array(Self.list(casePrefixes).map { .string($0) }),
                    "reference_prefixes": .array(Self.list(referencePrefixes).map { .string($0) }),
                    "boroughs": .array(Self.list(boroughs).map { .string($0) }),
                ])
            } human: { version, entry in
                "Recorded policy version \(version) at seq \(entry.seq): new case ids must look like \(Self.list(casePrefixes)[0])2026-0001, references like \(Self.list(referencePrefixes)[0])0012, boroughs one of \(Self.list(boroughs).joined(separator: ", "))."
            }
        }
    }
}

/// Records the policy in force again, one version higher, as `change` makes it: checked as
/// the log and the catalogue will read it before anything is written, signed by the root key.
func recordNextVersion(ledger: LedgerOptions, signer: SignerOptions, output: OutputOptions, change: (inout [String: JSONValue]) throws -> Void,
                       human: @escaping (Int64, StoredEntry) -> String) throws {
    guard case .object(var doc)? = try ledger.open(readOnly: true).state().policyDocument else {
        throw InputError("the ledger has no policy in force: record one with 'safeguard policy set' first")
    }
    let version = (doc["version"]?.integerValue ?? 0) + 1
    doc["version"] = .integer(version)
    try change(&doc)
    do { _ = try PolicyDocument(json: .object(doc)); _ = try Policy(json: .object(doc)) } catch { throw InputError("\(error): nothing was recorded") }
    try appendAndReport([GovernanceDrafts.policy(document: .object(doc), at: Clock.now())], ledger: ledger, signer: signer, output: output, timeIsNow: true) {
        human(version, $0[0])
    }
}
