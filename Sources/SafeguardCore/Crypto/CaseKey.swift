import CSodium

/// A case's data key (docs/FORMAT.md §3.5): 32 random bytes that seal the details records of
/// one case with XChaCha20-Poly1305 (libsodium's `crypto_aead_xchacha20poly1305_ietf`), each
/// bound to its event. The key is kept only wrapped — a libsodium box (`crypto_box`) from the
/// enrolled writer's key to each agency entitled to the case, both in their X25519 forms — so
/// one leaked key opens one child's records, and destroying every wrapped copy leaves the
/// ciphertext unreadable by anyone.
public final class CaseKey: @unchecked Sendable {
    public static let byteCount = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    /// Bytes of a wrapped key: the nonce, the tag, then the key.
    public static let wrappedByteCount = Int(crypto_box_noncebytes()) + Int(crypto_box_macbytes()) + byteCount
    static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    /// The first byte of a sealed details body: a canonical JSON object starts with `{`, so a
    /// record says which form it has (docs/FORMAT.md §3.5).
    public static let sealedMark: UInt8 = 0x01
    /// What a sealed body adds to the details it seals: the mark, the nonce and the tag.
    public static let overhead = 1 + nonceByteCount + tagByteCount

    /// The key, in ordinary memory wiped when the last reference goes: a bulk import holds
    /// one per case, too many for guarded pages (`SecretBytes` maps several pages for each).
    private var key: [UInt8]

    private init(_ key: [UInt8]) { self.key = key }

