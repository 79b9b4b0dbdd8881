/// Signed notes (c2sp.org/signed-note): a text ending in a newline, a blank line, then one
/// line per signature, `— NAME base64(key ID || signature)`. This project signs and verifies
/// Ed25519 (type 0x01) notes, and reads the signature lines of any type, so that witnesses'
/// cosignatures (type 0x04, c2sp.org/tlog-cosignature) travel with a checkpoint.
public enum SignedNote {
    /// The em dash and space that begin a signature line.
    static let dash = Array("\u{2014} ".utf8)
    /// Verifiers must accept at least 16 signatures; more than this many is refused.
    public static let maxSignatures = 100

    public struct Signature: Equatable, Sendable {
        public let name: String
        public let keyID: UInt32
        /// The signature bytes after the key ID.
        public let bytes: [UInt8]
        public init(name: String, keyID: UInt32, bytes: [UInt8]) { self.name = name; self.keyID = keyID; self.bytes = bytes }

        /// The line as it appears in a note, newline included.
        public var line: String {
            let id = [UInt8(keyID >> 24), UInt8((keyID >> 16) & 0xff), UInt8((keyID >> 8) & 0xff), UInt8(keyID & 0xff)]
            return "\u{2014} \(name) \(Base64.encode(id + bytes))\n"
        }
    }

    /// Why a note is refused.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case badSignature(name: String)
        case noKnownSignature
        public var description: String {
            switch self {
            case .malformed(let why): return "not a signed note: \(why)"
            case .badSignature(let name): return "the signature of \(name) does not verify: the note was changed or forged"
            case .noKnownSignature: return "no signature on the note is from a key you trust"
            }
        }
    }

    /// Splits a note into its text (final newline included) and signatures, checking the
    /// format: valid UTF-8, no control characters but newline, the text separated from the
    /// signatures by the last blank line, each signature line well formed.
    public static func parse(_ note: [UInt8]) throws -> (text: [UInt8], signatures: [Signature]) {
        guard String(validating: note, as: UTF8.self) != nil else { throw Failure.malformed("it is not valid UTF-8") }
        guard !note.contains(where: { $0 < 0x20 && $0 != 0x0A }) else { throw Failure.malformed("it contains a control character") }
        guard note.last == 0x0A else { throw Failure.malformed("it does not end with a newline") }
        // The last "\n\n": the text ends at its first newline.
        var split: Int? = nil
        var i = note.count - 2
        while i >= 0 {
            if note[i] == 0x0A, note[i + 1] == 0x0A { split = i; break }
            i -= 1
        }
        guard let split else { throw Failure.malformed("there is no blank line before the signatures") }
        let text = Array(note[...split])
        let lines = note[(split + 2)...].split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        guard !lines.isEmpty else { throw Failure.malformed("it has no signatures") }
        guard lines.count <= maxSignatures else { throw Failure.malformed("it has more than \(maxSignatures) signatures") }
        var signatures: [Signature] = []
        for line in lines {
            let l = Array(line)
            guard l.starts(with: dash) else { throw Failure.malformed("a signature line does not start with an em dash and a space") }
            let rest = l[dash.count...].split(separator: 0x20, omittingEmptySubsequences: false)
            guard rest.count == 2, let name = String(validating: rest[0], as: UTF8.self), validKeyName(name),
                let blob = Base64.decode(String(decoding: rest[1], as: UTF8.self)), blob.count > 4
            else { throw Failure.malformed("a signature line is not 'NAME base64(key ID || signature)'") }
            let id = blob.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            signatures.append(Signature(name: name, keyID: id, bytes: Array(blob.dropFirst(4))))
        }
        return (text, signatures)
    }

    /// Key names are non-empty, with no Unicode spaces and no '+'.
    public static func validKeyName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0 == "+" }
    }

    /// A note's text must end with a newline and contain no other control characters.
    public static func validText(_ text: [UInt8]) -> Bool {
        text.last == 0x0A && !text.contains(where: { $0 < 0x20 && $0 != 0x0A }) && String(validating: text, as: UTF8.self) != nil
    }
}

/// Key IDs and verifier keys (`NAME+HEX8+base64(TYPE || public key)`) of signed-note, for
/// Ed25519 keys of any signature type.
enum VerifierKey {
    /// SHA-256(name || 0x0A || type || public key)[:4].
    static func keyID(name: String, type: UInt8, key: PublicKey) -> [UInt8] {
        Array(SHA256.hash(Array(name.utf8) + [0x0A, type] + key.bytes).prefix(4))
    }

