import Foundation
import SafeguardCore

/// The log's checkpoint signer (docs/FORMAT.md §6.2): it signs a checkpoint only of a log it
/// has verified itself, from its own record of what it verified and signed before (an
/// `AuditState` kept beside its key), and only with the checkpoint key the log names
/// (`governance.log_key_set`). What the file's `checkpoints` table says is never what
/// decides: cut the tail off and append, or wipe the table, and the signer still finds the
/// log inconsistent with its record and signs nothing.
public enum CheckpointSigner {
    public struct Signed: Sendable {
        public let checkpoint: Checkpoint
        public let note: [UInt8]
        /// False when the log had not grown since the signer's last checkpoint (signed again:
        /// Ed25519 gives the same note).
        public let new: Bool
        /// Entries verified before signing (all of them the first time, then the new ones).
        public let verified: Int64
        /// Whether the file's `checkpoints` table now holds it.
        public let stored: Bool
    }

    /// Where the signer keeps its record: beside the key file.
    public static func statePath(forKey keyPath: String) -> String { keyPath + ".state" }

    /// Verifies the log in `ledger` from the signer's record at `statePath` (or, the first
    /// time, from genesis against `trustAnchor`; nothing recorded after `notAfter`, the signer's
    /// clock and the skew it allows), checks that the log names `key` as its
    /// checkpoint key, signs a checkpoint of what it verified at `time`, brings the record up
    /// to date and keeps the checkpoint in the file. Throws `VerificationFailure` for a log
    /// that does not verify, `Ledger.CheckpointRefusal` for the rest.
    public static func sign(_ ledger: Ledger, key: SigningKey, statePath: String, trustAnchor: PublicKey?, threads: Int = 1,
                            at time: Timestamp, notAfter: Timestamp? = nil) throws -> Signed {
        let kept: AuditState? = FileManager.default.fileExists(atPath: statePath) ? try AuditState.open(statePath) : nil
        guard let anchor = kept?.head.rootKey ?? trustAnchor else { throw Ledger.CheckpointRefusal.untrusted(state: statePath) }
        if let kept, let trustAnchor, kept.head.rootKey != trustAnchor {
            throw Ledger.CheckpointRefusal.otherRoot(state: statePath, recorded: kept.head.rootKey.keyID, given: trustAnchor.keyID)
        }
        let update = try kept.map { _ in AuditState.Update() } ?? AuditState.Update(creating: statePath)
        let v: Ledger.Verification
        do {
            v = try ledger.verify(from: kept.map { .state($0) } ?? .none, trustAnchor: anchor, threads: threads, notAfter: notAfter,
                                  onEntry: { try update.add($0, $1) })
        } catch let refusal as Ledger.ExtensionRefusal {
            let now: String
            switch refusal {
            case .truncated(let size): now = "the log has \(size) events"
            case .rewritten: now = "its first \(kept?.head.size ?? 0) events are not the ones signed"
            }
            throw Ledger.CheckpointRefusal.inconsistent(size: kept?.head.size ?? 0, signed: Base64.encode(kept?.head.root ?? []), now: now)
        }
        guard v.logKey == key.publicKey else {
            throw Ledger.CheckpointRefusal.notBound(key: key.publicKey.keyID, bound: v.logKey?.keyID)
        }
        guard v.summary.events > 0, let checkpoint = Checkpoint(origin: v.summary.origin, size: v.summary.events, root: v.summary.treeRoot) else {
            throw Ledger.CheckpointRefusal.empty
        }
        let note = try checkpoint.sign(name: v.summary.origin, key: key)
        update.finish(tree: v.tree, cases: v.cases)
        if let kept { try kept.save(update) } else { try AuditState.create(statePath, update, rootKey: anchor, origin: v.summary.origin) }
        var stored = true
        do { try ledger.store(size: checkpoint.size, root: checkpoint.root, note: note, at: time) } catch Ledger.CheckpointRefusal.notStored {
            stored = false
        }
        return Signed(checkpoint: checkpoint, note: note, new: kept.map { $0.head.size < checkpoint.size } ?? true,
                      verified: v.summary.events - v.from, stored: stored)
    }
}
