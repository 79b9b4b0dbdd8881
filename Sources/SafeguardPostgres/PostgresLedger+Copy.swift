import Foundation
import SafeguardCore
import SafeguardStore

extension PostgresLedger {
    /// Copies every row of the ledger at `url`, in one snapshot and with its schema checked
    /// exactly, into a new ledger file at `path` (which must not exist), as they are: nothing is
    /// checked on the way, so that verifying the file verifies what PostgreSQL holds, with the
    /// same verifier and the same results as for a file holding the same rows. `progress` is
    /// told the number of events copied so far.
    /// With `withhold`, the details records and wrapped keys are left out (verify the copy with
    /// them withheld); without it, a role that may not read them is refused.
    public static func copy(from url: PostgresURL, toNewFile path: String, mode: mode_t = 0o600, withhold: Bool = false, progress: ((Int64) -> Void)? = nil) throws -> Ledger {
        let queue = ChunkQueue<LedgerRows.Batch>()
        let producer = Task.detached {
            let store: PostgresLedger
            do { store = try await PostgresLedger.connect(url) } catch { queue.finish(error); return }
            await store.readAll(into: queue, withhold: withhold)
            await store.close()
        }
        defer { queue.cancel() }
        do {
            var events: Int64 = 0
            let ledger = try Ledger.load(newFileAt: path, mode: mode) { add in
                while let batch = try queue.take() {
                    try add(batch)
                    events += Int64(batch.events.count)
                    if !batch.events.isEmpty { progress?(events) }
                }
            }
            _ = producer
            return ledger
        } catch {
            queue.cancel()
            throw error
        }
    }

