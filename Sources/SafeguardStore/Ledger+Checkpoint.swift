import Foundation
import GRDB
import SafeguardCore

extension Ledger {
    /// A checkpoint the log signed, as stored.
    public struct StoredCheckpoint: Equatable, Sendable {
        public let size: Int64
        public let root: [UInt8]
        public let note: [UInt8]
        public let signedAt: String
    }

    /// Why the log will not sign a checkpoint.
    public enum CheckpointRefusal: Error, Equatable, CustomStringConvertible {
        case empty
        case inconsistent(size: Int64, signed: String, now: String)
        public var description: String {
            switch self {
            case .empty: return "the ledger has no events to checkpoint"
            case .inconsistent(let size, let signed, let now):
                return "the log is not consistent with the checkpoint it signed at size \(size) (root then \(signed), now \(now)): "
                    + "its history was rewritten or the file is damaged; nothing was signed. Run 'safeguard verify' and keep this file as evidence"
            }
        }
    }

    /// The checkpoints signed so far, oldest first.
    public func checkpoints() throws -> [StoredCheckpoint] {
        do {
            return try db.read { db in
                guard try db.tableExists("checkpoints") else { return [] }
                return try Row.fetchAll(db, sql: "SELECT size, root, note, signed_at FROM checkpoints ORDER BY size").map {
                    StoredCheckpoint(size: try RowReader.integer($0, 0, "size"), root: try RowReader.blob($0, 1, "root"),
                                     note: try RowReader.blob($0, 2, "note"), signedAt: try RowReader.text($0, 3, "signed_at"))
                }
            }
        } catch { throw Self.map(error, path: path) }
    }

    /// Signs a checkpoint (c2sp.org/tlog-checkpoint) of the whole log with `key` under the
    /// log's origin (from genesis), after checking that the tree is consistent with the last
    /// checkpoint signed (the root at that size is unchanged, and a consistency proof from it
    /// verifies); stores and returns it. If the log has not grown since, returns the last one.
    public func signCheckpoint(key: SigningKey, at time: Timestamp) throws -> (checkpoint: Checkpoint, note: [UInt8], new: Bool) {
        do {
            return try db.writeWithoutTransaction { db in
                var result: (Checkpoint, [UInt8], Bool)!
                try db.inTransaction(.immediate) {
                    let size = try Self.treeSize(db)
                    guard size > 0, let origin = try Self.state(db, path: path).genesis?.origin else { throw CheckpointRefusal.empty }
                    let node = { (level: Int, idx: Int64) in try TreeStore.node(db, level, idx) }
                    let root = try Merkle.root(size: size, node)
                    if let last = try Row.fetchOne(db, sql: "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1") {
                        let (lastSize, signed, note) = (try RowReader.integer(last, 0, "size"), try RowReader.blob(last, 1, "root"), try RowReader.blob(last, 2, "note"))
                        guard lastSize >= 0, signed.count == Merkle.hashSize else {
                            throw CheckpointRefusal.inconsistent(size: lastSize, signed: Base64.encode(signed), now: "(the stored checkpoint is damaged)")
                        }
                        let then = lastSize <= size ? try Merkle.root(size: lastSize, node) : []
                        guard then == signed else {
                            throw CheckpointRefusal.inconsistent(size: lastSize, signed: Base64.encode(signed), now: then.isEmpty ? "(the log is shorter now)" : Base64.encode(then))
                        }
                        let proof = try Merkle.consistencyProof(old: lastSize, new: size, node)
                        do { try Merkle.verifyConsistency(old: lastSize, new: size, oldRoot: signed, newRoot: root, proof: proof) } catch {
                            throw CheckpointRefusal.inconsistent(size: lastSize, signed: Base64.encode(signed), now: Base64.encode(root))
                        }
                        if lastSize == size, let c = Checkpoint(origin: origin, size: size, root: signed) {
                            result = (c, note, false)
                            return .commit
                        }
                    }
                    guard let checkpoint = Checkpoint(origin: origin, size: size, root: root) else { throw CheckpointRefusal.empty }
                    let note = try checkpoint.sign(name: origin, key: key)
                    try db.execute(sql: "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)",
                                   arguments: [size, Data(root), Data(note), time.description])
                    result = (checkpoint, note, true)
                    return .commit
                }
                return result
            }
        } catch let e as CheckpointRefusal { throw e } catch { throw Self.map(error, path: path) }
    }
}

