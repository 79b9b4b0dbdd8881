import Foundation
import SafeguardCore

/// A proof that does not hold: exit 1, like a ledger that does not verify.
public struct ProofRefused: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A proof, evidence or witness list that cannot be read as one: what to fix (exit 3).
public struct ProofInputError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Offline checks of what a log signed (the library's, for the CLI, the service and auditors'
/// tools alike): inclusion and consistency proofs, and a witness's evidence of misbehaviour.
public enum OfflineProof {
    /// Checks an inclusion proof (c2sp.org/tlog-proof, from 'safeguard prove inclusion') or a
    /// consistency proof (an add-checkpoint body) against the log's key, and for a consistency
    /// proof the checkpoint kept from before (`old`). Returns what it shows and the checkpoint
    /// note it holds (for witnesses' cosignatures); throws `ProofRefused` if it does not hold.
    public static func check(_ bytes: [UInt8], log: NoteVerifier, old: [UInt8]?) throws -> (result: String, note: [UInt8]) {
        let result: String
        let note: [UInt8]
        if bytes.starts(with: Array(ProofText.inclusionHeader.utf8)) {
            let p = try ProofText.Inclusion(text: bytes)
            let (checkpoint, _) = try Checkpoint.open(p.checkpoint, log: log)
            guard let entry = p.extra else { throw ProofInputError("the proof carries no entry (its 'extra' line): it is not from 'safeguard prove'") }
            guard let envelope = envelope(entry), envelope.seq == p.index else {
                throw ProofRefused("the proof's entry is not a signed envelope of seq \(p.index) (entry bytes, canonical JSON, 64-byte signature)")
            }
            let leaf = Merkle.leafHash(entry)
            do { try Merkle.verifyInclusion(index: p.index, size: checkpoint.size, leafHash: leaf, proof: p.proof, root: checkpoint.root) } catch {
                throw ProofRefused("the entry is NOT in the log of this checkpoint (\(error))")
            }
            result = "OK: event \(envelope.eventID) (\(envelope.type), recorded \(envelope.recordedAt) by \(envelope.actor.agency)) is entry \(p.index) of the log "
                + "\(checkpoint.origin), in its checkpoint of \(checkpoint.size) events (root \(Base64.encode(checkpoint.root))). Its signature is not checked here: "
                + "'safeguard evidence check' or 'safeguard verify' does that."
            note = p.checkpoint
        } else {
            let p = try ProofText.Consistency(text: bytes)
            guard let old else { throw ProofInputError("a consistency proof is checked against a checkpoint you kept: pass --old FILE") }
            let (newer, _) = try Checkpoint.open(p.checkpoint, log: log)
            let (older, _) = try Checkpoint.open(old, log: log)
            guard older.origin == newer.origin else { throw ProofRefused("the checkpoints are of different logs (\(older.origin), \(newer.origin))") }
            guard p.old == older.size else { throw ProofRefused("the proof starts at size \(p.old), but your checkpoint has size \(older.size)") }
            do { try Merkle.verifyConsistency(old: older.size, new: newer.size, oldRoot: older.root, newRoot: newer.root, proof: p.proof) } catch {
                throw ProofRefused("the log of \(newer.size) events does NOT extend your checkpoint of \(older.size) (\(error)): keep both signed checkpoints as evidence")
            }
            result = "OK: the log \(newer.origin) at \(newer.size) events extends your checkpoint of \(older.size) events: nothing was changed or removed in between."
            note = p.checkpoint
        }
        return (result, note)
    }

    /// Checks a witness's evidence file: both checkpoints must be signed by the log.
    public static func checkEvidence(_ bytes: [UInt8], log: NoteVerifier) throws -> String {
        guard let e = try? JSONDecoder().decode(Misbehaviour.self, from: Data(bytes)), e.kind == Misbehaviour.kindName else {
            throw ProofInputError("this JSON file is not evidence written by 'safeguard witness add-checkpoint'")
        }
        let (a, _) = try Checkpoint.open(Array(e.cosigned.utf8), log: log)
        guard !e.presented.isEmpty else {
            let observed = e.observed.map { " The file held \($0.size) events (tree root \($0.root)), a tree the log did not sign." } ?? ""
            throw ProofRefused("NOT PROVEN: the log signed a checkpoint of \(a.size) events, and the file it was checked against holds no later checkpoint the log signed."
                               + observed + " Keep the file: verifying it in full shows what it holds, but only two checkpoints the log signed prove misbehaviour")
        }
        let (b, _) = try Checkpoint.open(Array(e.presented.utf8), log: log)
        guard a.origin == b.origin else { throw ProofRefused("the two checkpoints are of different logs") }
        if a.size == b.size {
            guard a.root != b.root else { throw ProofRefused("the two checkpoints are the same tree: no misbehaviour shown") }
            return "MISBEHAVIOUR PROVEN: the log \(a.origin) signed two different trees of \(a.size) events (roots \(Base64.encode(a.root)) and \(Base64.encode(b.root)))."
        }
        let proof = try e.proof.map { p in
            guard let h = Base64.decode(p) else { throw ProofInputError("the evidence's proof holds something that is not base64") }
            return h
        }
        let (lo, hi) = a.size < b.size ? (a, b) : (b, a)
        if b.size < a.size {
            throw ProofRefused("ROLLBACK SHOWN, NOT PROVEN: the log signed a checkpoint of \(a.size) events (cosigned) and one of \(b.size) events (presented later). "
                               + "A log only grows, so if the smaller one is its newest, it cut events off; the log's newest checkpoint, or a witness's "
                               + "cosignature times, settle which")
        }
        if (try? Merkle.verifyConsistency(old: lo.size, new: hi.size, oldRoot: lo.root, newRoot: hi.root, proof: proof)) != nil {
            throw ProofRefused("the log's proof does connect the two checkpoints: no misbehaviour shown")
        }
        throw ProofRefused("NOT PROVEN: both checkpoints (\(lo.size) and \(hi.size) events) are signed by the log \(a.origin), but the proof in the evidence "
                           + "does not connect them, which shows nothing by itself: ask the log for a consistency proof between them")
    }

    /// The envelope of entry bytes `u32be(n) || signed || signature`, if they are exactly that
    /// and the signed bytes are a canonical envelope.
    public static func envelope(_ entry: [UInt8]) -> Envelope? {
        guard entry.count > 4 + SigningKey.signatureByteCount else { return nil }
        let n = Int(entry.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard entry.count == 4 + n + SigningKey.signatureByteCount else { return nil }
        return try? Envelope(json: JSONParser.parse(Array(entry[4..<(4 + n)]), mode: .canonical))
    }
}

/// Witnesses' cosignatures on a checkpoint: which of the given ones are there, and when each saw it.
public enum WitnessQuorum {
    /// The witnesses (cosigner verifier keys) that validly cosigned a checkpoint note; throws
    /// unless at least `quorum` (default: all) did.
    public static func cosigned(_ note: [UInt8], witnesses: [String], quorum: Int?) throws -> [String] {
        guard !witnesses.isEmpty else {
            if let quorum, quorum > 0 { throw ProofInputError("--quorum needs --witness keys to count") }
            return []
        }
        var cosigners: [Cosigner] = []
        for w in witnesses {
            guard let c = Cosigner(verifierKey: w) else { throw ProofInputError("--witness must be a cosigner verifier key NAME+HEX8+BASE64 (type 0x04)") }
            // One witness counts once, however often it is named.
            guard !cosigners.contains(where: { $0.publicKey == c.publicKey }) else { throw ProofInputError("--witness \(c.name) is given twice: each witness counts once") }
            cosigners.append(c)
        }
        let needed = quorum ?? cosigners.count
        guard needed >= 1, needed <= cosigners.count else { throw ProofInputError("--quorum must be between 1 and the number of --witness keys (\(cosigners.count))") }
        let (text, signatures) = try SignedNote.parse(note)
        guard let checkpoint = Checkpoint(body: text) else { throw ProofRefused("the checkpoint is malformed") }
        let cosigned = cosigners.filter { (try? $0.verifiedTime(of: checkpoint, in: signatures)).flatMap({ $0 }) != nil }.map(\.name)
        guard cosigned.count >= needed else {
            throw ProofRefused("only \(cosigned.count) of the \(needed) witness cosignatures required are on the checkpoint"
                               + (cosigned.isEmpty ? "" : " (\(cosigned.joined(separator: ", ")))"))
        }
        return cosigned
    }

    /// Each given witness that validly cosigned `note`, with the time of its cosignature (POSIX
    /// seconds): every entry the checkpoint covers was recorded before it.
    public static func times(_ note: [UInt8], witnesses: [String]) throws -> [(name: String, time: Int64)] {
        guard !witnesses.isEmpty else { return [] }
        let (text, signatures) = try SignedNote.parse(note)
        guard let checkpoint = Checkpoint(body: text) else { return [] }
        return witnesses.compactMap(Cosigner.init(verifierKey:)).compactMap { c in
            (try? c.verifiedTime(of: checkpoint, in: signatures)).flatMap { $0 }.map { (c.name, Int64($0)) }
        }
    }
}

/// Whether a verified log still holds a checkpoint its auditor kept, and whether the witnesses'
/// cosignatures on it bound its recording times: the decision `verify --checkpoint` reports
/// (TRUNCATED, REWRITTEN, TIME), the library's so that every tool decides it alike.
public enum KeptCheckpoint {
    public enum Verdict: Equatable, Sendable {
        case holds
        /// Another log's checkpoint.
        case otherLog(checkpointOrigin: String, logOrigin: String)
        /// The log has fewer events than the checkpoint it signed.
        case truncated(events: Int64, checkpointSize: Int64)
        /// The first `checkpointSize` events no longer have the checkpoint's root.
        case rewritten(checkpointSize: Int64, root: [UInt8], checkpointRoot: [UInt8])
        /// An entry the checkpoint covers is dated after a witness cosigned it.
        case datedAfterWitness(latest: Timestamp, witness: String, time: Int64)
    }

    /// `events` and `rootAtSize` (the root of the first `checkpoint.size` events, nil if there
    /// are fewer) come from the verified entries, `latestCovered` is the latest recording time
    /// among the entries the checkpoint covers, `bounds` the witnesses' cosignature times.
    public static func judge(_ checkpoint: Checkpoint, origin: String, events: Int64, rootAtSize: [UInt8]?,
                             latestCovered: Timestamp?, bounds: [(name: String, time: Int64)]) -> Verdict {
        guard sameBytes(checkpoint.origin, origin) else { return .otherLog(checkpointOrigin: checkpoint.origin, logOrigin: origin) }
        guard events >= checkpoint.size, let root = rootAtSize else { return .truncated(events: events, checkpointSize: checkpoint.size) }
        guard root == checkpoint.root else { return .rewritten(checkpointSize: checkpoint.size, root: root, checkpointRoot: checkpoint.root) }
        for b in bounds {
            if let latest = latestCovered, latest.seconds > b.time { return .datedAfterWitness(latest: latest, witness: b.name, time: b.time) }
        }
        return .holds
    }
}