    static func format(name: String, type: UInt8, key: PublicKey) -> String {
        "\(name)+\(Hex.encode(keyID(name: name, type: type, key: key)))+\(Base64.encode([type] + key.bytes))"
    }

    /// The name and key of a verifier key of `type`, if its key ID is the one they give. Split
    /// at the first two '+': the base64 may hold '+', a name may not.
    static func parse(_ text: String, type: UInt8) -> (name: String, key: PublicKey)? {
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 8, let id = Hex.decode(String(parts[1])),
            let blob = Base64.decode(String(parts[2])), blob.count == 33, blob[0] == type,
            let key = PublicKey(bytes: Array(blob.dropFirst())), SignedNote.validKeyName(String(parts[0])),
            id == keyID(name: String(parts[0]), type: type, key: key)
        else { return nil }
        return (String(parts[0]), key)
    }
}

/// An Ed25519 note key (signature type 0x01): a name and a public key, with the key ID and
/// the verifier-key string `NAME+HEX8+base64(0x01 || public key)` of signed-note.
public struct NoteVerifier: Equatable, Sendable {
    public let name: String
    public let publicKey: PublicKey
    public static let ed25519: UInt8 = 0x01

    public init?(name: String, publicKey: PublicKey) {
        guard SignedNote.validKeyName(name) else { return nil }
        self.name = name
        self.publicKey = publicKey
    }

    /// Parses `NAME+HEX8+base64(0x01 || 32-byte key)`, checking that the key ID is the one
    /// the name and key give.
    public init?(verifierKey: String) {
        guard let (name, key) = VerifierKey.parse(verifierKey, type: Self.ed25519) else { return nil }
        self.init(name: name, publicKey: key)
    }

    /// SHA-256(name || 0x0A || 0x01 || public key)[:4].
    public var keyIDBytes: [UInt8] { VerifierKey.keyID(name: name, type: Self.ed25519, key: publicKey) }
    public var keyID: UInt32 { keyIDBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }

    public var verifierKey: String { VerifierKey.format(name: name, type: Self.ed25519, key: publicKey) }

    /// Does `signature` (already matched by name and key ID) sign `text`?
    public func verifies(_ signature: SignedNote.Signature, text: [UInt8]) -> Bool {
        signature.bytes.count == SigningKey.signatureByteCount && publicKey.verify(signature: signature.bytes, message: text)
    }
}

extension SignedNote {
    /// Signs `text` as `name` with `key`: the signature line to add to a note.
    public static func sign(_ text: [UInt8], name: String, key: SigningKey) throws -> Signature {
        guard validText(text) else { throw Failure.malformed("the text must end with a newline and contain no other control characters") }
        guard let v = NoteVerifier(name: name, publicKey: key.publicKey) else { throw Failure.malformed("'\(name)' is not a valid key name") }
        return Signature(name: name, keyID: v.keyID, bytes: key.sign(text))
    }

    /// The note: text, blank line, signature lines.
    public static func format(_ text: [UInt8], _ signatures: [Signature]) -> [UInt8] {
        text + [0x0A] + signatures.flatMap { Array($0.line.utf8) }
    }

    /// Verifies a note against trusted keys: signatures from unknown keys (by name and key ID)
    /// are ignored; one from a known key that does not verify refuses the whole note; at least
    /// one must verify. Returns the text and the keys that signed it.
    public static func open(_ note: [UInt8], trusting verifiers: [NoteVerifier]) throws -> (text: [UInt8], signedBy: [NoteVerifier]) {
        let (text, signatures) = try parse(note)
        var signedBy: [NoteVerifier] = []
        for s in signatures {
            // Names are compared byte for byte, never by Unicode equivalence.
            guard let v = verifiers.first(where: { sameBytes($0.name, s.name) && $0.keyID == s.keyID }) else { continue }
            guard v.verifies(s, text: text) else { throw Failure.badSignature(name: s.name) }
            if !signedBy.contains(v) { signedBy.append(v) }
        }
        guard !signedBy.isEmpty else { throw Failure.noKnownSignature }
        return (text, signedBy)
    }
}