extension Ledger {
    /// The evidence bundle of a case against the checkpoint of `size` events: the case's
    /// entries and the governance entries before its last one that its rules rest on (genesis,
    /// every policy, and the enrolment and any revocation of each key that signed a case
    /// entry, and of the keys that enrolled or revoked those, and so on), each with its
    /// inclusion proof and, unless `withDetails` is false, its details record. Throws
    /// if the case has no events, the checkpoint does not cover them all, or details are to be
    /// withheld from a case record of envelope format 1 (which signs them with the facts).
    public func evidence(caseID: String, size: Int64, withDetails: Bool = true) throws -> [EvidenceBundle.Item] {
        do {
            return try db.read { db in
                let select = try Self.selectRows(db)
                let caseRows = try Row.fetchAll(db, sql: "\(select) WHERE case_id = ? ORDER BY seq", arguments: [caseID])
                guard let last = caseRows.last.map({ try? RowReader.integer($0, 0, "seq") }) ?? nil else {
                    throw LedgerError.sqlite(path: path, message: "no events for case \(caseID): check the case id ('safeguard case list')")
                }
                guard last < size else {
                    throw LedgerError.sqlite(path: path, message: "the checkpoint of \(size) events does not cover case \(caseID) (its last event is seq \(last)): run 'safeguard checkpoint' first")
                }
                let allGovernance = try Row.fetchAll(db, sql: "\(select) WHERE type IN (?, ?, ?, ?) AND seq < ? ORDER BY seq",
                                                     arguments: [EventType.genesis, EventType.keyEnrolled, EventType.keyRevoked, EventType.policySet, last])
                let governance = try Self.governanceNeeded(allGovernance, signers: Set(caseRows.map { try RowReader.text($0, 5, "key_id") }))
                if !withDetails {
                    // A format 1 record holds its details inside what is signed: they cannot be left out.
                    let inline = try caseRows.filter { row in
                        let envelope = try Envelope(json: JSONParser.parse(try RowReader.blob(row, 9, "envelope"), mode: .canonical))
                        return envelope.details.digest == nil
                    }.count
                    if inline > 0 {
                        throw LedgerError.sqlite(path: path, message: "\(inline) of case \(caseID)'s records were made in envelope format 1, which signs the details with the facts, so they cannot be withheld: make the bundle with details")
                    }
                }
                let node = { (level: Int, idx: Int64) in try TreeStore.node(db, level, idx) }
                return try (governance + caseRows).map { row in
                    let stored = try Self.entry(row)
                    let entry = Entry(canonical: stored.envelope, signature: stored.signature).entryBytes
                    return EvidenceBundle.Item(seq: stored.seq, entry: entry, proof: try Merkle.inclusionProof(index: stored.seq, size: size, node),
                                               details: withDetails ? stored.details : nil)
                }.sorted { $0.seq < $1.seq }
            }
        } catch { throw Self.map(error, path: path) }
    }

    /// Of `rows` (governance, in order), those a bundle needs so that the entries signed by
    /// `signers` check: genesis, every policy, and the enrolment and revocation of each signer,
    /// of the key that enrolled or revoked it, and so on up to the root key. Other
    /// practitioners' enrolments stay out of the bundle: it holds no more names than it needs.
    static func governanceNeeded(_ rows: [Row], signers: Set<String>) throws -> [Row] {
        var state = LedgerState()
        var envelopes: [Int64: Envelope] = [:]
        for row in rows {
            let e = try Envelope(json: JSONParser.parse(try RowReader.blob(row, 9, "envelope"), mode: .canonical))
            envelopes[e.seq] = e
            state.apply(e, entryHash: Entry.zeroHash)
        }
        let registry = state.registry
        var needed = Set<Int64>(), keys = Set<String>(), pending = Array(signers)
        while let k = pending.popLast() {
            guard keys.insert(k).inserted, let record = registry[k], k != registry.rootKeyID else { continue }
            for seq in [record.enrolledAt, record.revokedAt].compactMap({ $0 }) {
                needed.insert(seq)
                if let by = envelopes[seq]?.actor.keyID { pending.append(by) }
            }
        }
        return try rows.filter { row in
            let seq = try RowReader.integer(row, 0, "seq")
            let type = envelopes[seq]?.type
            return type == EventType.genesis || type == EventType.policySet || needed.contains(seq)
        }
    }
}
