/// A signed event as it is stored and hashed: the canonical envelope bytes and the Ed25519
/// signature over them (docs/FORMAT.md, "Entries and entry hashes").
public struct Entry: Equatable, Sendable {
    public let canonical: [UInt8]
    public let signature: [UInt8]

    public init(canonical: [UInt8], signature: [UInt8]) {
        self.canonical = canonical
        self.signature = signature
    }

    /// Signs `envelope` with `key`.
    public init(signing envelope: Envelope, with key: SigningKey) throws {
        let bytes = try envelope.canonicalBytes()
        self.init(canonical: bytes, signature: key.sign(bytes))
    }

    /// `uint32_be(len(canonical)) || canonical || signature`: the entry bytes, which are also
    /// the RFC 6962 Merkle leaf input.
    public var entryBytes: [UInt8] {
        Self.lengthPrefix(canonical.count) + canonical + signature
    }

    /// SHA-256(0x00 || entry bytes): the chain link and the RFC 6962 leaf hash.
    public var entryHash: [UInt8] { Self.entryHash(canonical: canonical, signature: signature) }

    public static func entryHash(canonical: [UInt8], signature: [UInt8]) -> [UInt8] {
        SHA256.hash(parts: [[0x00], lengthPrefix(canonical.count), canonical, signature])
    }

    static func lengthPrefix(_ n: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
    }

    /// The chain's starting point: genesis names 32 zero bytes as its previous hash.
    public static let zeroHash = [UInt8](repeating: 0, count: 32)

    /// An envelope larger than this is refused, at append and at verification.
    public static let maxCanonicalBytes = 1 << 20
}
