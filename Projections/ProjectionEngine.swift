import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// Builds and keeps the read models in a SQLite file beside the ledger (`NAME.projections.sqlite`
/// for `NAME.sqlite`), so the ledger file stays pure and an auditor copies only the log.
/// Every projection records the log size and head hash it has consumed and a digest of its rows.
public final class ProjectionEngine {
    public let ledger: Ledger
    /// The ledger is a copy without details records (`safeguard mirror`): verified with them withheld.
    public var detailsWithheld = false
    /// Told, as a report walks the cases' verified events, how many it has read of how many
    /// (for a progress display; reports over a large log take seconds).
    public var readProgress: ((_ done: Int64, _ total: Int64) -> Void)?
    public let path: String
    let db: DatabaseQueue
    public let projections: [any Projection]

    /// Where the time of the last rebuild or update went (wall clock; for benchmarks only,
    /// never stored in a read model).
    public struct Timings: Sendable {
        public var events: Int64 = 0
        public var total = 0.0
        /// CPU seconds of the folding thread (its whole time while folding, shared among the
        /// projections by the time spent in each one's steps), and in the finishing passes (the
        /// digests' hashing runs on another thread and is not counted).
        public var fold: [String: Double] = [:]
        public var finish = 0.0
        /// Of `finish`: building the deferred indexes, each projection's finishing pass, the digests.
        public var indexes = 0.0
        public var finishing: [String: Double] = [:]
        public var digests = 0.0
        public var foldTotal: Double { fold.values.reduce(0, +) }
        /// The folding thread's CPU time so far, read at every 512th event, and when it was last read.
        var foldCPU = 0.0
        var cpuMark = ProjectionEngine.threadCPUTime()
        /// Nanoseconds (monotonic) in each projection's steps, by position.
        var projectionTime: [UInt64] = []

        mutating func lapFold() {
            let now = ProjectionEngine.threadCPUTime()
            foldCPU += now - cpuMark
            cpuMark = now
        }
    }
    public private(set) var timings = Timings()

    /// Where one projection stands.
    public struct Status: Equatable, Sendable {
        public let name: String
        public let version: Int
        /// Events consumed (the log size it was built from) and the entry hash of the last one.
        public let events: Int64
        public let headHash: String
        public let digest: String
        /// Events in the log not yet consumed.
        public let behind: Int64
        /// The code version differs: `update` will rebuild it.
        public let stale: Bool
    }

    public enum Failure: Error, CustomStringConvertible {
        case notBuilt
        case emptyLedger
        public var description: String {
            switch self {
            case .notBuilt: return "the projections have not been built: run 'safeguard project rebuild --trust-file ROOT.pub'"
            case .emptyLedger: return "the ledger has no events to project"
            }
        }
    }

    /// SQLite's page cache for the read models, in KiB.
    static let cacheKiB = 65_536

    public static func defaultPath(for ledgerPath: String) -> String {
        ledgerPath.hasSuffix(".sqlite") ? String(ledgerPath.dropLast(7)) + ".projections.sqlite" : ledgerPath + ".projections.sqlite"
    }

