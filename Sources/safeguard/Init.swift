import ArgumentParser
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new ledger: its genesis event and the default policy, signed by the root key.",
            discussion: """
                Make the partnership's root key first with 'safeguard keys generate --root' (a \
                passphrase of at least 16 characters). Its public key is the trust anchor: give it to \
                auditors by a separate, trusted route. The ledger is built under a temporary name beside \
                PATH and appears at PATH only when complete, so an interrupted init leaves nothing to \
                clear up.
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .customLong("root-key"), help: ArgumentHelp("The partnership's root secret key file.", valueName: "path"), completion: .file())
        var rootKey: String
        @Option(help: ArgumentHelp("The partnership's name, as it should appear in reports.", valueName: "name"))
        var partnership: String
        @Option(help: ArgumentHelp("The ledger's origin: a short scheme-less name such as sutton.example/cse-ledger, used in signed checkpoints.", valueName: "name"))
        var origin: String
        @Option(help: ArgumentHelp("Who holds the root key (recorded as the genesis actor).", valueName: "name"))
        var practitioner = "partnership root key holder"
        @Option(name: .customLong("log-key"), help: ArgumentHelp(
            "The log's checkpoint public key file (PATH.pub), named in the log at once (or later with 'safeguard keys set-log-key').", valueName: "path"), completion: .file())
        var logKey: String?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard LedgerState.isOrigin(origin) else {
                throw ValidationError("--origin must be 1-128 printable characters without spaces, '+' or a scheme, e.g. sutton.example/cse-ledger")
            }
            do {
                try Validate.name(partnership, field: "--partnership")
                try Validate.name(practitioner, field: "--practitioner")
            } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let path = try ledger.path()
            let key = try loadSigningKey(rootKey, rootPassphrase: true)
            let now = Clock.now()
            var drafts = [
                GovernanceDrafts.genesis(partnership: partnership, origin: origin, root: key.publicKey, at: now),
                GovernanceDrafts.policy(document: ToolkitPolicy.document, at: now),
            ]
            if let logKey { drafts.append(GovernanceDrafts.logKey(try KeyFiles.readPublic(logKey), at: now)) }
            let (_, written) = try Ledger.create(at: path, signer: key, drafts: drafts, practitioner: practitioner,
                                                 clock: Clock.now, newID: Clock.newID)
            let head = Hex.encode(written.last!.entryHash)
            if output.json {
                printJSON(["ledger": .string(path), "partnership": .string(partnership), "origin": .string(origin),
                           "root_public_key": .string(key.publicKey.base64), "root_key_id": .string(key.publicKey.keyID),
                           "size": .integer(Int64(written.count)), "head_hash": .string(head)])
            } else {
                print("Created ledger \(path) for \(partnership) (origin \(origin)).")
                print("Root public key (the trust anchor; give it to auditors separately): \(key.publicKey.base64)")
                print("Root key id: \(key.publicKey.keyID)")
                print("Policy: \(Policy.toolkitDefault.name) v\(Policy.toolkitDefault.version). Head: \(written.count) events, \(head)")
                print("Next: enrol each agency's keys with 'safeguard keys enrol'.")
            }
        }
    }
}
