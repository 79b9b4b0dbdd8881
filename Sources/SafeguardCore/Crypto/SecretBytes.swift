import CSodium

/// Secret material (a private key seed, a derived key) held in `sodium_malloc` memory:
/// guard pages around it, and zeroed by `sodium_free` when the last reference goes.
public final class SecretBytes: @unchecked Sendable {
    public let count: Int
    private let pointer: UnsafeMutableRawPointer

    /// Allocates `count` zero bytes of protected memory.
    public init(count: Int) {
        Sodium.ensureReady()
        precondition(count > 0)
        guard let p = sodium_malloc(count) else { fatalError("sodium_malloc failed") }
        sodium_memzero(p, count)
        self.count = count
        self.pointer = p
    }

    /// Copies `bytes` into protected memory and wipes the caller's array.
    public convenience init(consuming bytes: inout [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeMutableBytes { src in
            pointer.copyMemory(from: src.baseAddress!, byteCount: count)
            sodium_memzero(src.baseAddress!, src.count)
        }
    }

    /// The first `n` bytes, in new protected memory. An empty prefix is a zero-length secret.
    public func prefix(_ n: Int) -> SecretBytes {
        let out = SecretBytes(count: max(n, 1), length: n)
        if n > 0 { out.pointer.copyMemory(from: pointer, byteCount: n) }
        return out
    }

    private init(count allocated: Int, length: Int) {
        Sodium.ensureReady()
        guard let p = sodium_malloc(allocated) else { fatalError("sodium_malloc failed") }
        sodium_memzero(p, allocated)
        self.count = length
        self.pointer = p
    }

    /// Constant-time comparison (`sodium_memcmp`) without copying either secret.
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return sodium_memcmp(pointer, other.pointer, count) == 0
    }

    deinit {
        sodium_free(pointer)
    }

    /// Temporary read access to the bytes; do not let the pointer escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }
}
