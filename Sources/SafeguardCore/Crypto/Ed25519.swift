import CSodium

/// An Ed25519 public key (32 bytes), as used by `crypto_sign_verify_detached`.
public struct PublicKey: Hashable, Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    /// Fails unless `bytes` is exactly 32 bytes long.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Parses the base64 text form (44 characters, standard alphabet, padded).
    public init?(base64 text: String) {
        guard let raw = Base64.decode(text), let key = PublicKey(bytes: raw) else { return nil }
        self = key
    }

    /// The standard base64 text form, as written in `.pub` files and in `verify --trust`.
    public var base64: String { Base64.encode(bytes) }

    /// The key id: the first 16 bytes of SHA-256(public key), as 32 lowercase hex digits
    /// (docs/FORMAT.md, "Key ids").
    public var keyID: String { Hex.encode(Array(SHA256.hash(bytes).prefix(16))) }

    /// Verifies a detached Ed25519 signature over `message`.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        message.withUnsafeBufferPointer { verify(signature: signature, message: $0) }
    }

    public func verify(signature: [UInt8], message: UnsafeBufferPointer<UInt8>) -> Bool {
        Sodium.ensureReady()
        guard signature.count == Int(crypto_sign_BYTES) else { return false }
        return crypto_sign_verify_detached(
            signature, message.baseAddress ?? UnsafePointer(bitPattern: 1)!, UInt64(message.count), bytes) == 0
    }
}

/// An Ed25519 signing key. The 32-byte seed and the expanded secret key live in
/// `SecretBytes` (guarded, zeroed on release).
public final class SigningKey: Sendable {
    public static let seedByteCount = 32
    public static let signatureByteCount = 64

    public let publicKey: PublicKey
    private let secretKey: SecretBytes  // libsodium's 64-byte form: seed || public key
    private let seedBytes: SecretBytes

    /// Derives the key pair from a 32-byte seed (`crypto_sign_seed_keypair`).
    public init(seed: SecretBytes) {
        Sodium.ensureReady()
        precondition(seed.count == Self.seedByteCount)
        let sk = SecretBytes(count: Int(crypto_sign_SECRETKEYBYTES))
        var pk = [UInt8](repeating: 0, count: PublicKey.byteCount)
        seed.withUnsafeBytes { s in
            sk.withUnsafeMutableBytes { k in
                _ = crypto_sign_seed_keypair(&pk, k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                             s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        self.secretKey = sk
        self.seedBytes = seed
        self.publicKey = PublicKey(bytes: pk)!
    }

    /// A fresh key from libsodium's random generator.
    public static func generate() -> SigningKey {
        var seed = Sodium.randomBytes(seedByteCount)
        return SigningKey(seed: SecretBytes(consuming: &seed))
    }

    /// The seed, for writing a key file.
    public var seed: SecretBytes { seedBytes }

    /// Runs `body` with libsodium's 64-byte secret key (for deriving the X25519 form).
    func withSecretKey<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R {
        secretKey.withUnsafeBytes { body($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    /// A detached Ed25519 signature (64 bytes) over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Self.signatureByteCount)
        secretKey.withUnsafeBytes { k in
            message.withUnsafeBufferPointer { m in
                _ = crypto_sign_detached(&sig, nil, m.baseAddress ?? UnsafePointer(bitPattern: 1)!, UInt64(m.count),
                                         k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return sig
    }
}
