/// An agency's signed statement (envelope format 3, docs/FORMAT.md §3.4): an event built,
/// checked and signed on the practitioner's own machine, with everything but the members the
/// log gives it when it places it (`seq`, `prev_hash`, `recorded_at`). The log service
/// sequences it: it gives those members from its own head and clock, keeps the actor's
/// signature as `actor_sig` and signs the whole entry with the log's key. So a client cannot
/// choose its place or time, and the service cannot alter what the agency signed.
public struct SignedStatement: Equatable, Sendable {
    /// The statement's members, decoded and checked as an envelope's (placeholders where the
    /// log's members go: `seq` 0, `prev_hash` zeros, `recorded_at` = `occurred_at`).
    public let envelope: Envelope
    /// The actor's Ed25519 signature over `envelope.statementMessage(origin:)`.
    public var signature: [UInt8] { envelope.actorSignature ?? [] }

    /// Builds and signs a statement for `draft` as `actor`, whose key `key` is, for the log
    /// whose origin is `origin` (and no other).
    public init(draft: EventDraft, sealed: SealedDetails, actor: Actor, eventID: String, key: SigningKey, origin: String) throws {
        var e = Envelope(format: Envelope.sequencedFormat, seq: 0, eventID: draft.eventID ?? eventID, type: draft.type, caseID: draft.caseID,
                         occurredAt: draft.occurredAt, recordedAt: draft.occurredAt, actor: actor, prevHash: Entry.zeroHash,
                         facts: draft.facts, details: .committed(digest: sealed.digest), actorSignature: [UInt8](repeating: 0, count: 64))
        e.actorSignature = key.sign(try e.statementMessage(origin: origin))
        envelope = e
    }

    /// Reads a statement as a client sends it: the statement object and the actor's signature
    /// (base64). Checks every member as verification would; the signature itself is checked by
    /// the log against the key enrolled under `actor.key_id`.
    public init(json: JSONValue, signature: String) throws(Envelope.Invalid) {
        guard var o = json.objectValue else { throw Envelope.Invalid("statement", "must be a JSON object") }
        for k in Envelope.logMembers where o[k] != nil {
            throw Envelope.Invalid("statement.\(k)", "is given by the log when it places the statement; remove it")
        }
        guard o["format"]?.integerValue == Envelope.sequencedFormat else {
            throw Envelope.Invalid("statement.format", "must be \(Envelope.sequencedFormat): a statement the log places and dates")
        }
        guard let sig = Base64.decode(signature), sig.count == 64 else {
            throw Envelope.Invalid("actor_sig", "must be base64 of a 64-byte Ed25519 signature")
        }
        o["seq"] = .integer(0)
        o["prev_hash"] = .string(Hex.encode(Entry.zeroHash))
        o["recorded_at"] = o["occurred_at"] ?? .string("")
        o["actor_sig"] = .string(signature)
        do { envelope = try Envelope(json: .object(o)) } catch {
            throw Envelope.Invalid("statement." + error.field, error.problem)
        }
    }

    /// The statement as a client sends it (docs/FORMAT.md §3.4, "Submitting a statement").
    public var json: JSONValue { envelope.statementJSON }

    /// Whether the actor's signature verifies under `key`.
    public func verifies(under key: PublicKey, origin: String) -> Bool {
        guard let message = try? envelope.statementMessage(origin: origin) else { return false }
        return key.verify(signature: signature, message: message)
    }

    /// The envelope the log makes of it at `seq` after `prevHash`, recorded at `recordedAt`.
    public func placed(seq: Int64, prevHash: [UInt8], recordedAt: Timestamp) -> Envelope {
        var e = envelope
        e.seq = seq; e.prevHash = prevHash; e.recordedAt = recordedAt
        return e
    }
}

extension Entry {
    /// The log's entry for a placed statement: the envelope signed by the log key (format 3).
    public init(sequencing envelope: Envelope, logKey: SigningKey) throws {
        precondition(envelope.format == Envelope.sequencedFormat)
        let bytes = try envelope.canonicalBytes()
        self.init(canonical: bytes, signature: logKey.sign(Envelope.entryMessage(bytes)))
    }
}

extension LedgerState {
    /// Whether an entry's signatures hold: the actor's over the signed bytes (formats 1 and 2),
    /// or the actor's over the statement and the log key's (in force at its place) over the
    /// entry (format 3, docs/FORMAT.md §3.4). `actorKey` is the key the actor's key id names.
    public func signaturesHold(_ e: Envelope, signedBytes: [UInt8], signature: [UInt8], actorKey: PublicKey) -> Bool {
        guard let actorSignature = e.actorSignature else { return actorKey.verify(signature: signature, message: signedBytes) }
        guard let logKey = logKey(forSize: e.seq), let origin = genesis?.origin, let statement = try? e.statementMessage(origin: origin) else { return false }
        return actorKey.verify(signature: actorSignature, message: statement) && logKey.verify(signature: signature, message: Envelope.entryMessage(signedBytes))
    }
}
