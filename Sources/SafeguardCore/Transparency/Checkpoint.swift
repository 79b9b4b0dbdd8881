/// A log checkpoint (c2sp.org/tlog-checkpoint): the note text `ORIGIN\nSIZE\nbase64(ROOT)\n`
/// (extension lines, not recommended, are kept if present), signed as a signed note.
public struct Checkpoint: Equatable, Sendable {
    public let origin: String
    public let size: Int64
    public let root: [UInt8]
    public let extensions: [String]

    public init?(origin: String, size: Int64, root: [UInt8], extensions: [String] = []) {
        guard !origin.isEmpty, !origin.contains("\n"), size >= 0, root.count == Merkle.hashSize,
            size > 0 || root == Merkle.emptyRoot,  // the empty tree has one root
            !extensions.contains(where: { $0.isEmpty || $0.contains("\n") })
        else { return nil }
        self.origin = origin; self.size = size; self.root = root; self.extensions = extensions
    }

    /// The note text, final newline included.
    public var body: [UInt8] {
        Array(([origin, String(size), Base64.encode(root)] + extensions).map { $0 + "\n" }.joined().utf8)
    }

    /// Parses a checkpoint's note text: at least three non-empty lines; the size in decimal
    /// with no leading zeroes; the root a base64 SHA-256 hash.
    public init?(body: [UInt8]) {
        guard SignedNote.validText(body), let text = String(validating: body, as: UTF8.self) else { return nil }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, !lines.contains(where: \.isEmpty),
            let size = Int64(lines[1]), String(size) == lines[1],
            let root = Base64.decode(lines[2])
        else { return nil }
        self.init(origin: lines[0], size: size, root: root, extensions: Array(lines.dropFirst(3)))
    }

    /// The signed note of this checkpoint, signed by the log's key `name`.
    public func sign(name: String, key: SigningKey) throws -> [UInt8] {
        SignedNote.format(body, [try SignedNote.sign(body, name: name, key: key)])
    }

    /// Opens a checkpoint note that the log key `log` must have signed; the other signature
    /// lines (witnesses' cosignatures among them) are returned as they are.
    /// The checkpoint's origin must be the log key's name, byte for byte (safeguard's logs sign
    /// under their origin).
    public static func open(_ note: [UInt8], log: NoteVerifier) throws -> (checkpoint: Checkpoint, signatures: [SignedNote.Signature]) {
        let (text, _) = try SignedNote.open(note, trusting: [log])
        guard let checkpoint = Checkpoint(body: text) else { throw SignedNote.Failure.malformed("its text is not a checkpoint (origin, size, base64 root hash)") }
        guard sameBytes(checkpoint.origin, log.name) else {
            throw SignedNote.Failure.malformed("its origin '\(checkpoint.origin)' is not the name of the log key '\(log.name)'")
        }
        return (checkpoint, try SignedNote.parse(note).signatures)
    }
}

/// A witness's Ed25519 cosigning key (c2sp.org/tlog-cosignature, signature type 0x04): its
/// cosignature is `u64be(time) || Ed25519(cosignature/v1\ntime T\n || checkpoint body)`.
public struct Cosigner: Equatable, Sendable {
    public let name: String
    public let publicKey: PublicKey
    public static let type: UInt8 = 0x04

    public init?(name: String, publicKey: PublicKey) {
        guard SignedNote.validKeyName(name) else { return nil }
        self.name = name
        self.publicKey = publicKey
    }

    /// Parses the verifier key `NAME+HEX8+base64(0x04 || 32-byte key)`.
    public init?(verifierKey: String) {
        guard let (name, key) = VerifierKey.parse(verifierKey, type: Self.type) else { return nil }
        self.init(name: name, publicKey: key)
    }

    /// SHA-256(name || 0x0A || 0x04 || public key)[:4].
    public var keyIDBytes: [UInt8] { VerifierKey.keyID(name: name, type: Self.type, key: publicKey) }
    public var keyID: UInt32 { keyIDBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
    public var verifierKey: String { VerifierKey.format(name: name, type: Self.type, key: publicKey) }

    static func message(_ checkpoint: Checkpoint, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n".utf8) + checkpoint.body
    }

    /// Cosigns `checkpoint` at `time` (POSIX seconds) with `key`, which must be this cosigner's.
    public static func cosign(_ checkpoint: Checkpoint, name: String, key: SigningKey, time: UInt64) -> SignedNote.Signature? {
        guard time <= UInt64(Int64.max), let c = Cosigner(name: name, publicKey: key.publicKey) else { return nil }
        let t = (0..<8).map { UInt8((time >> (56 - 8 * UInt64($0))) & 0xff) }
        return SignedNote.Signature(name: name, keyID: c.keyID, bytes: t + key.sign(message(checkpoint, time: time)))
    }

    /// The time of this cosigner's valid cosignature among `signatures`; nil if there is none.
    /// Throws if one with its name and key ID does not verify.
    public func verifiedTime(of checkpoint: Checkpoint, in signatures: [SignedNote.Signature]) throws -> UInt64? {
        guard let s = signatures.first(where: { sameBytes($0.name, name) && $0.keyID == keyID }) else { return nil }
        guard s.bytes.count == 8 + SigningKey.signatureByteCount else { throw SignedNote.Failure.badSignature(name: name) }
        let time = s.bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard time <= UInt64(Int64.max), publicKey.verify(signature: Array(s.bytes.dropFirst(8)), message: Self.message(checkpoint, time: time))
        else { throw SignedNote.Failure.badSignature(name: name) }
        return time
    }
}
