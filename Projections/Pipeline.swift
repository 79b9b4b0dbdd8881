import Foundation

/// Runs a producer of events on its own thread while the caller consumes them: reading,
/// parsing and verifying the log on one core while the fold writes the read models on the
/// other. Events pass in batches through a bounded queue, so memory stays flat; an error on
/// either side stops both, and the producer has always finished when `run` returns.
enum Pipeline {
    static let batchSize = 512
    static let queuedBatches = 16

    struct Cancelled: Error {}

    /// Calls `consume` on a new thread for each item the caller passes to `sink` inside
    /// `produce`, in order; returns when both are done.
    static func inBackground<T>(consume: @escaping @Sendable (T) -> Void, produce: (_ sink: (T) throws -> Void) throws -> Void) throws {
        let queue = Queue<T>()
        let done = Queue<Bool>()
        let thread = Thread {
            while let batch = try? queue.take() {
                for item in batch { consume(item) }
            }
            done.close(nil)
        }
        thread.stackSize = 8 << 20
        thread.start()
        defer {
            queue.close(nil)
            done.cancelAndWait()
        }
        try produce { try queue.put([$0]) }
    }

    /// Calls `produce` on a new thread with a sink for items, and `consume` here for each
    /// item in order; returns what `produce` returned. Rethrows the first error of either side.
    @discardableResult
    static func run<T, R>(produce: (@escaping (T) throws -> Void) throws -> R, consume: (T) throws -> Void) throws -> R {
        let queue = Queue<T>()
        let result = Slot<R>()
        return try withoutActuallyEscaping(produce) { produce in
            let box = Box(produce)
            let thread = Thread {
                var batch: [T] = []
                batch.reserveCapacity(batchSize)
                // The producer is let go before the queue is closed: `run` must not return while
                // anything still holds it.
                func drain() -> Error? {
                    do {
                        result.value = try box.take()({ item in
                            batch.append(item)
                            if batch.count == batchSize {
                                try queue.put(batch)
                                batch.removeAll(keepingCapacity: true)
                            }
                        })
                        if !batch.isEmpty { try queue.put(batch) }
                        return nil
                    } catch {
                        // What was produced before the failure still reaches the consumer.
                        if !(error is Cancelled), !batch.isEmpty { try? queue.put(batch) }
                        return error
                    }
                }
                queue.close(drain())
            }
            thread.stackSize = 8 << 20
            thread.start()
            defer { queue.cancelAndWait() }
            while let batch = try queue.take() {
                for item in batch { try consume(item) }
            }
            // The producer has returned once its queue is closed.
            queue.cancelAndWait()
            return result.value!
        }
    }

    /// Where the producer's thread leaves its result (read after that thread is done).
    private final class Slot<R>: @unchecked Sendable {
        var value: R?
    }

    private final class Box<F>: @unchecked Sendable {
        var value: F?
        init(_ value: F) { self.value = value }
        func take() -> F {
            defer { value = nil }
            return value!
        }
    }

    final class Queue<T>: @unchecked Sendable {
        private let condition = NSCondition()
        private var batches: [[T]] = []
        private var head = 0
        private var closed = false
        private var failure: Error?
        private var cancelled = false

        func put(_ batch: [T]) throws {
            condition.lock()
            defer { condition.unlock() }
            while batches.count - head >= queuedBatches, !cancelled { condition.wait() }
            if cancelled { throw Cancelled() }
            batches.append(batch)
            condition.broadcast()
        }

        /// The producer is done (with `error` if it failed).
        func close(_ error: Error?) {
            condition.lock()
            closed = true
            failure = error
            condition.broadcast()
            condition.unlock()
        }

        /// The next batch; nil at the end; the producer's error once its batches are consumed.
        func take() throws -> [T]? {
            condition.lock()
            defer { condition.unlock() }
            while head == batches.count, !closed { condition.wait() }
            if head < batches.count {
                let batch = batches[head]
                batches[head] = []
                head += 1
                if head > 64 { batches.removeFirst(head); head = 0 }
                condition.broadcast()
                return batch
            }
            if let failure { throw failure }
            return nil
        }

        /// Stops the producer if it is still running and waits until it has returned.
        func cancelAndWait() {
            condition.lock()
            cancelled = true
            condition.broadcast()
            while !closed { condition.wait() }
            condition.unlock()
        }
    }
}
