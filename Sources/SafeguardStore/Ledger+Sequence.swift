import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

/// What an append and a sequencing both do inside their transaction: the checks verification
/// makes, then the rows written and read back. One place, so the two writers cannot differ.
struct EntryWriter {
    let path: String
    var verifier: ChainVerifier
    private let insert: DirectStatement
    private let insertDetails: DirectStatement
    private let exists: Statement
    private var tree: TreeStore.Appender
    let rules: CatalogueRules
    private let db: Database
    /// The rows this writer wrote (events, details records, wrapped keys, erasures), for a
    /// second store that keeps the same rows (the service's PostgreSQL store), when `keepRows`.
    private(set) var written = LedgerRows.Batch()
    private let keepRows: Bool

    /// Checks the file and reads its state, as every write must first (docs/FORMAT.md §9.4).
    /// With `cache` holding the state this writer left after its last commit, and the file's
    /// last row still the one it wrote, that state is used instead of reading and checking the
    /// governance rows again (the one writer of a served ledger: see `Ledger.WriterCache`).
    init(_ db: Database, path: String, cache: Ledger.WriterCache? = nil, keepRows: Bool = false, trustAnchor: (LedgerState) -> PublicKey) throws {
        self.path = path
        self.db = db
        self.keepRows = keepRows
        do { try Schema.check(db) } catch let f as VerificationFailure { throw LedgerError.altered(path: path, what: f.detail) }
        let state: LedgerState
        rules = CatalogueRules(view: try LedgerContext(db: db), policy: cache?.policy)
        if let cached = cache?.state, let last = try Row.fetchOne(db, sql: "SELECT seq, entry_hash FROM events ORDER BY seq DESC LIMIT 1"),
            (last[0] as Int64?) == cached.nextSeq - 1, (last[1] as Data?).map({ [UInt8]($0) }) == cached.headHash {
            state = cached
        } else {
            state = try Ledger.state(db, path: path)
            try Ledger.checkHead(db, path: path, state: state)
        }
        verifier = ChainVerifier(resuming: state, trustAnchor: state.genesis?.rootPublicKey ?? trustAnchor(state), types: EventType.known)
        // The catalogue's rules, as verification applies them, answered from the file and the batch.
        verifier.rules = rules
        insert = try DirectStatement(db, "INSERT INTO events (\(Ledger.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
        insertDetails = try DirectStatement(db, "INSERT INTO details (seq, salt, body) VALUES (?, ?, ?)")
        exists = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE event_id = ?")
        tree = try TreeStore.Appender(db, size: verifier.state.nextSeq)
    }

    /// Checks `row` (its details record `sealed`) as the next entry, as verification would,
    /// and writes it. Throws why not, having changed nothing, for a refusal. `prepared`, when
    /// given, MUST be `ChainVerifier.prepare(row)` (made on another core by a pipelined import).
    mutating func write(_ row: StoredEntry, sealed: SealedDetails, plain: [String: JSONValue]? = nil, prepared: ChainVerifier.Prepared? = nil, index: Int) throws {
        guard row.envelope.count <= Entry.maxCanonicalBytes else {
            throw LedgerError.invalidEvent("the event is \(row.envelope.count) bytes, over the 1 MiB limit; attach large documents elsewhere and record a reference", index: index)
        }
        guard sealed.body.count <= Entry.maxCanonicalBytes else {
            throw LedgerError.invalidEvent("the details are \(sealed.body.count) bytes, over the 1 MiB limit; attach large documents elsewhere and record a reference", index: index)
        }
        // The batch's earlier rows are in the file already (this transaction's), so this finds them too.
        guard try Bool.fetchOne(exists, arguments: [row.eventID]) != true else {
            throw LedgerError.duplicateEventID(row.eventID, index: index)
        }
        // A writer that sealed the details hands the catalogue's rules what it sealed.
        let prepared = prepared ?? ChainVerifier.prepare(row, types: verifier.types)
        let envelope: Envelope
        do throws(VerificationFailure) { envelope = try verifier.verify(row, prepared: plain.map { prepared.with(details: $0) } ?? prepared, deferSignature: true).envelope } catch {
            if case .rule(.catalogue(let code, let field, let problem)) = error.reason {
                throw LedgerError.invalidFacts(CatalogueError(field, problem, CatalogueError.Kind(rawValue: code) ?? .facts), index: index)
            }
            if case .rule(let violation) = error.reason { throw LedgerError.rejected(violation, index: index) }
            throw LedgerError.invalidEvent("the event would not verify (\(error.detail))", index: index)
        }
        insert.int(row.seq); insert.text(row.eventID); insert.text(row.type); insert.text(row.caseID); insert.text(row.agency); insert.text(row.keyID)
        insert.text(row.occurredAt); insert.text(row.recordedAt); insert.blob(row.prevHash); insert.blob(row.envelope)
        insert.blob(row.signature); insert.blob(row.entryHash)
        try insert.run()
        // Nothing is acknowledged that is not there: the row must have been written, as itself.
        guard db.changesCount == 1, db.lastInsertedRowID == row.seq else {
            throw LedgerError.sqlite(path: path, message: "the event written as seq \(row.seq) is not in the file afterwards (a trigger or view outside the format may have swallowed it): nothing was appended; run 'safeguard doctor'")
        }
        insertDetails.int(row.seq); insertDetails.blob(sealed.salt); insertDetails.blob(sealed.body)
        try insertDetails.run()
        if keepRows {
            written.events.append(LedgerRows.Event(row))
            written.details.append(LedgerRows.Details(seq: row.seq, salt: sealed.salt, body: sealed.body))
        }
        try tree.add(index: row.seq, hash: row.entryHash)
        if let c = ChainVerifier.destroyedCase(envelope) { try destroy(case: c, before: row.seq) }
    }

    /// The agencies holding a wrapped copy of case `c`'s key, or nil where the case has no
    /// sealed record yet (any rows then commit to nothing, and a new key replaces them).
    func caseKeyHolders(_ c: String) throws -> Set<String>? {
        guard try Bool.fetchOne(db, sql: """
            SELECT 1 FROM events JOIN details USING (seq) WHERE events.case_id = ? AND substr(details.body, 1, 1) = x'01' LIMIT 1
            """, arguments: [c]) == true else { return nil }
        return Set(try String.fetchAll(db, sql: "SELECT agency FROM case_keys WHERE case_id = ?", arguments: [c]))
    }

    /// Adds the copies of case `c`'s key a client wrapped (`wraps`, by agency) with the key
    /// `by`; with `fresh`, the case's old rows (which commit to nothing) are removed first.
    mutating func addCaseKeys(_ c: String, _ wraps: [String: [UInt8]], by: String, fresh: Bool) throws {
        if fresh {
            try db.execute(sql: "DELETE FROM case_keys WHERE case_id = ?", arguments: [c])
            if keepRows { written.replacedKeys.append(c) }
        }
        for (agency, wrapped) in wraps.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: "INSERT INTO case_keys (case_id, agency, wrapped, wrapped_by) VALUES (?, ?, ?, ?)", arguments: [c, agency, Data(wrapped), by])
            if keepRows { written.caseKeys.append(LedgerRows.CaseKey(caseID: c, agency: agency, wrapped: wrapped, wrappedBy: by)) }
        }
    }

    /// What this writer wrote, with the tree's nodes its entries completed (read back).
    func rowsWritten(from size: Int64) throws -> LedgerRows.Batch {
        var b = written
        let nodes = try Row.fetchCursor(db, sql: "SELECT level, idx, hash FROM tree_nodes WHERE level < 62 AND ((idx + 1) << level) > ? ORDER BY level, idx", arguments: [size])
        while let r = try nodes.next() {
            b.treeNodes.append(LedgerRows.TreeNode(level: try RowReader.integer(r, 0, "level"), index: try RowReader.integer(r, 1, "idx"), hash: try RowReader.blob(r, 2, "hash")))
        }
        return b
    }

    /// Whether this writer destroyed a case's details (its caller then empties the WAL).
    private(set) var destroyed = false

    /// Erases case `c`'s details (docs/FORMAT.md §3.5, §9 check 14) as the retention review at
    /// `seq` decided: its wrapped keys (so its sealed records can never be opened) and the
    /// details records of its events before `seq`, overwritten with zeros in the file
    /// (`secure_delete`). The events, their digests and every proof stay.
    mutating func destroy(case c: String, before seq: Int64) throws {
        try db.execute(sql: "PRAGMA secure_delete = ON")
        try db.execute(sql: "DELETE FROM case_keys WHERE case_id = ?", arguments: [c])
        try db.execute(sql: "DELETE FROM details WHERE seq IN (SELECT seq FROM events WHERE case_id = ? AND seq < ?)", arguments: [c, seq])
        if keepRows { written.erased.append((c, seq)) }
        destroyed = true
    }
}

