import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

/// One ledger file: an append-only SQLite table of signed, chained events.
///
/// Contract: every append runs in one `BEGIN IMMEDIATE` transaction that reads the head and
/// the governance state, checks each draft with `LedgerState`, signs it and inserts it, so
/// that concurrent appenders from several processes serialise and never fork the chain.
/// `synchronous = FULL` in WAL mode makes an append durable when `append` returns.
public final class Ledger: @unchecked Sendable {  // its fields are constants; the database queue serialises access
    public let path: String
    let db: DatabaseQueue

    /// The head of the log: its last sequence number and entry hash.
    public struct Head: Equatable, Sendable {
        public let size: Int64
        public let lastSeq: Int64
        public let hash: [UInt8]
    }

    private init(path: String, db: DatabaseQueue) {
        self.path = path
        self.db = db
    }

    /// How long a writer waits for another to finish before giving up with `LedgerError.busy`
    /// (SQLite's busy handler retries with growing pauses until then). Set once at start-up.
    nonisolated(unsafe) public static var lockTimeout: TimeInterval = 30

    static func configuration(readOnly: Bool) -> Configuration {
        var c = Configuration()
        c.readonly = readOnly
        c.journalMode = readOnly ? .default : .wal
        c.busyMode = .timeout(lockTimeout)
        c.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // Each insert keeps a statement journal (the format's triggers may abort it): in
                // a file, that is a dozen small writes per event; in memory, a copy of a few pages.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
        }
        return c
    }

    /// Creates a new ledger file and writes its first events (genesis, policy) in one transaction.
    /// The file is built under a temporary name in the same folder and linked to `path` only
    /// once complete (the link fails if `path` exists, so two inits racing cannot both win and
    /// nothing is overwritten): an init that fails, or is killed, leaves nothing at `path`.
    public static func create(at path: String, signer: SigningKey, drafts: [EventDraft], practitioner: String,
                              clock: () -> Timestamp, newID: () -> String, newSalt: () -> [UInt8] = randomSalt) throws -> (Ledger, [StoredEntry]) {
        try checkFree(path)
        removeAbandoned(path)
        // A write-ahead log or shared-memory file without its ledger is an orphan (the ledger was
        // removed while open): SQLite would read its pages into the new file.
        for suffix in ["-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let folder = (path as NSString).deletingLastPathComponent
        let tmp = (folder.isEmpty ? "" : folder + "/") + "." + (path as NSString).lastPathComponent + ".init-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)  // children's records: not readable by every user
        guard fd >= 0 else {
            if errno == ENOSPC || errno == EDQUOT { throw LedgerError.diskFull(path: path) }
            throw LedgerError.sqlite(path: path, message: "cannot create the file (\(String(cString: strerror(errno)))): check that the folder exists and is writable")
        }
        close(fd)
        var written: [StoredEntry] = []
        do {
            let queue = try newFile(at: tmp)
            written = try Ledger(path: path, db: queue).append(drafts, signer: signer, practitioner: practitioner, clock: clock, newID: newID, newSalt: newSalt)
            // Everything into the main file, so that the name alone carries the ledger.
            try queue.writeWithoutTransaction { db in _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try queue.close()
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: tmp + suffix) {
                let size = (try? FileManager.default.attributesOfItem(atPath: tmp + suffix)[.size] as? Int) ?? 1
                if suffix == "-wal", size != 0 { throw LedgerError.sqlite(path: path, message: "the new file's write-ahead log could not be emptied") }
                try? FileManager.default.removeItem(atPath: tmp + suffix)
            }
            let dfd = Glibc.open(tmp, O_RDONLY | O_CLOEXEC)
            if dfd >= 0 { fsync(dfd); close(dfd) }
            guard link(tmp, path) == 0 else {
                if errno == EEXIST { throw LedgerError.alreadyExists(path: path) }
                if errno == ENOSPC || errno == EDQUOT { throw LedgerError.diskFull(path: path) }
                throw LedgerError.sqlite(path: path, message: "cannot create the file (\(String(cString: strerror(errno)))): check that the folder is writable")
            }
        } catch {
            removeFiles(tmp)
            throw map(error, path: path)
        }
        removeFiles(tmp)
        KeyFiles.syncFolder(of: path)
        return (try open(at: path, readOnly: false), written)
    }

    /// A new ledger file at `tmp`: its application id, format version and schema, no events.
    static func newFile(at tmp: String) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: tmp, configuration: configuration(readOnly: false))
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA application_id = \(Schema.applicationID)")
            try db.execute(sql: "PRAGMA user_version = \(Schema.formatVersion)")
        }
        try Schema.migrator.migrate(queue)
        return queue
    }

    /// Removes what an earlier init of `path` that was killed left behind: its temporary file
    /// (`.NAME.init-PID-N` and its journal files) when process PID is no longer running.
    static func removeAbandoned(_ path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        let prefix = "." + (path as NSString).lastPathComponent + ".init-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0, kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: (folder.isEmpty ? "" : folder + "/") + name)
        }
    }

    /// Refuses a path that exists, with advice for an empty file.
    static func checkFree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) != 0 else {
            if st.st_mode & S_IFMT == S_IFREG, st.st_size == 0 { throw LedgerError.emptyFile(path: path) }
            throw LedgerError.alreadyExists(path: path)
        }
    }

    static func removeFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Opens an existing ledger, checking that it is one and that its format is readable.
    public static func open(at path: String, readOnly: Bool) throws -> Ledger {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw LedgerError.notFound(path: path) }
        guard !isDir.boolValue else { throw LedgerError.notALedger(path: path) }
        if (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == 0 { throw LedgerError.emptyFile(path: path) }
        if !readOnly && !Self.isWritable(path) { throw LedgerError.readOnly(path: path) }
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration(readOnly: readOnly))
            let (app, version) = try queue.read { db in
                (try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0, try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0)
            }
            guard app == Schema.applicationID else { throw LedgerError.notALedger(path: path) }
            guard version >= 1 else { throw LedgerError.notALedger(path: path) }
            guard version <= Schema.formatVersion else {
                throw LedgerError.newerFormat(path: path, found: version, supported: Schema.formatVersion)
            }
            // A file of an earlier format is brought up to this one when opened for writing.
            if !readOnly, version < Schema.formatVersion { try Schema.migrator.migrate(queue) }
            return Ledger(path: path, db: queue)
        } catch {
            throw map(error, path: path)
        }
    }

    /// A file with no write permission bit is treated as read-only even for root, so that a
    /// copy marked read-only (an auditor's, an evidence copy) is never written.
    static func isWritable(_ path: String) -> Bool {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = attrs[.posixPermissions] as? Int
        else { return false }
        return mode & 0o222 != 0 && access(path, W_OK) == 0
    }

    static func map(_ error: Error, path: String) -> Error {
        if error is LedgerError { return error }
        if DiskSpace.isFull(error, near: path) { return LedgerError.diskFull(path: path) }
        guard let e = error as? DatabaseError else { return error }
        switch e.resultCode {
        case .SQLITE_NOTADB: return LedgerError.notALedger(path: path)
        case .SQLITE_READONLY: return LedgerError.readOnly(path: path)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return LedgerError.busy(path: path)
        case .SQLITE_FULL: return LedgerError.diskFull(path: path)
        default:
            return LedgerError.sqlite(path: path, message: e.message ?? "\(e.resultCode)")
        }
    }

    // MARK: - Reading

    /// The head, or nil for a ledger with no events.
    public func head() throws -> Head? {
        do {
            return try db.read { db in try Self.head(db) }
        } catch { throw Self.map(error, path: path) }
    }

    static func head(_ db: Database) throws -> Head? {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, entry_hash FROM events ORDER BY seq DESC LIMIT 1") else { return nil }
        let count = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0
        return Head(size: count, lastSeq: try RowReader.integer(row, 0, "seq"), hash: try RowReader.blob(row, 1, "entry_hash"))
    }

    /// The governance state at the head, from the governance events alone (trusting the local
    /// file; `verify` is what checks it).
    public func state() throws -> LedgerState {
        do { return try db.read { db in try Self.state(db, path: path) } } catch { throw Self.map(error, path: path) }
    }

    /// The log's governance, replayed from the file's governance rows: each row's entry hash is
    /// computed again from its envelope and signature, its signature checked under the key the
    /// rows before it had enrolled (the genesis's own root key for the genesis), and its rules
    /// checked, before it counts. A planted row, signed by no valid key or breaking the rules,
    /// stops every command that relies on it; a row hidden by an altered `type` column is found
    /// only by `verify`, which reads every entry.
    static func state(_ db: Database, path: String) throws -> LedgerState {
        var s = LedgerState()
        let types = LogType.logGovernance.sorted()
        let limit = Entry.maxCanonicalBytes
        let rows = try Row.fetchCursor(db, sql: """
            SELECT seq, CASE WHEN length(envelope) > \(limit) THEN x'' ELSE envelope END, CASE WHEN length(signature) > 64 THEN x'' ELSE signature END,
                   CASE WHEN length(entry_hash) > 32 THEN x'' ELSE entry_hash END
            FROM events WHERE type IN (\(types.map { _ in "?" }.joined(separator: ", "))) ORDER BY seq
            """, arguments: StatementArguments(types))
        while let row = try rows.next() {
            let seq = (try? RowReader.integer(row, 0, "seq")) ?? -1
            func damaged(_ why: String) -> LedgerError {
                .altered(path: path, what: "the governance row at seq \(seq) \(why)")
            }
            guard let bytes = try? RowReader.blob(row, 1, "envelope"), let signature = try? RowReader.blob(row, 2, "signature"),
                let stored = try? RowReader.blob(row, 3, "entry_hash"), let json = try? JSONParser.parse(bytes, mode: .canonical),
                let e = try? Envelope(json: json), e.seq == seq
            else { throw damaged("is damaged") }
            guard Entry.entryHash(canonical: bytes, signature: signature) == stored else { throw damaged("does not match its entry hash") }
            let key = e.seq == 0 ? (try? LedgerState.genesisInfo(e))?.rootPublicKey : s.registry[e.actor.keyID]?.publicKey
            guard let key, s.signaturesHold(e, signedBytes: bytes, signature: signature, actorKey: key) else {
                throw damaged("is not signed by a key the log had enrolled")
            }
            do { try s.check(e) } catch { throw damaged("breaks the log's rules (\(error))") }
            s.apply(e, entryHash: stored)
        }
        let h = try head(db)
        // The head's time and format (checked with its signatures by `checkHead` before any append):
        // the next entry's time may not go back, nor its format down (docs/FORMAT.md §3.3, §3.4).
        let headRow = try h.flatMap {
            try Row.fetchOne(db, sql: """
                SELECT recorded_at, CASE WHEN length(envelope) > \(limit) THEN x'' ELSE envelope END FROM events WHERE seq = ?
                """, arguments: [$0.lastSeq])
        }
        let recorded = headRow.flatMap { $0[0] as String? }
        let format = (headRow?[1] as Data?).flatMap { CanonicalScan.member("format", of: [UInt8]($0)[...]) }.flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
        if let h { s.setHead(nextSeq: h.lastSeq + 1, hash: h.hash, format: format, recordedAt: recorded.flatMap(Timestamp.init(canonical:))) }
        return s
    }

    /// The head row, checked before anything is chained to it: its envelope is of its seq, its
    /// entry hash is computed from its envelope and signature, and its signature verifies under
    /// the key its envelope names, enrolled in `state` (a planted row at the head would otherwise
    /// have every honest record after it chained to a forgery).
    static func checkHead(_ db: Database, path: String, state: LedgerState) throws {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT seq, CASE WHEN length(envelope) > \(Entry.maxCanonicalBytes) THEN x'' ELSE envelope END,
                   CASE WHEN length(signature) > 64 THEN x'' ELSE signature END, CASE WHEN length(entry_hash) > 32 THEN x'' ELSE entry_hash END
            FROM events ORDER BY seq DESC LIMIT 1
            """) else { return }
        let seq = (try? RowReader.integer(row, 0, "seq")) ?? -1
        guard let bytes = try? RowReader.blob(row, 1, "envelope"), let signature = try? RowReader.blob(row, 2, "signature"),
            let stored = try? RowReader.blob(row, 3, "entry_hash"), let json = try? JSONParser.parse(bytes, mode: .canonical),
            let e = try? Envelope(json: json), e.seq == seq, Entry.entryHash(canonical: bytes, signature: signature) == stored,
            let key = e.seq == 0 ? state.genesis?.rootPublicKey : state.registry[e.actor.keyID]?.publicKey,
            state.signaturesHold(e, signedBytes: bytes, signature: signature, actorKey: key)
        else {
            throw LedgerError.altered(path: path, what: "its last row (seq \(seq)) is not an entry signed by an enrolled key")
        }
    }

    /// The `events` table's columns, in the order `entry(_:)` reads them.
    static let columns = "seq, event_id, type, case_id, agency, key_id, occurred_at, recorded_at, prev_hash, envelope, signature, entry_hash"

    /// The columns as a reader selects them: a value larger than any the format allows is not
    /// loaded (SQLite knows a blob's length without reading it), so a hostile file cannot make
    /// a reader hold hundreds of megabytes. An oversized envelope or details body comes out
    /// empty with its length beside it (`entry(_:)` reports it); any other oversized value
    /// comes out as a blob where text belongs, or as an empty blob, and fails as malformed.
    static func guardedColumns(details: Bool) -> String {
        // SQLite's length() and GRDB's reading of text both stop at a NUL byte: a text holding
        // one is given as a blob (the wrong storage class) so that it is a malformed row, never
        // read as the value before its NUL (docs/FORMAT.md §9).
        let texts = ["event_id", "type", "case_id", "agency", "key_id", "occurred_at", "recorded_at"].map {
            "CASE WHEN length(events.\($0)) > 128 OR instr(events.\($0), char(0)) > 0 THEN x'00' ELSE events.\($0) END"
        }
        func blob(_ c: String, _ max: Int) -> String { "CASE WHEN length(\(c)) > \(max) THEN x'' ELSE \(c) END" }
        let limit = Entry.maxCanonicalBytes
        let record = details ? "\(blob("details.salt", 64)), \(blob("details.body", limit)), length(events.envelope), length(details.body)"
            : "NULL, NULL, length(events.envelope), NULL"
        return (["events.seq"] + texts + [blob("events.prev_hash", 64), blob("events.envelope", limit), blob("events.signature", 128),
                                          blob("events.entry_hash", 64)]).joined(separator: ", ") + ", " + record
    }

    /// Where the index probes of a re-verification (`EventIndexes.probeColumns`) start in a row.
    static let probeColumn = 16

    /// What a reader selects: the event's columns and its details record, if any (NULLs in a
    /// file from before format 4, opened read-only). `seq` is the join column, so filters and
    /// orderings may name it unqualified; other columns are the events table's. With
    /// `notIndexed`, filters are answered from the rows themselves, never from an index the
    /// file's holder could have left stale (the rows are still read in `seq` order, by rowid).
    static func selectRows(_ db: Database, probes: [EventIndexes.Index]? = nil, notIndexed: Bool = false) throws -> String {
        let extra = probes.map { ", " + EventIndexes.probeColumns($0) } ?? ""
        let events = notIndexed ? "events NOT INDEXED" : "events"
        return try hasDetails(db) ? "SELECT \(guardedColumns(details: true))\(extra) FROM \(events) LEFT JOIN details USING (seq)"
            : "SELECT \(guardedColumns(details: false))\(extra) FROM \(events)"
    }

    static func hasDetails(_ db: Database) throws -> Bool { try db.tableExists("details") }

    /// Decodes a row, checking each column's storage class, so that a damaged or hostile file
    /// gives an error naming the column instead of a crash.
    static func entry(_ row: Row) throws -> StoredEntry {
        var e = StoredEntry(
            seq: try RowReader.integer(row, 0, "seq"), eventID: try RowReader.text(row, 1, "event_id"),
            type: try RowReader.text(row, 2, "type"), caseID: try RowReader.optionalText(row, 3, "case_id"),
            agency: try RowReader.text(row, 4, "agency"), keyID: try RowReader.text(row, 5, "key_id"),
            occurredAt: try RowReader.text(row, 6, "occurred_at"), recordedAt: try RowReader.text(row, 7, "recorded_at"),
            prevHash: try RowReader.blob(row, 8, "prev_hash"), envelope: try RowReader.blob(row, 9, "envelope"),
            signature: try RowReader.blob(row, 10, "signature"), entryHash: try RowReader.blob(row, 11, "entry_hash"),
            details: try details(row, 12))
        if case .int64(let n) = (row[14] as DatabaseValue).storage, n > Entry.maxCanonicalBytes { e.envelopeTooLarge = Int(n) }
        if case .int64(let n) = (row[15] as DatabaseValue).storage, n > Entry.maxCanonicalBytes { e.detailsTooLarge = Int(n) }
        return e
    }

    /// The details record in columns `i` (salt) and `i + 1` (body): nil when both are NULL
    /// (no record), and a malformed row when only one is, or either is not a blob.
    static func details(_ row: Row, _ i: Int) throws -> SealedDetails? {
        if case .null = (row[i] as DatabaseValue).storage, case .null = (row[i + 1] as DatabaseValue).storage { return nil }
        return SealedDetails(salt: try RowReader.blob(row, i, "details.salt"), body: try RowReader.blob(row, i + 1, "details.body"))
    }

    /// Filters for reading the log; nil means any. Values are bound, never spliced into SQL.
    public struct Filter: Sendable {
        public var caseID: String?
        public var type: String?
        public var agency: String?
        public var fromSeq: Int64?
        public var limit: Int?
        public init(caseID: String? = nil, type: String? = nil, agency: String? = nil, fromSeq: Int64? = nil, limit: Int? = nil) {
            self.caseID = caseID; self.type = type; self.agency = agency; self.fromSeq = fromSeq; self.limit = limit
        }
    }

    /// Streams stored rows in sequence order through `body`, in one read transaction (a
    /// consistent snapshot), holding one row in memory at a time. Filters are answered from the
    /// rows, not from the file's indexes (which its holder could leave stale, hiding an event).
    public func forEach(_ filter: Filter = Filter(), _ body: (StoredEntry) throws -> Void) throws {
        var sql = ""
        var clauses: [String] = []
        var args: [(any DatabaseValueConvertible)?] = []
        if let c = filter.caseID { clauses.append("case_id = ?"); args.append(c) }
        if let t = filter.type {
            if t.hasSuffix(".*") { clauses.append("type LIKE ? ESCAPE '\\'"); args.append(String(t.dropLast(2)).replacingOccurrences(of: "_", with: "\\_") + ".%") }
            else { clauses.append("type = ?"); args.append(t) }
        }
        if let a = filter.agency { clauses.append("agency = ?"); args.append(a) }
        if let s = filter.fromSeq { clauses.append("seq >= ?"); args.append(s) }
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY seq"
        if let l = filter.limit { sql += " LIMIT ?"; args.append(l) }
        do {
            try db.read { db in
                let rows = try Row.fetchCursor(db, sql: try Self.selectRows(db, notIndexed: !clauses.isEmpty) + sql, arguments: StatementArguments(args))
                while let row = try rows.next() { try body(try Self.entry(row)) }
            }
        } catch { throw Self.map(error, path: path) }
    }

    /// The stored row with this sequence number or event id (found through the event-id
    /// index, then read again by its sequence number and its id compared, so a stale index
    /// cannot give another event's row).
    public func entry(seq: Int64? = nil, eventID: String? = nil) throws -> StoredEntry? {
        do {
            return try db.read { db in
                var at = seq
                if at == nil, let eventID { at = try Int64.fetchOne(db, sql: "SELECT seq FROM events WHERE event_id = ?", arguments: [eventID]) }
                guard let at, let row = try Row.fetchOne(db, sql: "\(try Self.selectRows(db)) WHERE seq = ?", arguments: [at]) else { return nil }
                let entry = try Self.entry(row)
                if let eventID, !sameBytes(entry.eventID, eventID) { return nil }
                return entry
            }
        } catch { throw Self.map(error, path: path) }
    }

    // MARK: - Appending

    /// One refused draft of a batch: its index and why.
    public struct Refusal: Equatable, Sendable {
        public let index: Int
        public let reason: String
    }

    /// Appends `drafts` in order, all or nothing, in one transaction; `signers[i]` signs
    /// `drafts[i]` (one signer for all when it has a single element). Every draft is checked
    /// against the catalogue and the log's rules, and every new entry goes through
    /// `ChainVerifier` before it is written, so append never writes what verification would
    /// reject. With `reportAll`, every bad draft is collected (`LedgerError.refused`) instead
    /// of stopping at the first. Each draft's details are sealed with a salt from `newSalt`:
    /// random (`randomSalt`), except where synthetic data must be reproducible. With `commit`
    /// false, everything is checked exactly as for real and then rolled back: nothing is written.
    /// `progress` is told how many drafts have been checked so far.
    @discardableResult
    public func append(_ drafts: [EventDraft], signers: [SigningKey], practitioner: String = "root", reportAll: Bool = false,
                       commit: Bool = true, clock: () -> Timestamp, newID: () -> String,
                       newSalt: () -> [UInt8] = randomSalt, keyring: CaseKeyring? = nil, progress: (Int) -> Void = { _ in }) throws -> [StoredEntry] {
        precondition(signers.count == 1 || signers.count == drafts.count, "one signer, or one per draft")
        var written: [StoredEntry] = []
        let keyring = keyring ?? CaseKeyring(agencyKey: nil)
        defer { keyring.rollback() }
        var destroyed = false
        do {
            try db.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    written = []
                    var refusals: [Refusal] = []
                    var writer = try EntryWriter(db, path: path) { _ in signers[0].publicKey }
                    for (index, draft) in drafts.enumerated() {
                        let signer = signers.count == 1 ? signers[0] : signers[index]
                        do {
                            let state = writer.verifier.state
                            let now = clock()
                            try Self.checkClock(now, against: state.lastRecordedAt, index: index)
                            let envelope: Envelope
                            let eventID = draft.eventID ?? newID()
                            let sealed: SealedDetails
                            if let sealing = state.policy?.sealing, let c = draft.caseID, let agency = state.registry[signer.publicKey.keyID]?.actor.agency {
                                // docs/FORMAT.md §3.5: the case's key seals the details, bound to the event.
                                let key: CaseKey
                                do {
                                    let holders = sealing.holders(after: draft.type, by: agency, entitled: writer.rules.view.caseRecord(c)?.entitled,
                                                                  toAgency: draft.facts["to_agency"]?.stringValue)
                                    key = try keyring.key(for: c, agency: agency, writer: signer, registry: state.registry, sealing: sealing,
                                                          holders: holders, policyVersion: state.policy?.version ?? 0, db: db)
                                } catch let r as CaseKeyring.Refusal { throw LedgerError.invalidEvent(r.description, index: index) }
                                sealed = try SealedDetails(draft.details, sealedWith: key, eventID: eventID, caseID: c, salt: newSalt(), nonce: keyring.nonce())
                            } else {
                                sealed = try SealedDetails(draft.details, salt: newSalt())
                            }
                            do throws(RuleViolation) {
                                envelope = try state.envelope(for: draft, sealed: sealed, signer: signer.publicKey, recordedAt: now,
                                                              eventID: eventID, practitioner: practitioner)
                            } catch { throw LedgerError.rejected(error, index: index) }
                            // Every check verification makes, the catalogue's included, except re-verifying
                            // the signature just made with the enrolled key (libsodium's signing is not in
                            // doubt; the key is checked to be the enrolled one): that would double the cost
                            // of an append.
                            guard state.registry[signer.publicKey.keyID]?.publicKey ?? (state.nextSeq == 0 ? signer.publicKey : nil) == signer.publicKey else {
                                throw LedgerError.invalidEvent("the signing key is not the one enrolled under its id", index: index)
                            }
                            let entry = try Entry(signing: envelope, with: signer)
                            let row = StoredEntry(envelope, entry: entry, details: sealed)
                            try writer.write(row, sealed: sealed, plain: sealed.isSealed ? draft.details : nil, index: index)
                            written.append(row)
                        } catch let e as LedgerError where reportAll {
                            refusals.append(Refusal(index: index, reason: e.reason))
                        }
                        progress(index + 1)
                    }
                    if !refusals.isEmpty { throw LedgerError.refused(refusals) }
                    destroyed = writer.destroyed && commit
                    return commit ? .commit : .rollback
                }
                if commit { keyring.commit() }
            }
        } catch { throw Self.map(error, path: path) }
        // Destroyed details must not linger in the write-ahead log's older pages.
        if destroyed { _ = try? purgeWAL() }
        return written
    }

    /// Copies the write-ahead log into the file and empties it (`wal_checkpoint(TRUNCATE)`), so
    /// that no older copy of a page (of details since destroyed) remains in it. False if a
    /// reader kept it from being emptied (it is emptied at a later checkpoint).
    @discardableResult
    public func purgeWAL() throws -> Bool {
        try db.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            return (row?[0] as Int64?) == 0
        }
    }

    /// `append` with one signer for every draft.
    @discardableResult
    public func append(_ drafts: [EventDraft], signer: SigningKey, practitioner: String = "root", reportAll: Bool = false,
                       clock: () -> Timestamp, newID: () -> String, newSalt: () -> [UInt8] = randomSalt) throws -> [StoredEntry] {
        try append(drafts, signers: [signer], practitioner: practitioner, reportAll: reportAll, clock: clock, newID: newID, newSalt: newSalt)
    }

    /// How far ahead of the ledger's last recording time the clock an append is given may be,
    /// in days (nil: no limit). A clock far ahead would date a record in the future, and every
    /// later one with a right clock would then be refused as behind it. The command-line tool
    /// sets 31 days for the machine's own clock (unless `SAFEGUARD_ALLOW_CLOCK_JUMP` is set);
    /// a simulation (`demo seed`) brings its own clock and no limit.
    nonisolated(unsafe) public static var maxClockJumpDays: Int64?

    /// Refuses to record at `now` when that is before the ledger's last recording time (the
    /// log's time never goes back: docs/FORMAT.md §8.5) or implausibly far after it.
    static func checkClock(_ now: Timestamp, against last: Timestamp?, index: Int) throws {
        guard let last else { return }
        if now < last { throw LedgerError.clockBehind(now: now, last: last) }
        if let days = maxClockJumpDays, now.seconds - last.seconds > days * 86400 { throw LedgerError.clockAhead(now: now, last: last, maxDays: days) }
    }

    /// A fresh details salt from libsodium's CSPRNG: what every real recording uses.
    public static func randomSalt() -> [UInt8] { Sodium.randomBytes(SealedDetails.saltSize) }
}
