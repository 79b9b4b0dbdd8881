import Foundation

/// Chunks handed from a producer (a thread, or an async task) to a consumer on another thread,
/// at most `capacity` waiting: the producer blocks while the consumer catches up, so memory stays
/// bounded whatever the length of the stream.
public final class ChunkQueue<T>: @unchecked Sendable {
    private let lock = NSCondition()
    private var items: [T] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private let capacity: Int

    public init(capacity: Int = 4) { self.capacity = capacity }

    /// False once the consumer has gone.
    @discardableResult public func put(_ item: T) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while items.count >= capacity && !cancelled { lock.wait() }
        guard !cancelled else { return false }
        items.append(item)
        lock.broadcast()
        return true
    }

    /// No more items: `take` returns nil once the waiting ones are taken, or throws `error`.
    public func finish(_ error: (any Error)? = nil) {
        lock.lock()
        finished = true
        failure = failure ?? error
        lock.broadcast()
        lock.unlock()
    }

    /// The consumer has gone: `put` returns false from now on.
    public func cancel() {
        lock.lock()
        cancelled = true
        lock.broadcast()
        lock.unlock()
    }

    /// The next item, waiting for one; nil at the end of the stream.
    public func take() throws -> T? {
        lock.lock()
        defer { lock.unlock() }
        while items.isEmpty && !finished { lock.wait() }
        if !items.isEmpty {
            let item = items.removeFirst()
            lock.broadcast()
            return item
        }
        if let failure { throw failure }
        return nil
    }
}