    public init(ledger: Ledger, path: String? = nil, projections: [any Projection] = allProjections()) throws {
        self.ledger = ledger
        self.path = path ?? Self.defaultPath(for: ledger.path)
        self.projections = projections
        var config = Configuration()
        config.journalMode = .wal
        config.busyMode = .timeout(30)
        // A rebuild writes every table in one transaction: a larger page cache keeps the indexes'
        // pages in memory instead of spilling them to the WAL file and reading them back.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA cache_size = -\(Self.cacheKiB)") }
        db = try DatabaseQueue(path: self.path, configuration: config)
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS projection_meta (
                  name TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, events INTEGER NOT NULL,
                  head_hash TEXT NOT NULL, digest TEXT NOT NULL
                ) WITHOUT ROWID
                """)
        }
    }

    /// Closes the read models' file (the engine is not used after).
    public func close() throws { try db.close() }

    /// Read-only access to the read models, for reports.
    public func read<T>(_ body: (Database) throws -> T) throws -> T { try db.read(body) }

    /// The tables in which the read models keep the verifier's own record of the log they were
    /// built from (an `AuditState`, docs/FORMAT.md §9.3): `update` resumes from it, trusting
    /// nothing in the ledger file before that point.
    static let statePrefix = "verified_"

    /// Replays the whole log from the first event, verifying it against `trustAnchor` as it
    /// goes; nothing is kept if verification fails. Returns the new status.
    @discardableResult
    /// `progress` is told, every 2,000 events verified, how many of how many.
    public func rebuild(trustAnchor: PublicKey, notAfter: Timestamp? = nil,
                        progress: @escaping (_ done: Int64, _ total: Int64) -> Void = { _, _ in }) throws -> [Status] {
        try rebuild(trustAnchor: trustAnchor) { fold in
            try ledger.verify(from: .none, trustAnchor: trustAnchor, threads: ProcessInfo.processInfo.activeProcessorCount, notAfter: notAfter,
                              detailsWithheld: detailsWithheld, every: 2_000, progress: progress, onEntry: fold)
        }
    }

    /// Replays the whole log WITHOUT verifying it: for benchmarks of the fold alone (the
    /// events are parsed, not checked). The read models it leaves must not be reported from.
    @discardableResult
    public func rebuildUnverifiedForBenchmark(progress: (Int64) -> Void = { _ in }) throws -> [Status] {
        try rebuild(progress: progress, trustAnchor: nil) { fold in try ledger.forEachUnverified(fold); return nil }
    }

    /// Folds events already in memory (read by `Ledger.forEachUnverified`): for profiling the
    /// fold alone. Not for figures anyone reports from.
    @discardableResult
    public func rebuildForBenchmark(_ events: [(StoredEntry, Envelope)]) throws -> [Status] {
        try rebuild(trustAnchor: nil) { fold in for (row, envelope) in events { try fold(row, envelope) }; return nil }
    }

    /// Folds what `events` produces (on another thread) into freshly created tables, in one
    /// transaction, with the verifier's record of the log (`statePrefix`) when `events`
    /// verified it against `trustAnchor`. Models built from unverified events are recorded
    /// with version -1, so that they show as stale and `update` rebuilds them (verifying)
    /// rather than extending them.
    private func rebuild(progress: (Int64) -> Void = { _ in }, trustAnchor: PublicKey?,
                         _ events: (@escaping (StoredEntry, Envelope) throws -> Void) throws -> Ledger.Verification?) throws -> [Status] {
        try db.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                // The old tables are dropped and the new ones made once the first event has come
                // (the transaction holds them either way): meanwhile verification, on its own
                // thread, has started (checking the ledger's indexes before its first event).
                var ready = false
                func setUp() throws {
                    for p in projections {
                        for t in p.tables { try db.execute(sql: "DROP TABLE IF EXISTS \(t.name)") }
                        try db.execute(sql: "DELETE FROM projection_meta WHERE name = ?", arguments: [p.name])
                        try p.create(db)
                        try p.begin(db, fresh: true)
                    }
                    try AuditState.createTables(in: db, prefix: Self.statePrefix)
                    ready = true
                }
                let update = AuditState.Update(spill: { ids in try AuditState.insert(ids: ids, into: db, prefix: Self.statePrefix) })
                var context = FoldContext(seq: -1, entryHash: Entry.zeroHash, policy: nil)
                timings = Timings()
                let started = Date()
                let verification = try Pipeline.run(produce: { sink in try events { row, envelope in try sink((row, envelope)) } }) { item in
                    if !ready { try setUp() }
                    try self.fold(item.0, item.1, &context, db)
                    if trustAnchor != nil { try update.add(item.0, item.1) }
                    if timings.events % 50_000 == 0 { progress(timings.events) }
                }
                endFoldTiming()
                if !ready { try setUp() }
                try self.finish(context, db)
                if let verification, let trustAnchor {
                    update.finish(tree: verification.tree, cases: verification.cases)
                    try AuditState.write(into: db, prefix: Self.statePrefix, update, rootKey: trustAnchor, origin: verification.summary.origin)
                } else {
                    try db.execute(sql: "UPDATE projection_meta SET version = -1")
                }
                timings.total = Date().timeIntervalSince(started)
                return .commit
            }
        }
        return try status()
    }

    /// Catches up from the stored position: the verifier's record kept with the read models
    /// (`statePrefix`) is the trusted prefix, so the new entries get every check a full
    /// verification makes and nothing in the ledger file before them is believed. Rebuilds
    /// from the start when a projection's code version changed, nothing was built yet, or the
    /// record is missing (read models from an earlier version) or for another root key.
    @discardableResult
    public func update(trustAnchor: PublicKey, notAfter: Timestamp? = nil) throws -> [Status] {
        let current = try status()
        guard current.count == projections.count, !current.contains(where: \.stale),
            Set(current.map(\.events)).count == 1, Set(current.map(\.headHash)).count == 1, let first = current.first,
            let state = try keptState(), state.head.rootKey == trustAnchor, state.head.size == first.events,
            Hex.encode(state.head.headHash) == first.headHash
        else { return try rebuild(trustAnchor: trustAnchor, notAfter: notAfter) }
        if first.behind == 0 { return current }
        try db.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let update = AuditState.Update()
                var context = FoldContext(seq: first.events - 1, entryHash: state.head.headHash, policy: nil)
                context.policy = try Self.policy(in: state)
                for p in projections { try p.begin(db, fresh: false) }
                timings = Timings()
                let started = Date()
                let verification = try Pipeline.run(produce: { sink in
                    try ledger.verify(from: .state(state), trustAnchor: trustAnchor, threads: ProcessInfo.processInfo.activeProcessorCount,
                                      notAfter: notAfter, detailsWithheld: self.detailsWithheld, onEntry: { row, envelope in try sink((row, envelope)) })
                }) { item in
                    try self.fold(item.0, item.1, &context, db)
                    try update.add(item.0, item.1)
                }
                endFoldTiming()
                try self.finish(context, db)
                update.finish(tree: verification.tree, cases: verification.cases)
                try AuditState.write(into: db, prefix: Self.statePrefix, update, rootKey: trustAnchor, origin: state.head.origin)
                timings.total = Date().timeIntervalSince(started)
                return .commit
            }
        }
        return try status()
    }

    /// The verifier's record kept with the read models, read through a connection of its own
    /// (the update's write transaction holds the engine's).
    func keptState() throws -> AuditState? {
        var config = Configuration()
        config.readonly = true
        let reader = try DatabaseQueue(path: path, configuration: config)
        return try AuditState.open(reader, prefix: Self.statePrefix, path: path)
    }

    /// The catalogue of the last policy among `state`'s governance entries.
    static func policy(in state: AuditState) throws -> PolicyDocument? {
        var policy: PolicyDocument?
        for bytes in state.governance {
            let e = try Envelope(json: JSONParser.parse(bytes, mode: .canonical))
            if e.type == LogType.policySet, let doc = e.facts["policy"] { policy = try? PolicyDocument.catalogue(of: doc) }
        }
        return policy
    }

    /// The checkpoint key the log names, among `state`'s governance entries, for a checkpoint of
    /// `size` entries.
    static func logKey(in state: AuditState, forSize size: Int64) throws -> PublicKey? {
        let governance = try state.governance.map { try Envelope(json: JSONParser.parse($0, mode: .canonical)) }
        return LedgerState.resumed(governance: governance, head: nil).logKey(forSize: size)
    }

    /// One case's events among those the read models were built from (as `mapCasePractice` reads them);
    /// empty for a case they do not know.
    public func verifiedEvents(of caseID: String) throws -> [Envelope] {
        try verifiedEntries(of: caseID).map(\.1)
    }

    /// The case's entries (with their details, as stored) and envelopes, each the one the read
    /// models were built from (its entry hash is checked).
    public func verifiedEntries(of caseID: String) throws -> [(StoredEntry, Envelope)] {
        let wanted = try read { db in
            try Row.fetchAll(db, sql: "SELECT seq, entry_hash FROM audit_events WHERE case_id = ? ORDER BY seq", arguments: [caseID]).map { (seq: $0[0] as Int64, entryHash: $0[1] as String) }
        }
        return try ledger.entries(wanted)
    }

    /// The policy document in force at the position the read models were built to (reports
    /// judge deadlines by it, not by a policy recorded after), from the verifier's record.
    public func policyAtHead() throws -> PolicyDocument {
        guard let state = try keptState(), let policy = try Self.policy(in: state) else { throw Failure.notBuilt }
        return policy
    }

    func fold(_ row: StoredEntry, _ envelope: Envelope, _ context: inout FoldContext, _ db: Database) throws {
        context.seq = row.seq
        context.entryHash = row.entryHash
        context.occurredAt = row.occurredAt
        context.recordedAt = row.recordedAt
        if envelope.type == LogType.policySet, let doc = envelope.facts["policy"], let p = try? PolicyDocument.catalogue(of: doc) { context.policy = p }
        timings.events += 1
        // Reading this thread's CPU clock is a system call (about 1 µs, more under a VM): read
        // around every projection of every event, it had cost a rebuild more than its fold. It
        // is read every 512 events; each projection's share of it is its share of the time
        // spent in its steps by the monotonic clock (read without a system call).
        if timings.projectionTime.isEmpty { timings.projectionTime = Array(repeating: 0, count: projections.count) }
        for (i, p) in projections.enumerated() {
            let t = DispatchTime.now().uptimeNanoseconds
            try p.apply(envelope, context, db)
            timings.projectionTime[i] += DispatchTime.now().uptimeNanoseconds &- t
        }
        if timings.events & 511 == 0 { timings.lapFold() }
    }

    /// Ends the fold's timing: its CPU time shared among the projections (see `fold`).
    func endFoldTiming() {
        timings.lapFold()
        let total = Double(timings.projectionTime.reduce(0, +))
        for (i, p) in projections.enumerated() where i < timings.projectionTime.count {
            timings.fold[p.name] = total > 0 ? timings.foldCPU * Double(timings.projectionTime[i]) / total : 0
        }
    }

    /// CPU seconds used by this thread: the fold shares the machine with verification on the
    /// other thread, so its own CPU time, not the wall clock, says what it costs.
    static func threadCPUTime() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    func finish(_ context: FoldContext, _ db: Database) throws {
        guard context.seq >= 0 else { throw Failure.emptyLedger }
        // A case's events are found through the audit read model (made from verified entries
        // by this engine) and read from the ledger by sequence number, each checked to be the
        // entry verified: never through the ledger's own indexes, which its holder could leave stale.
        let caseRows = "SELECT seq, entry_hash FROM audit_events WHERE case_id = ? AND seq <= ? ORDER BY seq"
        let source = CaseEventSource(entries: { id in
            try self.ledger.entries(try Row.fetchAll(db, sql: caseRows, arguments: [id, context.seq]).map { ($0[0], $0[1]) })
        })
        let t = Self.threadCPUTime()
        defer { timings.finish += Self.threadCPUTime() - t }
        var mark = Self.threadCPUTime()
        func lap() -> Double {
            let now = Self.threadCPUTime()
            defer { mark = now }
            return now - mark
        }
        for p in projections {
            for sql in p.indexes { try db.execute(sql: sql) }
        }
        timings.indexes += lap()
        for p in projections {
            try p.finish(policy: context.policy, cases: source, db)
            timings.finishing[p.name, default: 0] += lap()
            let digest = try Digest.of(p, db)
            timings.digests += lap()
            try db.execute(sql: "INSERT OR REPLACE INTO projection_meta VALUES (?, ?, ?, ?, ?)",
                           arguments: [p.name, p.version, context.seq + 1, Hex.encode(context.entryHash), digest])
        }
    }

    /// Each projection's head, digest and distance behind the log.
    public func status() throws -> [Status] {
        let size = try ledger.head()?.size ?? 0
        return try db.read { db in
            try projections.compactMap { p in
                guard let row = try Row.fetchOne(db, sql: "SELECT version, events, head_hash, digest FROM projection_meta WHERE name = ?", arguments: [p.name])
                else { return nil }
                let events: Int64 = row[1]
                return Status(name: p.name, version: row[0], events: events, headHash: row[2], digest: row[3], behind: size - events,
                              stale: (row[0] as Int) != p.version)
            }
        }
    }
}
