import CSodium

/// Entry point to libsodium. Every cryptographic primitive in safeguard comes from here;
/// nothing is implemented by hand.
public enum Sodium {
    /// `sodium_init` is idempotent and thread-safe; the first use of any primitive calls it.
    static let ready: Bool = {
        sodium_init() >= 0
    }()

    static func ensureReady() {
        precondition(ready, "libsodium failed to initialise")
    }

    /// `n` bytes from libsodium's CSPRNG (`randombytes_buf`).
    public static func randomBytes(_ n: Int) -> [UInt8] {
        ensureReady()
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, n) }
        return out
    }

    /// A random (version 4, RFC 9562) UUID from libsodium's generator, lowercase.
    public static func uuid() -> String {
        var b = randomBytes(16)
        b[6] = b[6] & 0x0f | 0x40
        b[8] = b[8] & 0x3f | 0x80
        // 8-4-4-4-12 lowercase hex digits, written in place: a bulk import makes one per event.
        return String(unsafeUninitializedCapacity: 36) { out in
            var o = 0
            for (i, byte) in b.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out[o] = UInt8(ascii: "-"); o += 1 }
                out[o] = hexDigits[Int(byte >> 4)]
                out[o + 1] = hexDigits[Int(byte & 0x0f)]
                o += 2
            }
            return o
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

}

/// SHA-256 (`crypto_hash_sha256`).
public enum SHA256 {
    /// Incremental hashing, for digests over streams of rows.
    public struct Hasher {
        private var state = crypto_hash_sha256_state()
        public init() {
            Sodium.ensureReady()
            crypto_hash_sha256_init(&state)
        }
        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { p in
                _ = crypto_hash_sha256_update(&state, p.baseAddress ?? UnsafePointer(bitPattern: 1)!, UInt64(p.count))
            }
        }
        public mutating func finish() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: byteCount)
            crypto_hash_sha256_final(&state, &out)
            return out
        }
    }

    public static let byteCount = 32

    public static func hash(_ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBufferPointer { hash($0) }
    }

    public static func hash(_ data: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: byteCount)
        _ = out.withUnsafeMutableBufferPointer { o in
            crypto_hash_sha256(o.baseAddress!, data.baseAddress ?? UnsafePointer(bitPattern: 1)!, UInt64(data.count))
        }
        return out
    }

    /// Hash of several byte strings concatenated, without building the concatenation.
    public static func hash(parts: [[UInt8]]) -> [UInt8] {
        Sodium.ensureReady()
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        for part in parts {
            part.withUnsafeBufferPointer { p in
                _ = crypto_hash_sha256_update(&state, p.baseAddress ?? UnsafePointer(bitPattern: 1)!, UInt64(p.count))
            }
        }
        var out = [UInt8](repeating: 0, count: byteCount)
        crypto_hash_sha256_final(&state, &out)
        return out
    }
}

/// A keyed 64-bit hash: SipHash-2-4 (`crypto_shorthash`) under a random key of its own. Not a
/// digest anyone can recompute: for checks in which whoever made the inputs must not be able
/// to choose ones that collide, because they cannot know the key (docs/FORMAT.md §10).
public struct ShortHash: Sendable {
    private let key: [UInt8]

    /// A hash under a fresh random key.
    public init() { key = Sodium.randomBytes(Int(crypto_shorthash_KEYBYTES)) }

    /// The hash of `bytes`.
    public func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var out: UInt64 = 0
        key.withUnsafeBufferPointer { k in
            withUnsafeMutableBytes(of: &out) { o in
                _ = crypto_shorthash(o.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                     bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!, UInt64(bytes.count), k.baseAddress!)
            }
        }
        return out
    }
}
