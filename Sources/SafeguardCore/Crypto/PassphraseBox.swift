import CSodium

/// Passphrase protection for secret key files: Argon2id (`crypto_pwhash`, ALG_ARGON2ID13)
/// derives a 32-byte key from the passphrase and a random salt, and XChaCha20-Poly1305
/// (`crypto_secretbox_xchacha20poly1305_easy`) seals the secret. The Poly1305 tag makes a
/// wrong passphrase detectable: opening fails instead of yielding a wrong key.
public struct PassphraseBox: Sendable, Equatable {
    /// Argon2id cost parameters, stored in the key file so they can be raised later.
    public struct Cost: Sendable, Equatable {
        public var opsLimit: UInt64
        public var memLimit: Int
        /// libsodium's INTERACTIVE limits: 2 passes over 64 MiB (about 0.1-0.3 s here).
        public static let interactive = Cost(
            opsLimit: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), memLimit: Int(crypto_pwhash_MEMLIMIT_INTERACTIVE))
        public init(opsLimit: UInt64, memLimit: Int) { self.opsLimit = opsLimit; self.memLimit = memLimit }
    }

    public static let saltByteCount = Int(crypto_pwhash_SALTBYTES)  // 16
    public static let nonceByteCount = Int(crypto_secretbox_xchacha20poly1305_NONCEBYTES)  // 24
    public static let tagByteCount = Int(crypto_secretbox_xchacha20poly1305_MACBYTES)  // 16

    public var cost: Cost
    public var salt: [UInt8]
    public var nonce: [UInt8]
    /// Poly1305 tag || ciphertext, as `crypto_secretbox_xchacha20poly1305_easy` writes it.
    public var sealed: [UInt8]

    public init(cost: Cost, salt: [UInt8], nonce: [UInt8], sealed: [UInt8]) {
        self.cost = cost; self.salt = salt; self.nonce = nonce; self.sealed = sealed
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The passphrase is wrong, or the sealed bytes were altered.
        case wrongPassphrase
        /// Argon2id could not run with these parameters (usually: not enough memory).
        case keyDerivationFailed
        case malformed

        public var description: String {
            switch self {
            case .wrongPassphrase: return "wrong passphrase (or the sealed key was altered)"
            case .keyDerivationFailed: return "could not derive a key from the passphrase: Argon2id needs more memory than is free"
            case .malformed: return "the sealed key's salt, nonce or length is malformed"
            }
        }
    }

    /// Seals `secret` under `passphrase` with a fresh random salt and nonce.
    public static func seal(_ secret: SecretBytes, passphrase: SecretBytes, cost: Cost = .interactive) throws -> PassphraseBox {
        let salt = Sodium.randomBytes(saltByteCount)
        let nonce = Sodium.randomBytes(nonceByteCount)
        let key = try deriveKey(passphrase: passphrase, salt: salt, cost: cost)
        var sealed = [UInt8](repeating: 0, count: secret.count + tagByteCount)
        secret.withUnsafeBytes { s in
            key.withUnsafeBytes { k in
                _ = crypto_secretbox_xchacha20poly1305_easy(
                    &sealed, s.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(s.count), nonce,
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return PassphraseBox(cost: cost, salt: salt, nonce: nonce, sealed: sealed)
    }

    /// Opens the box; throws `.wrongPassphrase` when the tag does not verify.
    public func open(passphrase: SecretBytes) throws -> SecretBytes {
        guard salt.count == Self.saltByteCount, nonce.count == Self.nonceByteCount, sealed.count > Self.tagByteCount
        else { throw Failure.malformed }
        let key = try Self.deriveKey(passphrase: passphrase, salt: salt, cost: cost)
        let secret = SecretBytes(count: sealed.count - Self.tagByteCount)
        let rc = secret.withUnsafeMutableBytes { s in
            key.withUnsafeBytes { k in
                crypto_secretbox_xchacha20poly1305_open_easy(
                    s.baseAddress!.assumingMemoryBound(to: UInt8.self), sealed, UInt64(sealed.count), nonce,
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard rc == 0 else { throw Failure.wrongPassphrase }
        return secret
    }

    static func deriveKey(passphrase: SecretBytes, salt: [UInt8], cost: Cost) throws -> SecretBytes {
        Sodium.ensureReady()
        let key = SecretBytes(count: Int(crypto_secretbox_xchacha20poly1305_KEYBYTES))
        let rc = key.withUnsafeMutableBytes { k in
            passphrase.withUnsafeBytes { p in
                crypto_pwhash(
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(k.count),
                    p.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(p.count),
                    salt, cost.opsLimit, cost.memLimit, crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard rc == 0 else { throw Failure.keyDerivationFailed }
        return key
    }
}
