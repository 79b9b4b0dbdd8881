import Dispatch
import Synchronization

/// Work over the indices `0..<count`, in chunks claimed by whichever thread is free: `helpers`
/// pool threads start on it at once, and the thread that needs the result joins in at `wait()`
/// instead of blocking. So with the walk on one core and a helper on each other, no core sits
/// idle while work is left (verification: `PreparedRows`, `SignatureBatches`; the reports'
/// rules pass).
public final class SharedWork: Sendable {
    private let count: Int
    private let chunk: Int
    private let body: @Sendable (Range<Int>) -> Void
    private let claimed = Atomic<Int>(0)
    private let group = DispatchGroup()

    public init(count: Int, helpers: Int, chunk: Int = 32, body: @escaping @Sendable (Range<Int>) -> Void) {
        self.count = count
        self.chunk = max(1, chunk)
        self.body = body
        for _ in 0..<min(max(0, helpers), (count + self.chunk - 1) / self.chunk) {
            DispatchQueue.global(qos: .userInitiated).async(group: group) { self.help() }
        }
    }

    private func help() {
        while true {
            let start = claimed.add(chunk, ordering: .relaxed).oldValue
            guard start < count else { return }
            body(start..<min(start + chunk, count))
        }
    }

    /// Helps until no chunk is left unclaimed, then waits for the helpers' last chunks. After
    /// it returns, everything `body` wrote is visible to the caller.
    public func wait() {
        help()
        group.wait()
    }
}
