import Dispatch
import GRDB
import SafeguardCatalogue
import SafeguardCore

extension Ledger {
    /// What a verification starts from: nothing but the root key, or a part of the log the
    /// verifier already holds (docs/FORMAT.md §9, §9.2, §9.3).
    public enum TrustedPrefix {
        /// Verify everything, from genesis.
        case none
        /// A checkpoint the verifier kept (size, root): the entries before it are read and
        /// hashed again (their tree must have that root), not verified again.
        case checkpoint(size: Int64, root: [UInt8])
        /// The verifier's own record of what it verified: nothing before it is read.
        case state(AuditState)
    }

    /// What a verification found.
    public struct Verification: Sendable {
        /// The log: `events` is its size and `treeRoot` the root of its whole tree; the times,
        /// agencies and the like are of the entries verified in this run.
        public var summary: VerificationSummary
        /// The size of the trusted prefix: the entries not verified again.
        public var from: Int64
        /// Governance entries of the prefix, replayed for the rules.
        public var governanceProved: Int
        /// Where each case stood at the end, as far as the catalogue's rules read it (the
        /// cases that changed in this run are those to save in a kept state).
        public var cases: CaseBook
        /// The whole tree's right edge.
        public var tree: MerkleFrontier
        /// The checkpoint key the log names at its head (docs/FORMAT.md §8.7), if any.
        public var logKey: PublicKey?
        /// The checkpoint key the log named before an entry at `size` (the one that may sign a
        /// checkpoint of that size), if any.
        public var logKeys: [(seq: Int64, key: PublicKey)]

        public func logKey(forSize size: Int64) -> PublicKey? { logKeys.last { $0.seq < size }?.key }
    }

    /// Why the log no longer holds a prefix the verifier kept: it is shorter, or the entries
    /// the prefix committed to are not the ones in the file.
    public enum ExtensionRefusal: Error, Equatable {
        case truncated(size: Int64)
        case rewritten(root: [UInt8])
    }

    /// Verifies the ledger against `trustAnchor` from `prefix` to its head, in one read
    /// transaction, streaming the rows (`LedgerVerifier`). Throws `VerificationFailure` for
    /// the first problem, `ExtensionRefusal` when the file no longer holds the prefix. Each
    /// verified entry goes to `onEntry`, in order; `progress` is called every `every` entries
    /// with how many are verified and how many the file holds (read once its schema is checked).
    /// With `threads` > 1 the entries' own work and the Ed25519 checks are spread over that
    /// many cores; the result, and the first failure reported, are the same. With `notAfter`
    /// (the verifier's clock and the skew it allows), an entry recorded after it fails
    /// (`recorded_after_clock`).
    public func verify(from prefix: TrustedPrefix = .none, trustAnchor: PublicKey, threads: Int = 1, notAfter: Timestamp? = nil,
                       detailsWithheld: Bool = false, every: Int64 = 10_000, progress: (_ done: Int64, _ total: Int64) -> Void = { _, _ in },
                       onEntry: (StoredEntry, Envelope) throws -> Void = { _, _ in }) throws -> Verification {
        do {
            return try withoutActuallyEscaping(onEntry) { onEntry in
            try withoutActuallyEscaping(progress) { progress in
            try db.read { db in
                let verifier = try LedgerVerifier.resume(db, path: path, prefix: prefix, trustAnchor: trustAnchor, notAfter: notAfter)
                verifier.detailsWithheld = detailsWithheld
                let total = max(0, (try Self.head(db)?.size ?? 0) - verifier.from)
                var n: Int64 = 0
                var summary = try verifier.run(threads: threads) { item in
                    try onEntry(item.0, item.1)
                    n += 1
                    if n % every == 0 { progress(n, total) }
                }
                let tree = verifier.chain.tree ?? MerkleFrontier()
                summary.events = tree.size
                let state: (size: Int64, root: [UInt8])? = if case .state(let s) = prefix { (s.head.size, s.head.root) } else { nil }
                summary.flagged = try Self.flagged(db, verifier, provedBefore: state)
                return Verification(summary: summary, from: verifier.from, governanceProved: verifier.governanceProved,
                                    cases: verifier.cases, tree: tree, logKey: verifier.chain.state.logKeys.last?.key,
                                    logKeys: verifier.chain.state.logKeys)
            }
            }
            }
        } catch let failure as VerificationFailure {
            throw failure
        } catch let e as LedgerError {
            throw e
        } catch where !(error is DatabaseError) {
            throw error
        } catch {
            throw Self.map(error, path: path)
        }
    }

