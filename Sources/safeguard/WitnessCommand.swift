import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Witness: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Act as a witness (an agency or the inspectorate): cosign the log's checkpoints only if they extend the last one you cosigned.",
            subcommands: [AddCheckpoint.self])
    }
}

/// What a witness remembers per log: the last checkpoint it cosigned.
struct WitnessState: Codable {
    struct Seen: Codable {
        var size: Int64
        var root: String
        /// The signed checkpoint note, as received.
        var note: String
    }
    var logs: [String: Seen] = [:]

    static func load(_ path: String) throws -> WitnessState {
        guard FileManager.default.fileExists(atPath: path) else { return WitnessState() }
        guard let d = try? readSmallFile(path, limit: 16 << 20, what: "the witness state file"), let s = try? JSONDecoder().decode(WitnessState.self, from: Data(d)),
            s.logs.values.allSatisfy({ $0.size >= 0 && Base64.decode($0.root)?.count == Merkle.hashSize })
        else {
            throw InputError("the witness state file '\(path)' is not one safeguard wrote, or is damaged: check the path (it is created on first use)")
        }
        return s
    }

    /// Written to a new file and renamed over the old one, so a crash leaves one or the other.
    /// Written durably before any cosignature is released: a new file (never one that exists,
    /// nor a symlink), flushed, renamed over the old one, and the folder flushed.
    func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let bytes = [UInt8](try encoder.encode(self))
        let tmp = path + ".tmp-\(getpid())"
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw InputError("cannot write the witness state beside '\(path)': check the folder is writable") }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw InputError("cannot write the witness state file '\(path)': check the disk and the folder")
        }
        let dir = Glibc.open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }
}

/// Evidence that a log signed checkpoints that do not fit together: both signed notes and the
/// log's own consistency proof, checkable by anyone with the log's key
/// (`safeguard check-proof --log-key VKEY EVIDENCE`).
struct Misbehaviour: Codable {
    static let kindName = "safeguard/tlog-misbehaviour@v1"
    var kind = kindName
    var reason: String
    var cosigned: String
    var presented: String
    var old: Int64
    var proof: [String]
    /// What the log's file held when the evidence was written (verify only): its size and
    /// root, which the log did not sign, so they show where to look rather than prove anything.
    var observed: Observed? = nil

    struct Observed: Codable {
        var size: Int64
        var root: String
    }

    /// Written as sorted, indented JSON to a new file (never over an existing one).
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .withoutOverwriting)
    }
}

