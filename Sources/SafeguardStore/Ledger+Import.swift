import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

extension Ledger {
    /// What an import wrote: how many entries, and the first and last.
    public struct Imported: Sendable {
        public let count: Int
        public let first: StoredEntry
        public let last: StoredEntry
    }

    /// The pipelined import stopped at an input it refuses (or cannot place on this path), having
    /// written nothing. The caller checks every input again with `append(reportAll:commit:false)`,
    /// which reports all the refusals at once.
    public struct ImportStopped: Error, CustomStringConvertible {
        /// The input's number (as `next` gave it), and why.
        public let index: Int
        public let reason: String
        /// Stopped only because the policy seals details (nothing was refused): the caller's
        /// check of every input may then commit what it finds good.
        public let sealing: Bool
        public init(index: Int, reason: String, sealing: Bool = false) { self.index = index; self.reason = reason; self.sealing = sealing }
        public var description: String { "input \(index): \(reason)" }
    }

    /// One entry made by the signing thread, for the writing thread.
    private struct Made: @unchecked Sendable {
        let index: Int
        let row: StoredEntry
        let sealed: SealedDetails
        let prepared: ChainVerifier.Prepared
    }

    /// Appends the drafts `next` yields (with their input numbers; nil at the end), in order,
    /// signed by `signer`, all or nothing, in one transaction: `safeguard import`.
    ///
    /// The chain makes the signatures sequential (each envelope names the previous entry's
    /// hash), but nothing else needs to be: one thread reads the input (`next`), seals the
    /// details, builds and signs each envelope from its own copy of the log's state (advanced by
    /// the same `LedgerState.apply` verification uses) and prepares the entry as an auditor's
    /// verification would (`ChainVerifier.prepare(_:encodedFrom:)`: its hashes, its details
    /// record against the digest), while the calling thread makes every other check of
    /// verification and append (the key registry, the policy, the catalogue, the case) through
    /// the same `EntryWriter` and writes the rows. The input is read as it goes and at most a
    /// few chunks (of at most 256 entries or 4 MiB) wait between the two, so memory does not
    /// grow with the input's length.
    ///
    /// Throws `ImportStopped` at the first input refused, and also where the policy seals
    /// details (the case keys live in the file, which only the writing thread reads): nothing
    /// is then written, and the caller goes through `append`. `progress` is told how many
    /// entries are written so far.
    public func importDrafts(_ next: @escaping @Sendable () throws -> (index: Int, draft: EventDraft)?, signer: SigningKey,
                             practitioner: String = "root", clock: @escaping @Sendable () -> Timestamp, newID: @escaping @Sendable () -> String,
                             newSalt: @escaping @Sendable () -> [UInt8] = randomSalt, progress: (Int) -> Void = { _ in }) throws -> Imported? {
        var result: Imported?
        do {
            try db.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    var writer = try EntryWriter(db, path: path) { _ in signer.publicKey }
                    let queue = ChunkQueue<[Made]>(capacity: 4)
                    let done = DispatchSemaphore(value: 0)
                    let start = writer.verifier.state
                    let signing = Thread {
                        defer { done.signal() }
                        do {
                            try Self.sign(next, from: start, signer: signer, practitioner: practitioner, clock: clock, newID: newID, newSalt: newSalt, into: queue)
                            queue.finish()
                        } catch {
                            queue.finish(error)
                        }
                    }
                    // The parser recurses into nested input (at most JSONParser.maxDepth levels).
                    signing.stackSize = 8 << 20
                    signing.start()
                    // The signing thread never outlives this transaction.
                    defer {
                        queue.cancel()
                        done.wait()
                    }
                    var count = 0
                    var first: StoredEntry?, last: StoredEntry?
                    while let chunk = try queue.take() {
                        for made in chunk {
                            do {
                                try writer.write(made.row, sealed: made.sealed, prepared: made.prepared, index: made.index)
                            } catch let e as LedgerError where e.isRefusal {
                                throw ImportStopped(index: made.index, reason: e.reason)
                            }
                            first = first ?? made.row
                            last = made.row
                        }
                        count += chunk.count
                        progress(count)
                    }
                    if let first, let last { result = Imported(count: count, first: first, last: last) }
                    return .commit
                }
            }
        } catch let e as ImportStopped { throw e } catch { throw Self.map(error, path: path) }
        return result
    }

    /// The signing thread of `importDrafts`: each draft becomes a signed entry, checked as
    /// `append` checks it before signing, placed on `state` as verification would place it.
    private static func sign(_ next: () throws -> (index: Int, draft: EventDraft)?, from start: LedgerState, signer: SigningKey, practitioner: String,
                             clock: () -> Timestamp, newID: () -> String, newSalt: () -> [UInt8], into queue: ChunkQueue<[Made]>) throws {
        var state = start
        var chunk: [Made] = []
        chunk.reserveCapacity(256)
        // A chunk is handed over at 256 entries or 4 MiB of stored bytes, whichever comes first:
        // events of up to 1 MiB each would otherwise keep a gigabyte waiting.
        var chunkBytes = 0
        while let (index, draft) = try next() {
            func stop(_ reason: String) -> ImportStopped { ImportStopped(index: index, reason: reason) }
            guard state.policy?.sealing == nil || draft.caseID == nil else {
                throw ImportStopped(index: index, reason: "the policy seals case details: this import goes through the ledger's case keys", sealing: true)
            }
            let now = clock()
            do { try checkClock(now, against: state.lastRecordedAt, index: index) } catch let e as LedgerError { throw stop(e.reason) }
            guard state.registry[signer.publicKey.keyID]?.publicKey ?? (state.nextSeq == 0 ? signer.publicKey : nil) == signer.publicKey else {
                throw stop("the signing key is not the one enrolled under its id")
            }
            let sealed: SealedDetails
            do { sealed = try SealedDetails(draft.details, salt: newSalt()) } catch { throw stop("details: \(error)") }
            let envelope: Envelope
            do throws(RuleViolation) {
                envelope = try state.envelope(for: draft, sealed: sealed, signer: signer.publicKey, recordedAt: now,
                                              eventID: draft.eventID ?? newID(), practitioner: practitioner)
            } catch { throw stop(error.description) }
            let row = StoredEntry(envelope, entry: try Entry(signing: envelope, with: signer), details: sealed)
            // What an auditor's verification makes of the stored bytes (their hashes, the details
            // record against its digest), made here on this core.
            chunk.append(Made(index: index, row: row, sealed: sealed, prepared: ChainVerifier.prepare(row, encodedFrom: envelope, details: draft.details, types: EventType.known)))
            state.apply(envelope, entryHash: row.entryHash)
            chunkBytes += row.envelope.count + sealed.body.count
            if chunk.count == 256 || chunkBytes >= 4 << 20 {
                guard queue.put(chunk) else { return }
                chunk.removeAll(keepingCapacity: true)
                chunkBytes = 0
            }
        }
        if !chunk.isEmpty { queue.put(chunk) }
    }
}
