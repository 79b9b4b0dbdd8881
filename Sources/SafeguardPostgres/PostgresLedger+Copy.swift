import Foundation
import SafeguardCore
import SafeguardStore

extension PostgresLedger {
    /// Copies every row of the ledger at `url`, in one snapshot and with its schema checked
    /// exactly, into a new ledger file at `path` (which must not exist), as they are: nothing is
    /// checked on the way, so that verifying the file verifies what PostgreSQL holds, with the
    /// same verifier and the same results as for a file holding the same rows. `progress` is
    /// told the number of events copied so far.
    public static func copy(from url: PostgresURL, toNewFile path: String, mode: mode_t = 0o600, progress: ((Int64) -> Void)? = nil) throws -> Ledger {
        let queue = ChunkQueue<LedgerRows.Batch>()
        let producer = Task.detached {
            let store: PostgresLedger
            do { store = try await PostgresLedger.connect(url) } catch { queue.finish(error); return }
            await store.readAll(into: queue)
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
