import GRDB
import SafeguardCore

extension Ledger {
    /// Re-verification for an auditor holding `state`, their own record of this log as they
    /// verified it (docs/FORMAT.md §9.3): only the entries from the state's size on are read.
    /// The chain resumes from the state's head hash, the registry and policy from its
    /// governance entries, the tree from its edge; the new entries get every check of a full
    /// verification (a reused event id is found in the state), each subtree they complete is
    /// compared with the stored one, the stored subtrees that make the state's root must still
    /// be there (so the file's tree still commits to the history verified before), and a
    /// consistency proof from the file must take the state's root to the new one. Events from
    /// before the state that a new revocation flags are each proved by an inclusion proof
    /// against the state's root. Nothing else before the state's size is read, so the cost is
    /// that of the new entries. Each verified new entry goes to `update` and `onEntry`.
    public func verify(from state: AuditState, trustAnchor: PublicKey, threads: Int = 1, update: AuditState.Update,
                       onEntry: (StoredEntry, Envelope) throws -> Void = { _, _ in }) throws -> Extension {
        let old = state.head
        do {
            return try withoutActuallyEscaping(onEntry) { onEntry in
            try db.read { db in
                guard old.rootKey == trustAnchor else {
                    throw VerificationFailure(seq: 0, eventID: nil, reason: .untrustedRoot(named: old.rootKey.keyID, trusted: trustAnchor.keyID))
                }
                guard try hasTree(db) else {
                    throw LedgerError.sqlite(path: path, message: "this ledger file has no Merkle tree yet: verify it in full, or open it for writing once to add the tree")
                }
                let head = try Self.treeSize(db)
                guard head >= old.size else { throw ExtensionRefusal.truncated(size: head) }
                let node = { (level: Int, idx: Int64) in try TreeStore.node(db, level, idx) }
                // The file's tree must still hold the subtrees that make the root verified before.
                guard var frontier = MerkleFrontier(size: old.size, edge: old.edge),
                    (try? MerkleFrontier(size: old.size, node).edgeHashes) == old.edge
                else { throw ExtensionRefusal.rewritten(root: old.root) }
                var governance: [Envelope] = []
                for bytes in state.governance {
                    do { governance.append(try Envelope(json: JSONParser.parse(bytes, mode: .canonical))) } catch {
                        throw AuditState.Invalid(path: state.path, problem: "a governance record in the state is damaged")
                    }
                }
                var verifier = ChainVerifier(resuming: .resumed(governance: governance, head: (old.size - 1, old.headHash), headFormat: old.headFormat),
                                             trustAnchor: trustAnchor)
                // Event ids: a new one must be in neither the state nor an earlier new entry. The
                // column is trusted here only for new rows, whose columns the walk checks first.
                var seen = Set<String>()
                let ids = try Row.fetchCursor(db, sql: "SELECT seq, event_id FROM events WHERE seq >= ? ORDER BY seq", arguments: [old.size])
                while let r = try ids.next() {
                    guard let seq = try? RowReader.integer(r, 0, "seq"), let id = try? RowReader.text(r, 1, "event_id") else { break }
                    if try !seen.insert(id).inserted || state.contains(eventID: id) { verifier.duplicateEventIDAt = seq; break }
                }
                try Self.walkExtension(db, from: old.size, root: old.root, &frontier, &verifier, threads: threads) { item in
                    try update.add(item.0, item.1)
                    try onEntry(item.0, item.1)
                }
                let flagged = try Self.flagged(db, verifier.state.registry, provedBefore: old.size, root: old.root)
                return Extension(from: old.size, events: frontier.size, headHash: verifier.state.headHash, treeRoot: frontier.root,
                                 governanceProved: governance.count, flagged: flagged)
            }
            }
        } catch let e as VerificationFailure { throw e } catch let e as ExtensionRefusal { throw e } catch let e as LedgerError { throw e } catch let e as AuditState.Invalid {
            throw e
        } catch {
            throw Self.map(error, path: path)
        }
    }

    /// `flagged`, for a reader who trusts the rows from `size` on (verified) but none before:
    /// each flagged candidate before `size` is read by sequence number and proved by an
    /// inclusion proof against `root`, the tree root at `size`, before its key is believed.
    /// Its cost is that of the compromise window before `size`, not of the log.
    static func flagged(_ db: Database, _ registry: KeyRegistry, provedBefore size: Int64, root: [UInt8]) throws -> [FlaggedEvent] {
        let node = { (level: Int, idx: Int64) in try TreeStore.node(db, level, idx) }
        var out = try flagged(db, registry).filter { $0.seq >= size }
        for record in registry.ordered {
            guard let since = record.compromisedSince, let revoked = record.revokedAt, since < size else { continue }
            for seq in since..<min(revoked, size) {
                guard let r = try Row.fetchOne(db, sql: "SELECT envelope, signature FROM events WHERE seq = ?", arguments: [seq]) else {
                    throw ExtensionRefusal.rewritten(root: root)
                }
                let envelope = try RowReader.blob(r, 0, "envelope"), signature = try RowReader.blob(r, 1, "signature")
                let leaf = Entry.entryHash(canonical: envelope, signature: signature)
                let proof = try Merkle.inclusionProof(index: seq, size: size, node)
                guard (try? Merkle.verifyInclusion(index: seq, size: size, leafHash: leaf, proof: proof, root: root)) != nil,
                    let e = try? Envelope(json: JSONParser.parse(envelope, mode: .canonical))
                else { throw ExtensionRefusal.rewritten(root: root) }
                if sameBytes(e.actor.keyID, record.keyID) {
                    out.append(FlaggedEvent(seq: seq, eventID: e.eventID, type: e.type, caseID: e.caseID, keyID: record.keyID,
                                            compromisedSince: since, revokedAt: revoked))
                }
            }
        }
        return out.sorted { $0.seq < $1.seq }
    }
}