extension Ledger {
    /// The log service's own key is not the one the ledger names for its entries and checkpoints.
    public struct WrongLogKey: Error, CustomStringConvertible {
        public let given: String
        public let named: String?
        public init(given: String, named: String?) { self.given = given; self.named = named }
        public var description: String {
            guard let named else {
                return "the ledger names no log key: set one with 'safeguard keys set-log-key' (signed by the root key) before serving it"
            }
            return "the log key given (\(given)) is not the one the ledger names (\(named)): start the service with the key set by 'safeguard keys set-log-key'"
        }
    }

    /// The log service's write (docs/FORMAT.md §3.4): places each signed statement after the
    /// head, dates it by `clock` (never earlier than the entry before: a clock stepped back
    /// leaves the time where it was), and signs the entry with `logKey`, which must be the log
    /// key the ledger names. Each statement is checked as verification would check its entry
    /// (the actor's signature, the key registry, the policy, the catalogue, the case), and is
    /// placed or refused on its own: one refusal does not hold back the others. The placed
    /// ones are durable, in one transaction, when this returns.
    /// `verifiedUnder[i]`, when given, is the public key statement `i`'s signature was already
    /// found to verify under (by the service's request handler, on another core): if the key
    /// its `actor.key_id` names here is that key, the signature is not checked again.
    /// `caseKeys[i]`, when given, holds the copies of the case's key statement `i`'s client
    /// wrapped (by agency) for a ledger that seals details (docs/SERVICE.md "Sealed details").
    public func sequence(_ statements: [(statement: SignedStatement, details: SealedDetails)], verifiedUnder: [PublicKey?] = [],
                         caseKeys: [[String: [UInt8]]] = [], logKey: SigningKey,
                         cache: WriterCache? = nil, store: (any LedgerStore)? = nil, clock: () -> Timestamp) throws -> [Result<StoredEntry, LedgerError>] {
        var results: [Result<StoredEntry, LedgerError>] = []
        var destroyed = false
        var after: LedgerState?
        var policy: CatalogueRules.PolicyCache?
        var size: Int64 = 0
        var headBefore: [UInt8]?
        // Dropped until this batch commits: a failed one leaves the next to read the file again.
        let kept = Ledger.WriterCache(cache?.state, policy: cache?.policy)
        cache?.state = nil
        do {
            try db.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    results = []
                    var writer = try EntryWriter(db, path: path, cache: kept, keepRows: store != nil) { _ in logKey.publicKey }
                    size = writer.verifier.state.nextSeq
                    headBefore = size == 0 ? nil : writer.verifier.state.headHash
                    let named = writer.verifier.state.logKey(forSize: writer.verifier.state.nextSeq)
                    guard named == logKey.publicKey else { throw WrongLogKey(given: logKey.publicKey.keyID, named: named?.keyID) }
                    for (index, item) in statements.enumerated() {
                        do {
                            results.append(.success(try Self.place(item.statement, details: item.details, verifiedUnder: index < verifiedUnder.count ? verifiedUnder[index] : nil,
                                                                   caseKeys: index < caseKeys.count ? caseKeys[index] : [:],
                                                                   writer: &writer, logKey: logKey, now: clock(), index: index)))
                        } catch let e as LedgerError where e.isRefusal {
                            results.append(.failure(e))
                        }
                    }
                    after = writer.verifier.state
                    policy = writer.rules.policy
                    destroyed = writer.destroyed
                    // A second store (the service's PostgreSQL) commits the same rows first: what
                    // is acknowledged is durable there. If it fails, nothing is written here.
                    if let store, after!.nextSeq > size {
                        try store.append(try writer.rowsWritten(from: size), after: size, head: headBefore)
                    }
                    return .commit
                }
            }
        } catch let e as WrongLogKey { throw e } catch let e as LedgerStoreFailure { throw e } catch { throw Self.map(error, path: path) }
        cache?.state = after
        cache?.policy = policy
        // Destroyed details must not linger in the write-ahead log's older pages (a reader of the
        // service may hold it for a moment; 'safeguard retention purge' empties it later).
        var attempts = destroyed ? 20 : 0
        while attempts > 0, (try? purgeWAL()) != true {
            attempts -= 1
            usleep(50_000)
        }
        return results
    }

    /// The state a served ledger's one writer left after its last commit, so that the next batch
    /// need not read and check every governance row again. It is used only while the file's
    /// last row is still the one the writer wrote (anything appended past the service makes the
    /// next batch read the file again); the service's checkpoint signer verifies every entry it
    /// signs, so a governance row changed in the file behind the service's back is found there.
    public final class WriterCache: @unchecked Sendable {
        var state: LedgerState?
        var policy: CatalogueRules.PolicyCache?
        public init() {}
        init(_ state: LedgerState?, policy: CatalogueRules.PolicyCache?) { self.state = state; self.policy = policy }
        /// The keys enrolled as of the last commit.
        public var registry: KeyRegistry? { state?.registry }
    }

    private static func place(_ statement: SignedStatement, details: SealedDetails, verifiedUnder: PublicKey?, caseKeys: [String: [UInt8]],
                              writer: inout EntryWriter, logKey: SigningKey, now: Timestamp, index: Int) throws -> StoredEntry {
        let state = writer.verifier.state
        guard details.digest == statement.envelope.details.digest else {
            throw LedgerError.invalidEvent("the details sent are not the ones the statement's details_digest commits to (the salt or the details differ)", index: index)
        }
        let keys = try checkCaseKeys(caseKeys, for: statement.envelope, details: details, state: state, writer: writer, index: index)
        // The key id names one public key (its hash), so the enrolled key is the only one to try.
        if let enrolled = state.registry[statement.envelope.actor.keyID], enrolled.publicKey != verifiedUnder, !statement.verifies(under: enrolled.publicKey, origin: state.genesis?.origin ?? "") {
            throw LedgerError.badStatementSignature(keyID: enrolled.keyID, index: index)
        }
        let recordedAt = max(now, state.lastRecordedAt ?? now)
        let envelope = statement.placed(seq: state.nextSeq, prevHash: state.headHash, recordedAt: recordedAt)
        let entry = try Entry(sequencing: envelope, logKey: logKey)
        let row = StoredEntry(envelope, entry: entry, details: details)
        try writer.write(row, sealed: details, index: index)
        if let keys { try writer.addCaseKeys(keys.caseID, caseKeys, by: statement.envelope.actor.keyID, fresh: keys.fresh) }
        return row
    }

    /// For a ledger whose policy seals details (docs/FORMAT.md §3.5, docs/SERVICE.md): the
    /// details must come sealed, and `wraps` must hold a copy of the case's key for exactly the
    /// agencies `Policy.Sealing.holders` names that hold none yet (all of them, for a case's
    /// first sealed record). The service cannot open a copy (only the agency can): it checks
    /// who gets one, and its size. Returns the case and whether its key is new.
    private static func checkCaseKeys(_ wraps: [String: [UInt8]], for e: Envelope, details: SealedDetails, state: LedgerState, writer: EntryWriter,
                                      index: Int) throws -> (caseID: String, fresh: Bool)? {
        guard let sealing = state.policy?.sealing, let c = e.caseID else {
            guard wraps.isEmpty else {
                throw LedgerError.invalidEvent("case_keys: this ledger does not seal \(e.caseID == nil ? "the details of events outside a case" : "details") (policy version \(state.policy?.version ?? 0)): send none", index: index)
            }
            return nil
        }
        guard details.isSealed else {
            throw LedgerError.invalidEvent("the ledger seals case details (policy version \(state.policy?.version ?? 0)): seal them on your machine with the case's key (safeguard record --server URL --agency-key FILE)", index: index)
        }
        let have = try writer.caseKeyHolders(c)
        if have?.isEmpty == true {
            throw LedgerError.invalidEvent("case \(c)'s records are sealed but the ledger holds no key for them, and no retention review destroyed them: the partnership must restore the file from a backup (safeguard doctor)", index: index)
        }
        let needed = sealing.holders(after: e.type, by: e.actor.agency, entitled: writer.rules.view.caseRecord(c)?.entitled,
                                     toAgency: e.facts["to_agency"]?.stringValue).subtracting(have ?? [])
        let sent = Set(wraps.keys)
        if let extra = sent.subtracting(needed).sorted().first {
            let why = have?.contains(extra) == true ? "already holds a copy of case \(c)'s key (it may have changed since you fetched it: fetch it again and send again)"
                : "is not entitled to case \(c)'s details by this event"
            throw LedgerError.invalidEvent("case_keys.\(extra): \(extra) \(why)", index: index)
        }
        let missing = needed.subtracting(sent).sorted()
        guard missing.isEmpty else {
            throw LedgerError.invalidEvent("case_keys: no copy of case \(c)'s key for \(missing.joined(separator: ", ")): wrap it for each (their keys: GET /v1/cases/\(c)/keys)", index: index)
        }
        for (agency, w) in wraps where w.count != CaseKey.wrappedByteCount {
            throw LedgerError.invalidEvent("case_keys.\(agency): a wrapped key is \(CaseKey.wrappedByteCount) bytes, not \(w.count)", index: index)
        }
        return (c, have == nil)
    }
}

extension LedgerError {
    /// A refusal of one event (what the submitter must fix), as against a problem with the
    /// ledger or the machine.
    public var isRefusal: Bool {
        switch self {
        case .rejected, .invalidEvent, .duplicateEventID, .invalidFacts, .refused, .clockBehind, .clockAhead, .badStatementSignature: return true
        default: return false
        }
    }
}

/// A second store that keeps the same rows as a ledger file, written in the file's write
/// transaction before it commits (the log service's PostgreSQL store, docs/SCALE.md).
public protocol LedgerStore: AnyObject, Sendable {
    /// Writes `rows` durably, which follow an entry of hash `head` at `size` (nil: none), in
    /// one transaction, or throws `LedgerStoreFailure` having written nothing.
    func append(_ rows: LedgerRows.Batch, after size: Int64, head: [UInt8]?) throws
}

/// The second store could not take a batch: nothing was acknowledged, and the file was not written.
public struct LedgerStoreFailure: Error, CustomStringConvertible {
    public let description: String
    /// Whether the store may hold the batch after all (the outcome of its commit is unknown):
    /// the writer must stop, and start again from what the store holds.
    public let uncertain: Bool
    public init(_ description: String, uncertain: Bool) { self.description = description; self.uncertain = uncertain }
}
