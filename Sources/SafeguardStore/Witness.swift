import Foundation
import SafeguardCore

/// A witness (c2sp.org/tlog-witness): cosigns a log's checkpoint only if it extends the last
/// one it cosigned for that log, proved by the log's consistency proof. One state machine for
/// `safeguard witness add-checkpoint` (a request file) and `safeguard witness serve` (HTTP).
public enum Witness {
    /// Why a checkpoint was not cosigned, with the HTTP status c2sp.org/tlog-witness gives it.
    public enum Refusal: Error, CustomStringConvertible, Sendable {
        /// 400: not a request (or the old size is above the checkpoint's).
        case malformed(String)
        /// 404: a log this witness does not know.
        case unknownLog(String)
        /// 403: not signed by the log's key.
        case notSigned(String)
        /// 409: the request does not start at the size last cosigned (given).
        case conflict(size: Int64, message: String)
        /// 409: the log signed two trees of one size: evidence, to be kept.
        case misbehaviour(String, Misbehaviour)
        /// 422: the consistency proof does not verify (which proves nothing by itself).
        case badProof(String)

        public var status: Int {
            switch self {
            case .malformed: return 400
            case .unknownLog: return 404
            case .notSigned: return 403
            case .conflict, .misbehaviour: return 409
            case .badProof: return 422
            }
        }

        public var description: String {
            switch self {
            case .malformed(let m), .unknownLog(let m), .notSigned(let m), .badProof(let m): return m
            case .conflict(_, let m): return m
            case .misbehaviour(let m, _): return m
            }
        }
    }