extension Safeguard.Witness {
    struct AddCheckpoint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-checkpoint",
            abstract: "Check a checkpoint the log presents (a c2sp.org/tlog-witness add-checkpoint body, as 'safeguard prove consistency' prints) and print your cosignature.",
            discussion: """
                The checkpoint must be signed by --log-key, its 'old' size must be the size you last \
                cosigned for that log (0 the first time), and its consistency proof must verify from the \
                checkpoint you last cosigned. Then it is cosigned (c2sp.org/tlog-cosignature v1) with \
                --key, the state file records it, and the cosignature line is printed, to be added to the \
                checkpoint. A request that starts at another size is refused with the size you last \
                cosigned on standard output (exit 3; tlog-witness's 409 Conflict): send a proof from \
                there. A proof that does not verify is refused (exit 1) and proves nothing. Only a \
                checkpoint of the size you cosigned with another root, two signed trees of one size, \
                is misbehaviour: it is written as evidence to --evidence (default \
                misbehaviour-ORIGIN-SIZE.json), which anyone can check with 'safeguard check-proof'.
                """)

        @Argument(help: ArgumentHelp("The request file (old size, consistency proof, blank line, signed checkpoint).", valueName: "request"))
        var request: String
        @Option(help: ArgumentHelp("Your witness key file.", valueName: "path"))
        var key: String
        @Option(help: ArgumentHelp("Your witness name (a schema-less URL, e.g. inspectorate.example/w1).", valueName: "name"))
        var name: String
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's checkpoint verifier key, or a file holding it.", valueName: "vkey"))
        var logKey: String
        @Option(help: ArgumentHelp("Your state file: the last checkpoint you cosigned for each log (created if missing).", valueName: "path"))
        var state: String
        @Option(help: ArgumentHelp("Where to write evidence if the log misbehaves.", valueName: "path"))
        var evidence: String?
        @Flag(help: "Print your cosigning verifier key (NAME+ID+KEY, type 0x04) for the log's users, and check nothing.")
        var vkey = false

        /// Writes the evidence (never over an existing file) and refuses to cosign.
        func refuse(_ why: String, seen: WitnessState.Seen, _ req: ProofText.Consistency) throws -> Never {
            let origin = (try? SignedNote.parse(req.checkpoint)).flatMap { Checkpoint(body: $0.text) }?.origin ?? "log"
            var path = evidence ?? "misbehaviour-\(origin.replacingOccurrences(of: "/", with: "_"))-\(seen.size).json"
            var n = 1
            while evidence == nil, FileManager.default.fileExists(atPath: path) {
                n += 1
                path = "misbehaviour-\(origin.replacingOccurrences(of: "/", with: "_"))-\(seen.size)-\(n).json"
            }
            try Misbehaviour(reason: why, cosigned: seen.note, presented: String(decoding: req.checkpoint, as: UTF8.self), old: seen.size,
                             proof: req.proof.map(Base64.encode)).write(to: path)
            throw ProofRefused("NOT COSIGNED: \(why). Evidence (both signed checkpoints and the proof) written to \(path)")
        }

        func run() throws {
            let signer = try loadSigningKey(key)
            guard let me = Cosigner(name: name, publicKey: signer.publicKey) else {
                throw InputError("--name must be non-empty with no spaces or '+' (e.g. inspectorate.example/w1)")
            }
            if vkey { print(me.verifierKey); return }
            let log = try noteVerifier(logKey, what: "--log-key")
            let req = try ProofText.Consistency(text: try readFile(request, what: "the request"))
            let (checkpoint, _) = try Checkpoint.open(req.checkpoint, log: log)
            guard checkpoint.origin == log.name else {
                throw InputError("the checkpoint's origin '\(checkpoint.origin)' is not the log '\(log.name)' that --log-key names")
            }
            // Checking the old size and recording the new checkpoint happen under one lock, so two
            // requests at once cannot roll the witness back (tlog-witness).
            let lock = Glibc.open(state + ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard lock >= 0 else { throw InputError("cannot lock the witness state '\(state).lock': check the folder is writable") }
            defer { close(lock) }
            guard flock(lock, LOCK_EX) == 0 else { throw InputError("cannot lock the witness state '\(state).lock'") }
            var s = try WitnessState.load(state)
            let seen = s.logs[checkpoint.origin]
            let seenSize = seen?.size ?? 0
            guard req.old <= checkpoint.size else { throw InputError("the request's old size \(req.old) is larger than its checkpoint's \(checkpoint.size)") }
            // Two checkpoints of one size with different roots, both signed by the log: that alone
            // proves misbehaviour, whatever size the request starts at.
            if let seen, seen.size == checkpoint.size, Base64.decode(seen.root) != checkpoint.root {
                try refuse("the log signed two different trees of \(seen.size) events", seen: seen, req)
            }
            // Not where this witness left off (a stale or racing request, or an older checkpoint
            // presented again): tlog-witness's 409 Conflict, with the latest size cosigned. An
            // older checkpoint is not evidence: the log may well have signed it before.
            guard req.old == seenSize else {
                print(seenSize)
                throw WitnessConflict("you last cosigned \(checkpoint.origin) at size \(seenSize) (printed on standard output), but the request starts at \(req.old): "
                                      + "nothing was cosigned; ask the log for a consistency proof from \(seenSize) ('safeguard prove consistency --from \(seenSize)')")
            }
            if seen == nil, !req.proof.isEmpty { throw InputError("the first checkpoint of a log comes with old size 0 and an empty proof") }
            if let seen {
                do {
                    try Merkle.verifyConsistency(old: seen.size, new: checkpoint.size, oldRoot: Base64.decode(seen.root) ?? [], newRoot: checkpoint.root,
                                                 proof: req.proof)
                } catch {
                    guard seen.size != checkpoint.size else {
                        throw InputError("the request repeats the checkpoint you cosigned but with a non-empty proof: send it with an empty proof")
                    }
                    // tlog-witness's 422: a proof that fails proves nothing by itself.
                    throw ProofRefused("NOT COSIGNED: the log's consistency proof from the checkpoint you cosigned (\(seen.size) events) to this one "
                                       + "(\(checkpoint.size)) does not verify (\(error)); this alone proves nothing, so no evidence was written: "
                                       + "ask the log for a proof that verifies, and do not cosign until it gives one")
                }
            }
            let time = UInt64(max(0, Clock.now().seconds))
            guard let cosignature = Cosigner.cosign(checkpoint, name: name, key: signer, time: time) else {
                throw InputError("cannot cosign with this key and name")
            }
            s.logs[checkpoint.origin] = .init(size: checkpoint.size, root: Base64.encode(checkpoint.root), note: String(decoding: req.checkpoint, as: UTF8.self))
            try s.save(state)
            print(cosignature.line, terminator: "")
        }
    }
}

/// The request does not start where the witness left off (tlog-witness: 409 Conflict).
struct WitnessConflict: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
