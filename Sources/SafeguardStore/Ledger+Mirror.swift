import Foundation
import GRDB
import SafeguardCore

extension Ledger {
    /// Creates an empty ledger file to mirror a served log into (`safeguard mirror`): the
    /// format's schema, no events. Built under a temporary name and linked into place, so a
    /// failed creation leaves nothing at `path`.
    public static func createMirror(at path: String) throws -> Ledger {
        try checkFree(path)
        let folder = (path as NSString).deletingLastPathComponent
        let tmp = (folder.isEmpty ? "" : folder + "/") + "." + (path as NSString).lastPathComponent + ".mirror-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError.sqlite(path: path, message: "cannot create the file (\(String(cString: strerror(errno)))): check that the folder exists and is writable") }
        close(fd)
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: tmp + suffix) } }
        do {
            let queue = try newFile(at: tmp)
            try queue.writeWithoutTransaction { db in _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try queue.close()
            guard link(tmp, path) == 0 else {
                if errno == EEXIST { throw LedgerError.alreadyExists(path: path) }
                throw LedgerError.sqlite(path: path, message: "cannot create the file (\(String(cString: strerror(errno))))")
            }
        } catch { throw map(error, path: path) }
        return try open(at: path, readOnly: false)
    }

    /// The served log's checkpoint does not match the entries it served.
    public struct MirrorMismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// Appends entries fetched from the log service (their entry bytes, docs/FORMAT.md §5, from
    /// seq `first` on) to this mirror, with their tree, in one transaction, and only if the tree
    /// of the whole copy then has `checkpoint`'s root at its size: what is written is what the
    /// log signed, extending what the copy held. No details records: they are not served (the
    /// copy is verified with them withheld). The rules are `verify`'s part, run next.
    public func appendMirrored(_ entries: [[UInt8]], first: Int64, checkpoint: Checkpoint) throws {
        try appendMirrored(first: first, checkpoint: checkpoint) { add in try add(entries) }
    }

    /// `appendMirrored` with the entries given a chunk at a time by `fetch` (each chunk checked
    /// and written as it comes, inside the one transaction): memory is bounded by a chunk, not
    /// by how far the copy is behind.
    public func appendMirrored(first: Int64, checkpoint: Checkpoint, fetch: (_ add: ([[UInt8]]) throws -> Void) throws -> Void) throws {
        do {
            try db.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    do { try Schema.check(db) } catch let f as VerificationFailure { throw LedgerError.altered(path: path, what: f.detail) }
                    guard try Self.treeSize(db) == first else {
                        throw MirrorMismatch(description: "the copy holds \(try Self.treeSize(db)) events, not the \(first) these entries follow: run 'safeguard mirror' again")
                    }
                    let insert = try db.cachedStatement(sql: "INSERT INTO events (\(Self.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
                    var tree = try TreeStore.Appender(db, size: first)
                    var seq = first - 1
                    try fetch { entries in
                    for bytes in entries {
                        seq += 1
                        guard seq < checkpoint.size else {
                            throw MirrorMismatch(description: "the service served more entries than its checkpoint of \(checkpoint.size) holds: nothing was written")
                        }
                        guard bytes.count > 4 + SigningKey.signatureByteCount, let envelope = OfflineProof.envelope(bytes), envelope.seq == seq else {
                            throw MirrorMismatch(description: "the service's entry \(seq) is not a signed envelope of that sequence number")
                        }
                        let n = Int(bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                        let row = StoredEntry(envelope, entry: Entry(canonical: Array(bytes[4..<(4 + n)]), signature: Array(bytes[(4 + n)...])), details: nil)
                        try insert.execute(arguments: [
                            row.seq, row.eventID, row.type, row.caseID, row.agency, row.keyID, row.occurredAt, row.recordedAt,
                            Data(row.prevHash), Data(row.envelope), Data(row.signature), Data(row.entryHash),
                        ])
                        try tree.add(index: row.seq, hash: row.entryHash)
                    }
                    }
                    let size = seq + 1
                    guard size == checkpoint.size, try Merkle.root(size: size, { try TreeStore.node(db, $0, $1) }) == checkpoint.root else {
                        throw MirrorMismatch(description: "the entries the service served do not make the tree of its signed checkpoint (\(checkpoint.size) events, root "
                                             + "\(Base64.encode(checkpoint.root))) on top of this copy: nothing was written; keep the checkpoint, and verify the copy in full")
                    }
                    return .commit
                }
            }
        } catch let e as MirrorMismatch { throw e } catch { throw Self.map(error, path: path) }
    }
}

extension Ledger {
    /// Writes a facts-only copy of this ledger to `path` (a new file, mode 0600): every entry
    /// up to `checkpoint` (envelopes, signatures and the tree, as a mirror of the log holds them),
    /// no details record, so no name or narrative. Written only if the entries make exactly the
    /// checkpoint's tree; nothing is left at `path` otherwise. An auditor verifies the copy with
    /// `verify --details-withheld` and holds it to the checkpoint with the log's key.
    public func exportFactsOnly(to path: String, checkpoint stored: StoredCheckpoint, progress: (_ done: Int64, _ total: Int64) -> Void = { _, _ in }) throws {
        guard let text = try? SignedNote.parse(stored.note).text, let checkpoint = Checkpoint(body: text) else {
            throw MirrorMismatch(description: "the checkpoint kept in the file is not a signed checkpoint: run 'safeguard checkpoint' for a new one")
        }
        let copy = try Ledger.createMirror(at: path)
        do {
            try copy.appendMirrored(first: 0, checkpoint: checkpoint) { add in
                var index: Int64 = 0
                while index * 256 < checkpoint.size {
                    let width = Int(min(256, checkpoint.size - index * 256))
                    guard let bundle = try entryBundle(index: index, width: width) else {
                        throw MirrorMismatch(description: "the ledger holds fewer events than its checkpoint of \(checkpoint.size): run 'safeguard verify'")
                    }
                    try add(bundle)
                    index += 1
                    progress(min(index * 256, checkpoint.size), checkpoint.size)
                }
            }
            try copy.db.close()
        } catch {
            try? copy.db.close()
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            throw error
        }
    }
}