    /// Writes every row of `ledger` (a file, whose schema must be exactly its format's) into the
    /// empty store at `url`, in one transaction: the schema is made first if the database has
    /// none (granting `serviceRole` what the service may do, and `readers` SELECT); a store that
    /// already holds events is refused. Nothing is re-signed: the rows are copied as they are.
    public static func copy(from ledger: Ledger, to url: PostgresURL, serviceRole: String?, readers: [String] = [], progress: (@Sendable (Int64) -> Void)? = nil) throws {
        let queue = ChunkQueue<LedgerRows.Batch>()
        let reader = Thread {
            do {
                try ledger.rows { batch in
                    if !queue.put(batch) { throw CancellationError() }
                }
                queue.finish()
            } catch { queue.finish(error) }
        }
        reader.start()
        defer { queue.cancel() }
        let report = progress
        try blocking {
            let store = try await PostgresLedger.connect(url)
            do {
                try await store.transaction(readOnly: false, doing: "writing the ledger") {
                    if try await !store.schemaExists() {
                        try await store.install(serviceRole: serviceRole, readers: readers)
                    } else {
                        try await store.checkSchema()
                        if let serviceRole { for s in PostgresSchema.grants(to: serviceRole) { try await store.run(s) } }
                        for r in readers { for s in PostgresSchema.readGrants(to: r) { try await store.run(s) } }
                    }
                    let (size, _) = try await store.head()
                    guard size == 0 else {
                        throw PostgresStoreError("\(url) already holds a ledger of \(size) events: move a ledger only into an empty store")
                    }
                    var events: Int64 = 0
                    while let batch = try queue.take() {
                        try await store.write(batch)
                        events += Int64(batch.events.count)
                        if !batch.events.isEmpty { report?(events) }
                    }
                }
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }
}

/// The store's head is not the one the service's working copy follows.
struct HeadMoved: Error, CustomStringConvertible { let description: String }

/// The log service's PostgreSQL store (`safeguard serve --store URL`, docs/SCALE.md): each batch
/// the service places in its working copy is written here first, in one transaction holding the
/// writers' advisory lock, and only if the store's head is still the one the batch follows; a
/// batch is acknowledged only once this transaction has committed (on the primary, and on the
/// synchronous standbys PostgreSQL is set to wait for).
public final class PostgresStore: LedgerStore, @unchecked Sendable {
    public let url: PostgresURL
    private var store: PostgresLedger?
    private let lock = NSLock()

    /// How long a batch may take to commit before the service gives up on the store (a
    /// synchronous standby that is gone makes PostgreSQL wait for ever; a connection to a lost
    /// machine may not say it is gone): the outcome is then unknown, and the service stops.
    public let timeout: Double

    public init(url: PostgresURL, timeout: Double = 30) { self.url = url; self.timeout = timeout }

    /// Connects and checks the store as the service must find it: the schema exactly the
    /// format's, and a role that may only read and add rows (unless `allowPrivileged`).
    public func open(allowPrivileged: Bool = false) throws {
        let url = self.url
        let opened = try blocking(timeout: timeout) { () -> (PostgresLedger, [String]) in
            let s = try await PostgresLedger.connect(url)
            var warnings: [String] = []
            do {
                // A receipt says the event is durable: the commit waits for the WAL to be flushed,
                // here and on the synchronous standbys, whatever the role's own settings say.
                try await s.run("SET synchronous_commit = on")
                try await s.transaction(readOnly: true, doing: "checking the ledger") { try await s.checkSchema() }
                let excess = try await s.excessPrivileges()
                if !excess.isEmpty && !allowPrivileged {
                    throw PostgresStoreError("the service's role '\(url.user)' may do more than read and add rows (\(excess.joined(separator: ", "))): connect as a role granted only SELECT and INSERT ('safeguard migrate --service-role ROLE' grants them)")
                }
                for try await (v) in try await s.rows("SELECT pg_catalog.current_setting('fsync')").decode(String.self) where v != "on" {
                    warnings.append("PostgreSQL at \(url) runs with fsync = \(v): a crash of its machine can lose events the service acknowledged")
                }
            } catch {
                await s.close()
                throw error
            }
            return (s, warnings)
        }
        guard let (s, found) = opened else {
            throw PostgresStoreError("PostgreSQL at \(url) did not answer within \(Int(timeout)) s: check that it is running, and that its synchronous standbys are")
        }
        warnings = found
        lock.lock(); store = s; lock.unlock()
    }

    /// What the service should log at start (a store set up to lose acknowledged events).
    public private(set) var warnings: [String] = []

    public func close() {
        lock.lock(); let s = store; store = nil; lock.unlock()
        if let s { try? blocking { await s.close() } }
    }

    public func append(_ rows: LedgerRows.Batch, after size: Int64, head: [UInt8]?) throws {
        lock.lock()
        defer { lock.unlock() }
        let url = self.url
        if store == nil { try? open() }
        guard let s = store else { throw LedgerStoreFailure("cannot reach PostgreSQL at \(url): nothing was placed; the service retries with the next batch", uncertain: false) }
        final class Stage: @unchecked Sendable { var committing = false }
        let stage = Stage()
        do {
            let finished = try blocking(timeout: timeout) {
                try await s.run("BEGIN ISOLATION LEVEL SERIALIZABLE")
                do {
                    let now = try await s.head()
                    guard now.size == size, now.hash == head else {
                        throw HeadMoved(description: "the PostgreSQL store holds \(now.size) events, not the \(size) this service's working copy holds: it was written by another writer, or restored; start the service again to resume from what it holds")
                    }
                    try await s.write(rows)
                } catch {
                    try? await s.run("ROLLBACK")
                    throw error
                }
                stage.committing = true
                try await s.run("COMMIT")
            }
            if finished == nil {
                store = nil
                throw LedgerStoreFailure("PostgreSQL at \(url) did not answer within \(Int(timeout)) s (is the server, or its synchronous standby, gone?): whether the last batch was kept is unknown",
                                         uncertain: true)
            }
        } catch let e as LedgerStoreFailure {
            throw e
        } catch {
            if stage.committing { store = nil; Task.detached { await s.close() } }
            let why = error is HeadMoved ? "\(error)" : "\(PostgresStoreError.from(error, url: url, doing: stage.committing ? "the commit" : "the write"))"
            throw LedgerStoreFailure(why, uncertain: stage.committing || error is HeadMoved)
        }
    }

    /// Adds a checkpoint the service signed (if the store does not hold one of that size yet).
    public func addCheckpoint(_ c: LedgerRows.Checkpoint) throws {
        lock.lock()
        defer { lock.unlock() }
        if store == nil { try? open() }
        guard let s = store else { throw PostgresStoreError("cannot reach PostgreSQL at \(url) to keep the checkpoint of \(c.size) events") }
        let done = try blocking(timeout: timeout) {
            try await s.transaction(readOnly: false, doing: "keeping a checkpoint") {
                var last: Int64 = -1
                for try await (size) in try await s.rows("SELECT COALESCE(MAX(size), -1) FROM ONLY safeguard.checkpoints").decode(Int64.self) { last = size }
                guard c.size > last else { return }
                var b = LedgerRows.Batch()
                b.checkpoints = [c]
                try await s.write(b)
            }
        }
        if done == nil {
            store = nil
            throw PostgresStoreError("PostgreSQL at \(url) did not keep the checkpoint of \(c.size) events within \(Int(timeout)) s (is its synchronous standby gone?): it is not served")
        }
    }
}
