import Dispatch
import Foundation
import SafeguardCore

/// Checks the Ed25519 signatures of verified entries on several cores while the caller walks
/// the chain on its own: entries go in batches; a batch's signatures are checked by `threads`
/// workers while the next batch is walked; a batch's entries are released (to `onEntry`) only
/// once all its signatures hold, in order. The chain walk itself stays sequential, since each
/// entry's checks depend on the one before; signatures do not, so they are what is spread.
nonisolated(unsafe) var _defaultBatchSize = 512

final class SignatureBatches<Item> {
    private let threads: Int
    private let batchSize: Int
    private let release: (Item) throws -> Void
    private var items: [Item] = []
    private var pending: [PendingSignature] = []
    private var inflight: (items: [Item], pending: [PendingSignature], results: UnsafeMutableBufferPointer<Bool>, work: SharedWork)?

    /// Entries per batch: large enough to keep the workers busy, small enough to stay in cache.
    /// (Tests make it tiny, so that failures straddle batches.)
    nonisolated(unsafe) static var defaultBatchSize: Int { get { _defaultBatchSize } set { _defaultBatchSize = newValue } }

    init(threads: Int, batchSize: Int = _defaultBatchSize, release: @escaping (Item) throws -> Void) {
        self.threads = max(1, threads)
        self.batchSize = batchSize
        self.release = release
    }

    deinit {
        if let f = inflight { f.work.wait(); f.results.deallocate() }
    }

    /// Adds an entry whose signature is still to check.
    func add(_ item: Item, _ signature: PendingSignature) throws {
        items.append(item)
        pending.append(signature)
        if items.count >= batchSize { try submit() }
    }

    /// Before reporting a failure found by the walk: the first bad signature among the entries
    /// walked so far, which comes earlier in the log and so is the one to report.
    func firstBadSignature() -> VerificationFailure? {
        if let f = inflight {
            f.work.wait()
            if let i = f.results.firstIndex(of: false) { return f.pending[i].failure }
        }
        return pending.first { !$0.holds() }?.failure
    }

    /// Checks everything still pending and releases it.
    func finish() throws {
        try submit()
        try settle()
    }

    private func submit() throws {
        try settle()
        guard !items.isEmpty else { return }
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: pending.count)
        results.initialize(repeating: false)
        let batch = pending
        nonisolated(unsafe) let out = results
        // The walk's thread joins in when it settles the batch, so one helper fewer than cores.
        let work = SharedWork(count: batch.count, helpers: threads - 1) { range in
            for i in range { out[i] = batch[i].holds() }
        }
        inflight = (items, pending, results, work)
        items = []
        pending = []
    }

    /// Waits for the batch in flight, then throws its first bad signature or releases it.
    private func settle() throws {
        guard let f = inflight else { return }
        inflight = nil
        f.work.wait()
        defer { f.results.deallocate() }
        if let i = f.results.firstIndex(of: false) { throw f.pending[i].failure }
        for item in f.items { try release(item) }
    }
}
