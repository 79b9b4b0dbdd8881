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
        /// The log no longer holds what this key signed before (the signer's own record).
        case inconsistent(size: Int64, signed: String, now: String)
        /// No signer record beside the key yet, and no root key to verify the log against.
        case untrusted(state: String)
        /// The signer's record is of another root key than the one given.
        case otherRoot(state: String, recorded: String, given: String)
        /// The log names another checkpoint key (or none).
        case notBound(key: String, bound: String?)
        /// Signed, but the file's table refused to keep it (it holds a larger checkpoint).
        case notStored(size: Int64)
        public var description: String {
            switch self {
            case .empty: return "the ledger has no events to checkpoint"
            case .inconsistent(let size, let signed, let now):
                return "the log is not consistent with the checkpoint this key signed at size \(size) (root then \(signed), now \(now)): "
                    + "its history was cut off or rewritten since; nothing was signed. Run 'safeguard verify' and keep this file and the key's state as evidence"
            case .untrusted(let state):
                return "this checkpoint key has not signed for this log before (no \(state)): give the partnership's root public key (--trust-file ROOT.pub) "
                    + "so that the whole log is verified before anything is signed; later runs verify only what was added since"
            case .otherRoot(let state, let recorded, let given):
                return "\(state) records root key \(recorded), not \(given): check --trust-file, or use another checkpoint key for that log"
            case .notBound(let key, let bound):
                return bound.map { "the log names checkpoint key \($0), not \(key): sign with that key, or name this one first ('safeguard keys set-log-key'); nothing was signed" }
                    ?? "the log names no checkpoint key yet: name \(key) first with 'safeguard keys set-log-key --key ROOT.key --public THIS_KEY.pub'; nothing was signed"
            case .notStored(let size):
                return "the checkpoint of \(size) events was signed (printed above) but the file's checkpoints table holds a larger one this key never signed: "
                    + "the table was altered; keep the printed checkpoint, and run 'safeguard doctor' and 'safeguard verify'"
            }
        }
    }

    /// The largest checkpoint note kept (a note with a few hundred witness cosignatures is a
    /// few tens of KiB): a larger row is not read.
    public static let maxNoteBytes = 64 << 10

    /// The checkpoints kept in the file, oldest first: only rows that hold what a checkpoint
    /// is (a signed note of no more than `maxNoteBytes`, plain text, whose checkpoint is of the
    /// row's size and root). Anyone with write access can plant a row, so none of this makes a
    /// note the log's: whoever relies on one checks its signature with the log's key.
    public func checkpoints() throws -> [StoredCheckpoint] {
        do {
            return try db.read { db in
                guard try db.tableExists("checkpoints") else { return [] }
                return try Row.fetchAll(db, sql: """
                    SELECT size, root, note, signed_at FROM checkpoints
                    WHERE typeof(note) = 'blob' AND length(note) <= \(Self.maxNoteBytes) AND typeof(root) = 'blob' AND length(root) = 32
                      AND typeof(size) = 'integer' AND typeof(signed_at) = 'text' AND length(signed_at) <= 64
                    ORDER BY size
                    """).compactMap { row -> StoredCheckpoint? in
                    let c = StoredCheckpoint(size: try RowReader.integer(row, 0, "size"), root: try RowReader.blob(row, 1, "root"),
                                             note: try RowReader.blob(row, 2, "note"), signedAt: try RowReader.text(row, 3, "signed_at"))
                    guard let text = try? SignedNote.parse(c.note).text, let checkpoint = Checkpoint(body: text),
                        checkpoint.size == c.size, checkpoint.root == c.root
                    else { return nil }
                    return c
                }
            }
        } catch { throw Self.map(error, path: path) }
    }

    /// Keeps `note`, a checkpoint the log's signer signed of `size` entries with root `root`,
    /// in the file's `checkpoints` table, unless the table holds it already: what `prove` and
    /// evidence bundles read. Auditors and the signer rely on their own records, not on this table.
    func store(size: Int64, root: [UInt8], note: [UInt8], at time: Timestamp) throws {
        do {
            try db.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    if let stored = try Row.fetchOne(db, sql: "SELECT root FROM checkpoints WHERE size = ?", arguments: [size]),
                        (try? RowReader.blob(stored, 0, "root")) == root { return .commit }
                    try db.execute(sql: "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)",
                                   arguments: [size, Data(root), Data(note), time.description])
                    return .commit
                }
            }
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
            throw CheckpointRefusal.notStored(size: size)
        } catch { throw Self.map(error, path: path) }
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
                // The file's schema first, then one pass over the rows themselves (not an index, which
                // could be left stale to hide one of the case's events from the bundle).
                try Schema.check(db)
                let governanceTypes = EvidenceBundle.governance.sorted()
                let rows = try Row.fetchAll(db, sql: "\(try Self.selectRows(db, notIndexed: true)) WHERE case_id = ? OR type IN (\(governanceTypes.map { _ in "?" }.joined(separator: ", "))) ORDER BY seq",
                                            arguments: StatementArguments([caseID] + governanceTypes))
                let caseRows = try rows.filter { try RowReader.optionalText($0, 3, "case_id").map { sameBytes($0, caseID) } == true }
                guard let last = caseRows.last.map({ try? RowReader.integer($0, 0, "seq") }) ?? nil else {
                    throw LedgerError.sqlite(path: path, message: "no events for case \(caseID): check the case id ('safeguard case list')")
                }
                guard last < size else {
                    throw LedgerError.sqlite(path: path, message: "the checkpoint of \(size) events does not cover case \(caseID) (its last event is seq \(last)): run 'safeguard checkpoint' first")
                }
                let allGovernance = try rows.filter { row in
                    try RowReader.optionalText(row, 3, "case_id") == nil && governanceTypes.contains(try RowReader.text(row, 2, "type")) && RowReader.integer(row, 0, "seq") < last
                }
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
    /// `signers` check: genesis, every policy and root hand-over, and the enrolment and revocation of each signer,
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
            return type == LogType.genesis || type == LogType.policySet || type == LogType.rootRotated || needed.contains(seq)
        }
    }
}