    deinit { key.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, $0.count) } }

    private func withKey<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R { key.withUnsafeBufferPointer { body($0.baseAddress!) } }

    /// A fresh key from libsodium's generator.
    public static func generate() -> CaseKey {
        Sodium.ensureReady()
        var k = [UInt8](repeating: 0, count: byteCount)
        crypto_aead_xchacha20poly1305_ietf_keygen(&k)
        return CaseKey(k)
    }

    /// A key made of the first 32 bytes of `bytes`: for synthetic ledgers that must come out
    /// the same from the same seed, never for real records.
    public static func synthetic(_ bytes: [UInt8]) -> CaseKey {
        precondition(bytes.count >= byteCount)
        return CaseKey(Array(bytes.prefix(byteCount)))
    }

    /// The associated data that binds a sealed record to its event: it opens under no other
    /// event id or case id.
    static func binding(eventID: String, caseID: String) -> [UInt8] {
        var ad = bindingPrefix
        ad.reserveCapacity(ad.count + eventID.utf8.count + caseID.utf8.count + 1)
        ad.append(contentsOf: eventID.utf8)
        ad.append(0)
        ad.append(contentsOf: caseID.utf8)
        return ad
    }
    private static let bindingPrefix = Array("safeguard-details-v1".utf8) + [0]

    /// `0x01 || nonce || XChaCha20-Poly1305(plain)`, with a random nonce (or the first 24
    /// bytes of `nonce`, for synthetic ledgers only).
    public func seal(_ plain: [UInt8], eventID: String, caseID: String, nonce given: [UInt8]? = nil) -> [UInt8] {
        Sodium.ensureReady()
        let nonce = given.map { Array($0.prefix(Self.nonceByteCount)) } ?? Sodium.randomBytes(Self.nonceByteCount)
        precondition(nonce.count == Self.nonceByteCount)
        let ad = Self.binding(eventID: eventID, caseID: caseID)
        var out = [UInt8](repeating: 0, count: 1 + Self.nonceByteCount + plain.count + Self.tagByteCount)
        out[0] = Self.sealedMark
        out.replaceSubrange(1...Self.nonceByteCount, with: nonce)
        var written: UInt64 = 0
        out.withUnsafeMutableBufferPointer { o in
            withKey { k in
                _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                    o.baseAddress! + 1 + Self.nonceByteCount, &written, plain, UInt64(plain.count), ad, UInt64(ad.count), nil, nonce, k)
            }
        }
        return out
    }

    /// The details a sealed body holds, or nil if it was not sealed with this key for this
    /// event (a wrong key, a record moved from another event, or a changed byte).
    public func open(_ body: [UInt8], eventID: String, caseID: String) -> [UInt8]? {
        guard body.count >= Self.overhead, body[0] == Self.sealedMark else { return nil }
        let nonce = Array(body[1...Self.nonceByteCount])
        let cipher = Array(body[(1 + Self.nonceByteCount)...])
        let ad = Self.binding(eventID: eventID, caseID: caseID)
        var plain = [UInt8](repeating: 0, count: cipher.count - Self.tagByteCount)
        var written: UInt64 = 0
        let rc = withKey { k in
            crypto_aead_xchacha20poly1305_ietf_decrypt(&plain, &written, nil, cipher, UInt64(cipher.count), ad, UInt64(ad.count), nonce, k)
        }
        return rc == 0 ? Array(plain.prefix(Int(written))) : nil
    }

    /// The key wrapped for the agency whose key is `agency` by the writer whose key is
    /// `writer`, bound to case `caseID` (docs/FORMAT.md §3.5): `nonce || crypto_box_easy_afternm(key)`
    /// under BLAKE2b-256 (`crypto_generichash`) of the case id, keyed with the X25519 shared key
    /// of the two (each Ed25519 key in its X25519 form). Only that agency can unwrap it, it shows
    /// which enrolled key wrapped it, and it opens for no other case: a copy moved from another
    /// case's row does not open. `shared` caches the shared keys (one X25519 computation per
    /// writer and agency, not per case).
    public func wrap(for agency: PublicKey, by writer: SigningKey, caseID: String, shared: inout [String: [UInt8]]) -> [UInt8]? {
        wrap(for: agency, by: writer, caseID: caseID, bound: true, shared: &shared)
    }

    /// `wrap`, or (not `bound`) a copy as written before copies were bound to their case:
    /// boxed under the shared key itself. Only tests of older ledgers write those now.
    func wrap(for agency: PublicKey, by writer: SigningKey, caseID: String, bound: Bool, shared: inout [String: [UInt8]]) -> [UInt8]? {
        Sodium.ensureReady()
        let cacheKey = writer.publicKey.keyID + agency.keyID
        if shared[cacheKey] == nil {
            guard let k = Self.sharedKey(theirs: agency, ours: writer) else { return nil }
            shared[cacheKey] = k
        }
        let k = bound ? Self.caseWrappingKey(shared[cacheKey]!, caseID: caseID) : shared[cacheKey]!
        let nonce = Sodium.randomBytes(Int(crypto_box_noncebytes()))
        var out = [UInt8](repeating: 0, count: Self.wrappedByteCount)
        out.replaceSubrange(0..<nonce.count, with: nonce)
        let rc = out.withUnsafeMutableBufferPointer { o in
            withKey { key in crypto_box_easy_afternm(o.baseAddress! + nonce.count, key, UInt64(Self.byteCount), nonce, k) }
        }
        return rc == 0 ? out : nil
    }

    /// How a wrapped copy opened: bound to its case (every copy safeguard writes now), or a
    /// copy from before copies were bound (format 5 as first written), which says nothing of
    /// which case it belongs to and is trusted only where what it opens is checked.
    public enum Binding: Sendable { case bound, unbound }

    /// Unwraps a key wrapped for `agency`'s key by the writer whose key is `writer` for case
    /// `caseID`; nil if it was not (another agency's copy, another case's, another writer, or
    /// a changed byte). A copy written before copies were bound opens as `.unbound`.
    public static func unwrap(_ wrapped: [UInt8], with agency: SigningKey, by writer: PublicKey, caseID: String) -> (key: CaseKey, binding: Binding)? {
        guard wrapped.count == wrappedByteCount, let k = sharedKey(theirs: writer, ours: agency) else { return nil }
        if let key = open(wrapped, caseWrappingKey(k, caseID: caseID)) { return (key, .bound) }
        return open(wrapped, k).map { ($0, .unbound) }
    }

    private static func open(_ wrapped: [UInt8], _ k: [UInt8]) -> CaseKey? {
        let nonceCount = Int(crypto_box_noncebytes())
        var key = [UInt8](repeating: 0, count: byteCount)
        let rc = wrapped.withUnsafeBufferPointer { w in
            crypto_box_open_easy_afternm(&key, w.baseAddress! + nonceCount, UInt64(wrapped.count - nonceCount), w.baseAddress!, k)
        }
        return rc == 0 ? CaseKey(key) : nil
    }

    /// The key a copy of case `caseID`'s key is boxed under: BLAKE2b-256 of
    /// `"safeguard-case-key-v1" || 0x00 || caseID`, keyed with the shared key.
    static func caseWrappingKey(_ shared: [UInt8], caseID: String) -> [UInt8] {
        let message = wrappingPrefix + Array(caseID.utf8)
        var out = [UInt8](repeating: 0, count: Int(crypto_box_beforenmbytes()))
        _ = crypto_generichash(&out, out.count, message, UInt64(message.count), shared, shared.count)
        return out
    }
    private static let wrappingPrefix = Array("safeguard-case-key-v1".utf8) + [0]

    /// `crypto_box_beforenm` of their X25519 public key and our X25519 secret key.
    static func sharedKey(theirs: PublicKey, ours: SigningKey) -> [UInt8]? {
        var curve = [UInt8](repeating: 0, count: Int(crypto_box_publickeybytes()))
        guard crypto_sign_ed25519_pk_to_curve25519(&curve, theirs.bytes) == 0 else { return nil }
        var k = [UInt8](repeating: 0, count: Int(crypto_box_beforenmbytes()))
        let rc = ours.withCurve25519 { _, sk in crypto_box_beforenm(&k, curve, sk) }
        return rc == 0 ? k : nil
    }
}

extension SigningKey {
    /// Runs `body` with the X25519 key pair libsodium derives from this Ed25519 key
    /// (`crypto_sign_ed25519_sk_to_curve25519`), the secret half in guarded memory.
    func withCurve25519<R>(_ body: ([UInt8], UnsafePointer<UInt8>) -> R) -> R {
        var pk = [UInt8](repeating: 0, count: Int(crypto_box_publickeybytes()))
        _ = crypto_sign_ed25519_pk_to_curve25519(&pk, publicKey.bytes)
        let sk = SecretBytes(count: Int(crypto_box_secretkeybytes()))
        return withSecretKey { ed in
            sk.withUnsafeMutableBytes { s in
                _ = crypto_sign_ed25519_sk_to_curve25519(s.baseAddress!.assumingMemoryBound(to: UInt8.self), ed)
                return body(pk, UnsafePointer(s.baseAddress!.assumingMemoryBound(to: UInt8.self)))
            }
        }
    }
}
