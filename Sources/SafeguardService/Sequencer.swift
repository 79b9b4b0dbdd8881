import Foundation
import SafeguardCore
import SafeguardStore

/// The one writer of a served ledger: statements from every request queue here, and one
/// thread places them in batches (group commit), each batch one durable transaction. A
/// request waits only for its own batch; agencies never contend with each other or retry,
/// because no statement names the head (docs/FORMAT.md §3.4). Nothing is acknowledged before
/// the transaction holding it has committed (`synchronous = FULL`).
public final class Sequencer: @unchecked Sendable {
    public typealias Outcome = Result<StoredEntry, LedgerError>
    private let ledger: Ledger
    private let logKey: SigningKey
    private let clock: @Sendable () -> Timestamp
    private let maxBatch: Int
    private let lock = NSCondition()
    private var pending: [(ServiceAPI.Submission, CheckedContinuation<Outcome, any Error>)] = []
    private var stopping = false
    private var thread: Thread?
    private let cache = Ledger.WriterCache()
    private var keys = KeyRegistry()
    /// Called after each batch commits: its size and the new head's size (for metrics, checkpoints).
    public var onCommit: (@Sendable (_ placed: Int, _ refused: Int, _ size: Int64) -> Void)?
    /// A second store each batch is written to before the file commits (PostgreSQL, docs/SCALE.md).
    public var store: (any LedgerStore)?
    /// Called when the second store may hold a batch the file does not (its commit's outcome is
    /// unknown): the service must stop, and start again from what the store holds.
    public var onFatal: (@Sendable (String) -> Void)?

    public init(ledger: Ledger, logKey: SigningKey, maxBatch: Int = 512, clock: @escaping @Sendable () -> Timestamp) {
        self.ledger = ledger; self.logKey = logKey; self.maxBatch = maxBatch; self.clock = clock
    }

    public func start() {
        if let state = try? ledger.state() { keys = state.registry }
        let t = Thread { [self] in run() }
        t.name = "safeguard-sequencer"
        thread = t
        t.start()
    }

    /// The key enrolled under `keyID` as of the last batch (nil: not enrolled then).
    public func enrolledKey(_ keyID: String) -> PublicKey? {
        lock.lock()
        defer { lock.unlock() }
        return keys[keyID]?.publicKey
    }

    /// The enrolment of `keyID` as of the last batch.
    public func enrolment(_ keyID: String) -> KeyRecord? {
        lock.lock()
        defer { lock.unlock() }
        return keys[keyID]
    }

    /// Places `submission`, returning its entry or why it was refused, once durable.
    public func submit(_ submission: ServiceAPI.Submission) async throws -> Outcome {
        try await withCheckedThrowingContinuation { c in
            lock.lock()
            if stopping {
                lock.unlock()
                c.resume(throwing: ServiceError.unavailable("the log service is stopping: send it again once it is back"))
                return
            }
            pending.append((submission, c))
            lock.signal()
            lock.unlock()
        }
    }

    /// Finishes what is queued, then stops the thread.
    public func stop() {
        lock.lock()
        stopping = true
        lock.signal()
        lock.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }

    private func run() {
        while true {
            lock.lock()
            while pending.isEmpty && !stopping { lock.wait() }
            if pending.isEmpty && stopping { lock.unlock(); return }
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            lock.unlock()
            do {
                let results = try ledger.sequence(batch.map { ($0.0.statement, $0.0.details) }, verifiedUnder: batch.map(\.0.verifiedUnder), caseKeys: batch.map(\.0.caseKeys),
                                                  logKey: logKey, cache: cache, store: store, clock: clock)
                // The keys as of this batch first: a key enrolled in it is known before its receipt is sent.
                if let registry = cache.registry {
                    lock.lock(); keys = registry; lock.unlock()
                }
                var placed = 0, size: Int64 = 0
                for (r, item) in zip(results, batch) {
                    if case .success(let row) = r { placed += 1; size = row.seq + 1 }
                    item.1.resume(returning: r)
                }
                onCommit?(placed, batch.count - placed, size)
            } catch let failure as LedgerStoreFailure {
                let error = ServiceError.unavailable("the ledger's store did not take the batch, so nothing was placed: send it again in a moment")
                if failure.uncertain {
                    lock.lock(); stopping = true; lock.unlock()
                    onFatal?(failure.description)
                }
                for item in batch { item.1.resume(throwing: error) }
            } catch {
                for item in batch { item.1.resume(throwing: error) }
            }
        }
    }
}
