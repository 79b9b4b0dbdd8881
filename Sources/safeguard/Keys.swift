import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardService
import SafeguardStore

extension Safeguard {
    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate, enrol, revoke and list signing keys.",
            discussion: """
                The root key enrols any agency's keys; an enrolled safeguarding lead may enrol and \
                revoke practitioner keys of their own agency. Enrolment and revocation are events in \
                the log, so verification knows which keys were valid at every point.
                """,
            subcommands: [Generate.self, Enrol.self, Revoke.self, List.self, RotateRoot.self, SetLogKey.self])
    }
}

extension Safeguard.Keys {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new Ed25519 key pair: a secret key file (mode 0600) and PATH.pub.",
            discussion: """
                The secret key is protected with a passphrase (Argon2id + XChaCha20-Poly1305) taken \
                from $SAFEGUARD_PASSPHRASE or asked for twice on the terminal: at least 12 characters, \
                16 for the partnership's root key (--root). Use --unprotected only for test and demo \
                keys. The files are written whole or not at all: after a full disk or a crash, run the \
                same command again.
                """)

        @Option(help: ArgumentHelp("Where to write the secret key; the public key goes to PATH.pub.", valueName: "path"), completion: .file())
        var out: String
        @Flag(help: "Store the secret key without a passphrase (demo and test keys only).")
        var unprotected = false
        @Flag(help: "This is the partnership's root key: its passphrase must be at least 16 characters.")
        var root = false
        @OptionGroup var output: OutputOptions

        func run() throws {
            let pubPath = out + ".pub"
            for p in [out, pubPath] where FileManager.default.fileExists(atPath: p) { throw KeyFiles.Failure.exists(p) }
            let passphrase: SecretBytes?
            if unprotected {
                passphrase = nil
            } else {
                guard let p = try Passphrase.new(prompt: "Passphrase for the new key: ", minimum: root ? Passphrase.rootMinimum : Passphrase.minimum) else {
                    throw InputError("a passphrase is needed: set SAFEGUARD_PASSPHRASE, run from a terminal, or pass --unprotected for a demo key")
                }
                passphrase = p
            }
            let key = SigningKey.generate()
            try KeyFiles.writePair(try KeyFile.encode(key, passphrase: passphrase), key.publicKey, to: out)
            if output.json {
                printJSON(["secret_key_file": .string(out), "public_key_file": .string(pubPath),
                           "public_key": .string(key.publicKey.base64), "key_id": .string(key.publicKey.keyID),
                           "protected": .bool(passphrase != nil)])
            } else {
                print("Secret key: \(out) (mode 0600\(passphrase == nil ? ", NOT passphrase-protected" : ", passphrase-protected"))")
                print("Public key: \(pubPath)  \(key.publicKey.base64)")
                print("Key id: \(key.publicKey.keyID)")
            }
        }
    }

    struct Enrol: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol a public key for an agency, role and practitioner (a governance event).")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var signer: SignerOptions
        @Option(name: .customLong("public"), help: ArgumentHelp("The new key's public key file (PATH.pub from keys generate).", valueName: "path"), completion: .file())
        var publicFile: String
        @Option(help: ArgumentHelp("The agency code, e.g. police, csc, health, education, voluntary, mash.", valueName: "code"))
        var agency: String
        @Option(help: ArgumentHelp("One of: \(LedgerState.roles.sorted().joined(separator: ", ")).", valueName: "role"))
        var role: String
        @Option(help: ArgumentHelp("The practitioner's name or staff identifier.", valueName: "name"))
        var practitioner: String
        @Option(help: ArgumentHelp(
            "The key id of this practitioner's key that the new one replaces (a practitioner has one live key; revoke the old one with --reason rotated once the new one is in use).",
            valueName: "key-id"))
        var replaces: String?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let replaces, !Validate.isKeyID(replaces) { throw ValidationError("--replaces must be 32 lowercase hex digits, as 'safeguard keys list' shows") }
            guard LedgerState.roles.contains(role) else {
                throw ValidationError("--role must be one of \(LedgerState.roles.sorted().joined(separator: ", "))")
            }
            do {
                try Validate.code(agency, field: "--agency")
                try Validate.name(practitioner, field: "--practitioner")
            } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let newKey = try KeyFiles.readPublic(publicFile)
            let draft = GovernanceDrafts.enrolment(of: newKey, agency: agency, role: role, practitioner: practitioner, replacing: replaces, at: Clock.now())
            try appendAndReport([draft], ledger: ledger, server: server, signer: signer, output: output, timeIsNow: true) {
                "Enrolled key \(newKey.keyID) for \(practitioner) (\(agency), \(role)) at seq \($0[0].seq)."
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an enrolled key: events it signs after this point fail verification.")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var signer: SignerOptions
        @Option(name: .customLong("key-id"), help: ArgumentHelp("The 32-hex-digit id of the key to revoke (see 'keys list').", valueName: "id"))
        var keyID: String
        @Option(help: ArgumentHelp("One of: \(LedgerState.revocationReasons.sorted().joined(separator: ", ")).", valueName: "reason"))
        var reason: String
        @Option(name: .customLong("compromised-since"), help: ArgumentHelp(
            "With --reason compromised or lost: the first sequence number from which the key may have been in other hands. Events it signed from then on still verify, and 'verify' lists them for review.",
            valueName: "seq"))
        var compromisedSince: Int64?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if compromisedSince != nil, !["compromised", "lost"].contains(reason) {
                throw ValidationError("--compromised-since goes with --reason compromised or lost")
            }
            if let compromisedSince, compromisedSince < 1 { throw ValidationError("--compromised-since must be a sequence number after genesis") }
            guard Validate.isKeyID(keyID) else { throw ValidationError("--key-id must be 32 lowercase hex digits, as 'safeguard keys list' shows") }
            guard LedgerState.revocationReasons.contains(reason) else {
                throw ValidationError("--reason must be one of \(LedgerState.revocationReasons.sorted().joined(separator: ", "))")
            }
        }

        func run() throws {
            let draft = GovernanceDrafts.revocation(of: keyID, reason: reason, compromisedSince: compromisedSince, at: Clock.now())
            try appendAndReport([draft], ledger: ledger, server: server, signer: signer, output: output, timeIsNow: true) {
                "Revoked key \(keyID) (\(reason)) at seq \($0[0].seq)."
                    + (compromisedSince.map { " Events it signed from seq \($0) on are flagged by 'safeguard verify' for review." } ?? "")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys enrolled in the ledger, with when each was enrolled and revoked.")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let state = try ledger.open(readOnly: true).state()
            for r in state.registry.ordered {
                if output.json {
                    var o: [String: JSONValue] = [
                        "key_id": .string(r.keyID), "public_key": .string(r.publicKey.base64), "agency": .string(r.actor.agency),
                        "role": .string(r.actor.role), "practitioner": .string(r.actor.practitioner),
                        "enrolled_at_seq": .integer(r.enrolledAt), "enrolled_by": .string(r.enrolledBy),
                    ]
                    if let at = r.revokedAt { o["revoked_at_seq"] = .integer(at); o["revocation_reason"] = .string(r.revocationReason ?? "") }
                    if let since = r.compromisedSince { o["compromised_since_seq"] = .integer(since) }
                    if let replaced = r.replaces { o["replaces"] = .string(replaced) }
                    printJSON(.object(o))
                } else {
                    let status = r.revokedAt.map { "revoked at seq \($0) (\(r.revocationReason ?? "")"
                        + (r.compromisedSince.map { ", compromised since seq \($0)" } ?? "") + ")" } ?? "valid"
                    let how = r.actor.role == "root" && r.enrolledAt > 0 ? "root since seq \(r.enrolledAt) (handed over by \(r.enrolledBy))"
                        : "enrolled at seq \(r.enrolledAt)" + (r.replaces.map { ", replacing \($0)" } ?? "")
                    print("\(r.keyID)  \(r.actor.agency)/\(r.actor.role)  \(r.actor.practitioner)  \(how)  \(status)")
                }
            }
        }
    }
}

