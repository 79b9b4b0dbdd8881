/// An event's details as envelope format 2 keeps them (docs/FORMAT.md §3.2): outside the
/// signed envelope, which commits to them by a salted digest. So details can be withheld
/// (from an evidence bundle, say) while the entry, its signature and every proof still verify,
/// and the digest alone gives nothing away: the random salt stops anyone testing guesses.
public struct SealedDetails: Equatable, Sendable {
    /// Bytes of salt: 256 bits, so no guess at the details can be checked against the digest.
    public static let saltSize = 32
    /// The digest's first input byte, after RFC 6962's 0x00 (leaf) and 0x01 (node), so that no
    /// hash input of one role can be read as another's.
    public static let digestPrefix: UInt8 = 0x02

    /// The random salt chosen when the event was recorded.
    public let salt: [UInt8]
    /// The details object as RFC 8785 canonical JSON.
    public let body: [UInt8]

    /// A details record as stored: not checked until `open` or `problem(against:)`.
    public init(salt: [UInt8], body: [UInt8]) { self.salt = salt; self.body = body }

    /// Seals `details` with `salt` (a fresh random salt unless a test fixes one).
    public init(_ details: [String: JSONValue], salt: [UInt8] = Sodium.randomBytes(SealedDetails.saltSize)) throws {
        precondition(salt.count == Self.saltSize, "a details salt is \(Self.saltSize) bytes")
        self.init(salt: salt, body: try CanonicalJSON.encode(.object(details)))
    }

    /// Seals `details` for the event `eventID` of case `caseID` under the case's key
    /// (docs/FORMAT.md §3.5): the body is `0x01 || nonce || ciphertext`, and the digest, over
    /// the body as stored, commits the envelope to the ciphertext.
    public init(_ details: [String: JSONValue], sealedWith key: CaseKey, eventID: String, caseID: String,
                salt: [UInt8] = Sodium.randomBytes(SealedDetails.saltSize), nonce: [UInt8]? = nil) throws {
        precondition(salt.count == Self.saltSize, "a details salt is \(Self.saltSize) bytes")
        self.init(salt: salt, body: key.seal(try CanonicalJSON.encode(.object(details)), eventID: eventID, caseID: caseID, nonce: nonce))
    }

    /// Whether the body is sealed under a case key (it starts with 0x01; details in the clear
    /// are a JSON object, which starts with `{`).
    public var isSealed: Bool { body.first == CaseKey.sealedMark }

    /// The details of a sealed record, opened with the case's key: nil if the key is not the
    /// one it was sealed with for this event, or the ciphertext was changed.
    public func open(with key: CaseKey, eventID: String, caseID: String) -> [String: JSONValue]? {
        guard isSealed, let plain = key.open(body, eventID: eventID, caseID: caseID) else { return nil }
        return try? SealedDetails(salt: salt, body: plain).open()
    }

    /// SHA-256(0x02 || salt || body): what the envelope's `details_digest` holds.
    public var digest: [UInt8] { SHA256.hash(parts: [[Self.digestPrefix], salt, body]) }

    /// The record as one blob, `salt || body`: how an evidence bundle carries it.
    public var bytes: [UInt8] { salt + body }

    /// Splits `salt || body`; nil if there is no room for the salt.
    public init?(bytes: [UInt8]) {
        guard bytes.count >= Self.saltSize else { return nil }
        self.init(salt: Array(bytes.prefix(Self.saltSize)), body: Array(bytes.dropFirst(Self.saltSize)))
    }

    /// The details object, if the body is canonical JSON obeying the envelope's value rules.
    public func open() throws(Envelope.Invalid) -> [String: JSONValue] {
        let json: JSONValue
        do { json = try JSONParser.parse(body, mode: .canonical) } catch {
            throw Envelope.Invalid("details", "the stored details are not canonical JSON (\(error))")
        }
        guard let object = json.objectValue else { throw Envelope.Invalid("details", "the stored details are not a JSON object") }
        try Validate.plainData(json, path: "details")
        return object
    }

    /// Why this record is not the one `digest` commits to, or nil if it is.
    public func problem(against digest: [UInt8]) -> String? {
        if case .failure(let p) = opened(against: digest) { return p.text }
        return nil
    }

    /// Why a details record is not the one an envelope commits to.
    public struct Problem: Error, Sendable { public let text: String }

    /// The details object, if this record is the one `digest` commits to and is well formed;
    /// nil for a sealed record that is (its details are not at hand without the case's key).
    public func opened(against digest: [UInt8]) -> Result<[String: JSONValue]?, Problem> {
        guard salt.count == Self.saltSize else { return .failure(Problem(text: "its salt is \(salt.count) bytes, not \(Self.saltSize)")) }
        guard body.count <= Entry.maxCanonicalBytes else { return .failure(Problem(text: "it is \(body.count) bytes, over the 1 MiB limit")) }
        guard self.digest == digest else {
            return .failure(Problem(text: "its digest is not the envelope's details_digest (the details were changed or swapped)"))
        }
        if isSealed {
            guard body.count >= CaseKey.overhead else { return .failure(Problem(text: "it is sealed but shorter than a nonce and a tag")) }
            return .success(nil)
        }
        do { return .success(try open()) } catch { return .failure(Problem(text: error.problem)) }
    }
}
