import ArgumentParser
import Foundation
import SafeguardCatalogue
import SafeguardCore

extension Safeguard {
    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy",
            abstract: "Show the policy in force, or record a new one (a governance event signed by the root key).",
            subcommands: [Show.self, Set.self])
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
}