    /// `verify` from genesis: the summary alone.
    public func verify(trustAnchor: PublicKey, threads: Int = 1, every: Int64 = 10_000, progress: (_ done: Int64, _ total: Int64) -> Void = { _, _ in },
                       onEntry: (StoredEntry, Envelope) throws -> Void = { _, _ in }) throws -> VerificationSummary {
        try verify(from: .none, trustAnchor: trustAnchor, threads: threads, every: every, progress: progress, onEntry: onEntry).summary
    }

    /// The events to review after a key was revoked as compromised or lost (docs/FORMAT.md
    /// §8.4), in order: those it signed from the point its revocation names until the
    /// revocation, and, if it enrolled keys in that window (a safeguarding lead's), each such
    /// key's enrolment and every event that key signed until it was revoked. Rows the run
    /// verified are read by their copy columns; with a kept state, rows before its size are
    /// each proved by an inclusion proof against its root before their key is believed.
    static func flagged(_ db: Database, _ verifier: LedgerVerifier, provedBefore state: (size: Int64, root: [UInt8])?) throws -> [FlaggedEvent] {
        let registry = verifier.chain.state.registry
        let end = verifier.chain.state.nextSeq
        var windows: [(key: String, from: Int64, to: Int64, compromised: KeyRecord, via: String?)] = []
        for record in registry.ordered {
            guard let since = record.compromisedSince, let revoked = record.revokedAt else { continue }
            windows.append((record.keyID, since, revoked, record, nil))
            for enrolled in registry.ordered where enrolled.enrolledBy == record.keyID && enrolled.enrolledAt >= since && enrolled.enrolledAt < revoked {
                windows.append((enrolled.keyID, enrolled.enrolledAt + 1, enrolled.revokedAt ?? end, record, record.keyID))
            }
        }
        var out: [FlaggedEvent] = []
        for w in windows {
            func flag(_ seq: Int64, _ id: String, _ type: String, _ caseID: String?) {
                out.append(FlaggedEvent(seq: seq, eventID: id, type: type, caseID: caseID, keyID: w.key, compromisedSince: w.compromised.compromisedSince ?? w.from,
                                        revokedAt: w.compromised.revokedAt ?? w.to, enrolledBy: w.via))
            }
            let verifiedFrom = state?.size ?? 0
            if let state, w.from < state.size {
                for seq in w.from..<min(w.to, state.size) {
                    let e = try verifier.proved(seq, size: state.size, root: state.root)
                    if sameBytes(e.actor.keyID, w.key) { flag(seq, e.eventID, e.type, e.caseID) }
                }
            }
            for r in try Row.fetchAll(db, sql: "SELECT seq, event_id, type, case_id FROM events WHERE key_id = ? AND seq >= ? AND seq < ? ORDER BY seq",
                                      arguments: [w.key, max(w.from, verifiedFrom), w.to]) {
                flag(try RowReader.integer(r, 0, "seq"), try RowReader.text(r, 1, "event_id"), try RowReader.text(r, 2, "type"), try RowReader.optionalText(r, 3, "case_id"))
            }
        }
        // An enrolment made by a compromised key in its window is flagged as that key's event; keep one of each.
        var seen = Set<Int64>()
        return out.sorted { $0.seq < $1.seq }.filter { seen.insert($0.seq).inserted }
    }
}