    /// Checks `body` (an add-checkpoint request: old size, proof, blank line, signed
    /// checkpoint) against the logs this witness knows, and cosigns it at `time` with `key` as
    /// `name`, recording it in the state file first. Check and record happen under one lock on
    /// the state file, so two requests at once cannot roll the witness back.
    public static func addCheckpoint(_ body: [UInt8], logs: [NoteVerifier], name: String, key: SigningKey, statePath: String,
                                     time: UInt64) throws -> SignedNote.Signature {
        let req: ProofText.Consistency
        do { req = try ProofText.Consistency(text: body) } catch { throw Refusal.malformed("the request is not an add-checkpoint body: \(error)") }
        let parsed: (text: [UInt8], signatures: [SignedNote.Signature])
        do { parsed = try SignedNote.parse(req.checkpoint) } catch { throw Refusal.malformed("the checkpoint is not a signed note: \(error)") }
        guard let origin = Checkpoint(body: parsed.text)?.origin else { throw Refusal.malformed("the note's text is not a checkpoint (origin, size, root)") }
        guard let log = logs.first(where: { sameBytes($0.name, origin) }) else {
            throw Refusal.unknownLog("this witness does not witness the log '\(origin)'")
        }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.open(req.checkpoint, log: log).checkpoint } catch {
            throw Refusal.notSigned("the checkpoint is not signed by the log key of '\(origin)' this witness trusts: \(error)")
        }
        guard checkpoint.extensions.isEmpty else { throw Refusal.malformed("the checkpoint carries extension lines, which safeguard's logs never sign (docs/FORMAT.md §6.2)") }
        guard req.old <= checkpoint.size else { throw Refusal.malformed("the request's old size \(req.old) is larger than its checkpoint's \(checkpoint.size)") }
        let lock = Glibc.open(statePath + ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw State.Failure("cannot lock the witness state '\(statePath).lock': check the folder is writable") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw State.Failure("cannot lock the witness state '\(statePath).lock'") }
        var s = try State.load(statePath)
        let seen = s.logs[checkpoint.origin]
        let seenSize = seen?.size ?? 0
        func evidence(_ why: String, _ seen: State.Seen) -> Misbehaviour {
            Misbehaviour(reason: why, cosigned: seen.note, presented: String(decoding: req.checkpoint, as: UTF8.self), old: seen.size, proof: req.proof.map(Base64.encode))
        }
        // Two checkpoints of one size with different roots, both signed by the log: that alone
        // proves misbehaviour, whatever size the request starts at.
        if let seen, seen.size == checkpoint.size, Base64.decode(seen.root) != checkpoint.root {
            let why = "the log signed two different trees of \(seen.size) events"
            throw Refusal.misbehaviour(why, evidence(why, seen))
        }
        // Not where this witness left off: a stale or racing request, or an older checkpoint again.
        guard req.old == seenSize else {
            throw Refusal.conflict(size: seenSize, message: "you last cosigned \(checkpoint.origin) at size \(seenSize) (printed on standard output), but the request starts at \(req.old): "
                                   + "nothing was cosigned; ask the log for a consistency proof from \(seenSize) ('safeguard prove consistency --from \(seenSize)')")
        }
        if seen == nil, !req.proof.isEmpty { throw Refusal.malformed("the first checkpoint of a log comes with old size 0 and an empty proof") }
        if let seen {
            do {
                try Merkle.verifyConsistency(old: seen.size, new: checkpoint.size, oldRoot: Base64.decode(seen.root) ?? [], newRoot: checkpoint.root, proof: req.proof)
            } catch {
                guard seen.size != checkpoint.size else {
                    throw Refusal.malformed("the request repeats the checkpoint you cosigned but with a non-empty proof: send it with an empty proof")
                }
                throw Refusal.badProof("NOT COSIGNED: the log's consistency proof from the checkpoint you cosigned (\(seen.size) events) to this one "
                                       + "(\(checkpoint.size)) does not verify (\(error)); this alone proves nothing, so no evidence was written: "
                                       + "ask the log for a proof that verifies, and do not cosign until it gives one")
            }
        }
        guard let cosignature = Cosigner.cosign(checkpoint, name: name, key: key, time: time) else {
            throw Refusal.malformed("cannot cosign with this key and name")
        }
        s.logs[checkpoint.origin] = .init(size: checkpoint.size, root: Base64.encode(checkpoint.root), note: String(decoding: req.checkpoint, as: UTF8.self))
        try s.save(statePath)
        return cosignature
    }

    /// What a witness remembers per log: the last checkpoint it cosigned.
    public struct State: Codable, Sendable {
        public struct Seen: Codable, Sendable {
            public var size: Int64
            public var root: String
            /// The signed checkpoint note, as received.
            public var note: String
        }
        public var logs: [String: Seen] = [:]

        public struct Failure: Error, CustomStringConvertible {
            public let description: String
            init(_ d: String) { description = d }
        }

        public static func load(_ path: String) throws -> State {
            guard FileManager.default.fileExists(atPath: path) else { return State() }
            let data = FileManager.default.contents(atPath: path)
            guard let data, data.count <= 16 << 20, let s = try? JSONDecoder().decode(State.self, from: data),
                s.logs.values.allSatisfy({ $0.size >= 0 && Base64.decode($0.root)?.count == Merkle.hashSize })
            else {
                throw Failure("the witness state file '\(path)' is not one safeguard wrote, or is damaged: check the path (it is created on first use)")
            }
            return s
        }

        /// Written durably before any cosignature is released: a new file (never one that
        /// exists, nor a symlink), flushed, renamed over the old one, and the folder flushed.
        public func save(_ path: String) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let bytes = [UInt8](try encoder.encode(self))
            let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Failure("cannot write the witness state beside '\(path)': check the folder is writable") }
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd) == 0
            close(fd)
            guard written == bytes.count, synced, rename(tmp, path) == 0 else {
                unlink(tmp)
                throw Failure("cannot write the witness state file '\(path)': check the disk and the folder")
            }
            let dir = Glibc.open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
            if dir >= 0 { fsync(dir); close(dir) }
        }
    }
}

/// Evidence that a log signed checkpoints that do not fit together: both signed notes and the
/// log's own consistency proof, checkable by anyone with the log's key
/// (`safeguard check-proof --log-key VKEY EVIDENCE`).
public struct Misbehaviour: Codable, Sendable {
    public static let kindName = "safeguard/tlog-misbehaviour@v1"
    public var kind = kindName
    public var reason: String
    public var cosigned: String
    public var presented: String
    public var old: Int64
    public var proof: [String]
    /// What the log's file held when the evidence was written (verify only): its size and
    /// root, which the log did not sign, so they show where to look rather than prove anything.
    public var observed: Observed? = nil

    public struct Observed: Codable, Sendable {
        public var size: Int64
        public var root: String
        public init(size: Int64, root: String) { self.size = size; self.root = root }
    }

    public init(reason: String, cosigned: String, presented: String, old: Int64, proof: [String], observed: Observed? = nil) {
        self.reason = reason; self.cosigned = cosigned; self.presented = presented; self.old = old; self.proof = proof; self.observed = observed
    }

    /// Written as sorted, indented JSON to a new file (never over an existing one).
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .withoutOverwriting)
    }
}
