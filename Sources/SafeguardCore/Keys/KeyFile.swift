/// The secret key file format (docs/FORMAT.md, "Key files"): canonical JSON naming the
/// public key and holding the 32-byte Ed25519 seed, either sealed under a passphrase
/// (Argon2id + XChaCha20-Poly1305) or, when asked for explicitly, in the clear.
public enum KeyFile {
    public static let format = "safeguard-secret-key-v1"
    public static let sealedProtection = "argon2id13+xchacha20poly1305"

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notAKeyFile(String)
        case passphraseRequired
        case wrongPassphrase
        case keyDerivationFailed
        case publicKeyMismatch

        public var description: String {
            switch self {
            case .notAKeyFile(let why): return "not a safeguard secret key file (\(why))"
            case .passphraseRequired: return "this key is passphrase-protected: set SAFEGUARD_PASSPHRASE or run from a terminal to be asked"
            case .wrongPassphrase: return "wrong passphrase for this key (or the key file was altered)"
            case .keyDerivationFailed: return "could not derive the key from the passphrase (Argon2id needs 64 MiB of memory)"
            case .publicKeyMismatch: return "the key file's seed does not match its public key: the file is corrupt"
            }
        }
    }

    /// The file's bytes for `key`, sealed under `passphrase` when one is given.
    public static func encode(_ key: SigningKey, passphrase: SecretBytes?, cost: PassphraseBox.Cost = .interactive) throws -> [UInt8] {
        var o: [String: JSONValue] = [
            "format": .string(format),
            "key_id": .string(key.publicKey.keyID),
            "public_key": .string(key.publicKey.base64),
        ]
        if let passphrase {
            let box = try PassphraseBox.seal(key.seed, passphrase: passphrase, cost: cost)
            o["protection"] = .string(sealedProtection)
            o["opslimit"] = .integer(Int64(box.cost.opsLimit))
            o["memlimit"] = .integer(Int64(box.cost.memLimit))
            o["salt"] = .string(Base64.encode(box.salt))
            o["nonce"] = .string(Base64.encode(box.nonce))
            o["sealed_seed"] = .string(Base64.encode(box.sealed))
        } else {
            o["protection"] = .string("none")
            o["seed"] = .string(key.seed.withUnsafeBytes { Base64.encode(Array($0)) })
        }
        return try CanonicalJSON.encode(.object(o)) + [0x0A]
    }

    /// The Argon2id costs a key file may ask for: libsodium's SENSITIVE limits and some room.
    static let maxOpsLimit: ClosedRange<Int64> = 1...16
    static let maxMemLimit: ClosedRange<Int64> = 8192...(1 << 30)

    /// Whether the file needs a passphrase, and the public key it claims, without decrypting.
    public static func inspect(_ bytes: [UInt8]) throws(Failure) -> (publicKey: PublicKey, sealed: Bool) {
        try inspect(object(bytes))
    }

    private static func inspect(_ o: [String: JSONValue]) throws(Failure) -> (publicKey: PublicKey, sealed: Bool) {
        guard let pkText = o["public_key"]?.stringValue, let pk = PublicKey(base64: pkText) else {
            throw .notAKeyFile("public_key is missing or malformed")
        }
        return (pk, o["protection"]?.stringValue == sealedProtection)
    }

    /// Loads the signing key; `passphrase` is asked for only when the file is sealed.
    public static func decode(_ bytes: [UInt8], passphrase: () throws -> SecretBytes?) throws -> SigningKey {
        let o = try object(bytes)
        let (publicKey, sealed) = try inspect(o)
        var seed: SecretBytes
        if sealed {
            guard let ops = o["opslimit"]?.integerValue, let mem = o["memlimit"]?.integerValue, ops > 0, mem > 0,
                let salt = o["salt"]?.stringValue.flatMap(Base64.decode),
                let nonce = o["nonce"]?.stringValue.flatMap(Base64.decode),
                let sealedSeed = o["sealed_seed"]?.stringValue.flatMap(Base64.decode)
            else { throw Failure.notAKeyFile("sealed key parameters are missing or malformed") }
            guard sealedSeed.count == SigningKey.seedByteCount + PassphraseBox.tagByteCount else {
                throw Failure.notAKeyFile("sealed seed is not 48 bytes")
            }
            // A hostile file must not make the key derivation run for hours or take all memory.
            guard Self.maxOpsLimit.contains(ops), Self.maxMemLimit.contains(mem) else {
                throw Failure.notAKeyFile("opslimit \(ops) or memlimit \(mem) is beyond safeguard's limits (1-\(Self.maxOpsLimit.upperBound), up to 1 GiB)")
            }
            guard let pass = try passphrase() else { throw Failure.passphraseRequired }
            let box = PassphraseBox(cost: .init(opsLimit: UInt64(ops), memLimit: Int(mem)), salt: salt, nonce: nonce, sealed: sealedSeed)
            do { seed = try box.open(passphrase: pass) } catch PassphraseBox.Failure.keyDerivationFailed {
                throw Failure.keyDerivationFailed
            } catch PassphraseBox.Failure.malformed {
                throw Failure.notAKeyFile("sealed key parameters are malformed")
            } catch { throw Failure.wrongPassphrase }
        } else {
            guard o["protection"]?.stringValue == "none", var raw = o["seed"]?.stringValue.flatMap(Base64.decode) else {
                throw Failure.notAKeyFile("unknown protection or missing seed")
            }
            guard raw.count == SigningKey.seedByteCount else { throw Failure.notAKeyFile("seed is not 32 bytes") }
            seed = SecretBytes(consuming: &raw)
        }
        guard seed.count == SigningKey.seedByteCount else { throw Failure.notAKeyFile("seed is not 32 bytes") }
        let key = SigningKey(seed: seed)
        guard key.publicKey == publicKey else { throw Failure.publicKeyMismatch }
        return key
    }

    private static func object(_ bytes: [UInt8]) throws(Failure) -> [String: JSONValue] {
        guard bytes.count < 4096, let v = try? JSONParser.parse(bytes), let o = v.objectValue else {
            throw .notAKeyFile("expected a small JSON object")
        }
        guard o["format"]?.stringValue == format else { throw .notAKeyFile("format is not \(format)") }
        return o
    }
}