extension Safeguard.Keys {
    struct RotateRoot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-root",
            abstract: "Hand the partnership's root over to a new root key (a governance event signed by the old root, accepted by the new).",
            discussion: """
                Use it to retire a root key before it is lost, or while it is still yours when others may have \
                seen it: from this event on, the old root key signs nothing, and the new one enrols, revokes and \
                sets the policy. Everything signed before stays valid. Auditors keep the first root public key (the \
                one genesis names) as their trust anchor: the hand-over is proved in the log. Both secret keys are \
                needed; if the old one is lost, docs/FORMAT.md §8.6 says what the partnership does.
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .customLong("key"), help: ArgumentHelp("The current root key file.", valueName: "path"), completion: .file())
        var key: String
        @Option(name: .customLong("new-key"), help: ArgumentHelp("The new root key file (from 'safeguard keys generate --root').", valueName: "path"), completion: .file())
        var newKey: String
        @Option(help: ArgumentHelp("Who holds the new root key.", valueName: "name"))
        var practitioner = "partnership root key holder"
        @OptionGroup var output: OutputOptions

        func validate() throws {
            do { try Validate.name(practitioner, field: "--practitioner") } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let l = try ledger.open(readOnly: false)
            let old = try loadSigningKey(key)
            let new = try loadSigningKey(newKey, rootPassphrase: true)
            guard let origin = try l.state().genesis?.origin else { throw InputError("the ledger has no genesis: it is not one safeguard made") }
            let draft = GovernanceDrafts.rootRotation(to: new, from: old.publicKey, origin: origin, practitioner: practitioner, at: Clock.now())
            let written = try l.append([draft], signer: old, clock: Clock.now, newID: Clock.newID)
            if output.json {
                printJSON(["seq": .integer(written[0].seq), "event_id": .string(written[0].eventID), "old_root_key_id": .string(old.publicKey.keyID),
                           "new_root_key_id": .string(new.publicKey.keyID)])
            } else {
                print("The root key is now \(new.publicKey.keyID) (held by \(practitioner)), from seq \(written[0].seq); \(old.publicKey.keyID) signs nothing from now on.")
                print("Auditors keep trusting the first root public key: the hand-over is in the log.")
            }
        }
    }

    struct SetLogKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-log-key",
            abstract: "Name the log's checkpoint key in the log (a governance event signed by the root key).",
            discussion: """
                'safeguard checkpoint' signs only with the key the log names, so that no other key can sign a \
                checkpoint of it; naming a new one replaces the old from this point on. Give auditors and \
                witnesses its verifier key ('safeguard checkpoint --key KEY --vkey').
                """)

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var signer: SignerOptions
        @Option(name: .customLong("public"), help: ArgumentHelp("The checkpoint key's public key file (PATH.pub from keys generate).", valueName: "path"), completion: .file())
        var publicFile: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let key = try KeyFiles.readPublic(publicFile)
            try appendAndReport([GovernanceDrafts.logKey(key, at: Clock.now())], ledger: ledger, server: server, signer: signer, output: output, timeIsNow: true) {
                "The log's checkpoint key is now \(key.keyID), from seq \($0[0].seq)."
            }
        }
    }
}

/// Signs and appends `drafts`, then prints one line per event (or the `human` summary).
/// Appends `drafts` to the ledger file, or through the log service with `--server`. With
/// `timeIsNow`, the drafts are dated by this machine's clock, which the service's may be
/// behind: they are dated no later than the service's clock (an event may not happen after
/// the log records it).
func appendAndReport(_ drafts: [EventDraft], ledger: LedgerOptions, server: ServerOptions? = nil, signer: SignerOptions, agency: AgencyKeyOptions? = nil,
                     output: OutputOptions, timeIsNow: Bool = false, human: ([StoredEntry]) -> String) throws {
    let written: [StoredEntry]
    if let server, let client = try server.client() {
        let key = try signer.load()
        var drafts = drafts
        let log = try client.log()
        if timeIsNow {
            for i in drafts.indices { drafts[i].occurredAt = try LogClient.eventTime(local: drafts[i].occurredAt, service: log.now) }
        }
        let pinned = try server.pinnedLogKey()
        server.warnIfNotPinned(pinned, named: log.logKey)
        written = try client.submit(drafts, key: key, agencyKey: try agency?.load(), logKey: pinned, log: log).map { receipt, envelope in
            StoredEntry(envelope, entry: Entry(canonical: receipt.signedBytes, signature: receipt.logSignature), details: nil)
        }
    } else {
        let l = try ledger.open(readOnly: false)
        let key = try signer.load()
        written = try l.append(drafts, signers: [key], clock: Clock.now, newID: Clock.newID, keyring: try agency?.keyring())
    }
    if output.json {
        for w in written {
            printJSON(["seq": .integer(w.seq), "event_id": .string(w.eventID), "type": .string(w.type),
                       "entry_hash": .string(Hex.encode(w.entryHash))])
        }
    } else {
        print(human(written))
    }
}
