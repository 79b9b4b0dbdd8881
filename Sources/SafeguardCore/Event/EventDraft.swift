/// An event as a practitioner or a program submits it, before the ledger gives it a place:
/// no sequence number, previous hash, actor or recording time yet.
public struct EventDraft: Equatable, Sendable {
    public var type: String
    public var caseID: String?
    public var occurredAt: Timestamp
    public var facts: [String: JSONValue]
    public var details: [String: JSONValue]
    /// A caller-chosen id (so that a re-sent import is refused, not duplicated); fresh if nil.
    public var eventID: String?

    public init(type: String, caseID: String?, occurredAt: Timestamp, facts: [String: JSONValue],
                details: [String: JSONValue] = [:], eventID: String? = nil) {
        self.type = type; self.caseID = caseID; self.occurredAt = occurredAt
        self.facts = facts; self.details = details; self.eventID = eventID
    }

    static let inputMembers: Set<String> = ["type", "case_id", "occurred_at", "facts", "details", "event_id"]

    /// Reads the input form of an event (docs/FORMAT.md, "Input events"), checking every
    /// member so that the error names the field to fix; the type must be one of `types`.
    public init(json: JSONValue, types: KnownTypes) throws(Envelope.Invalid) {
        guard let o = json.objectValue else { throw Envelope.Invalid("event", "must be a JSON object") }
        for k in o.keys where !Self.inputMembers.contains(k) {
            throw Envelope.Invalid(k, "is not an input member; allowed: \(Self.inputMembers.sorted().joined(separator: ", "))")
        }
        guard let t = o["type"] else { throw Envelope.Invalid("type", "is missing; e.g. \"contact.recorded\"") }
        guard let type = t.stringValue else { throw Envelope.Invalid("type", "must be a string, found \(t.kindName)") }
        guard types.isKnown(type) else {
            throw Envelope.Invalid("type", "\"\(type.prefix(60))\" is not a known event type; see 'safeguard types'")
        }
        guard type != LogType.genesis else {
            throw Envelope.Invalid("type", "\(type) is written by 'safeguard init' only")
        }
        self.type = type
        if LogType.requiresCase(type) {
            guard let c = o["case_id"] else { throw Envelope.Invalid("case_id", "is missing; every \(LogType.family(of: type)) event names its case") }
            guard let cs = c.stringValue else { throw Envelope.Invalid("case_id", "must be a string, found \(c.kindName)") }
            try Validate.caseID(cs, field: "case_id")
            caseID = cs
        } else {
            guard o["case_id"] == nil else { throw Envelope.Invalid("case_id", "governance events carry no case id; remove it") }
            caseID = nil
        }
        guard let occ = o["occurred_at"] else {
            throw Envelope.Invalid("occurred_at", "is missing; give when it happened, e.g. 2026-11-30T09:15:00Z")
        }
        guard let occText = occ.stringValue, let when = Timestamp(rfc3339: occText) else {
            throw Envelope.Invalid("occurred_at", "must be an RFC 3339 date-time between 1900 and 9999, e.g. 2026-11-30T09:15:00Z")
        }
        occurredAt = when
        guard let f = o["facts"] else { throw Envelope.Invalid("facts", "is missing; give an object of coded facts ({} if none)") }
        guard let facts = f.objectValue else { throw Envelope.Invalid("facts", "must be an object, found \(f.kindName)") }
        self.facts = facts
        if let d = o["details"] {
            guard let details = d.objectValue else { throw Envelope.Invalid("details", "must be an object, found \(d.kindName)") }
            self.details = details
        } else {
            details = [:]
        }
        if let idValue = o["event_id"] {
            guard let id = idValue.stringValue, Validate.isUUID(id) else {
                throw Envelope.Invalid("event_id", "must be a lowercase UUID such as 6f1c2a9e-0b7d-4c3e-9a51-2d8f4e6b7c10")
            }
            eventID = id
        } else {
            eventID = nil
        }
        try Validate.plainData(.object(self.facts), path: "facts")
        try Validate.plainData(.object(details), path: "details")
    }
}

extension LedgerState {
    /// The envelope `draft` becomes when `signer` appends it now, checked against the rules;
    /// throws what is wrong, so that nothing invalid is ever signed. `sealed` is the draft's
    /// details, sealed (`SealedDetails(draft.details)`); the envelope commits to its digest.
    public func envelope(for draft: EventDraft, sealed: SealedDetails, signer: PublicKey, recordedAt: Timestamp, eventID: String,
                         practitioner: String = "root") throws(RuleViolation) -> Envelope {
        let actor: Actor
        if nextSeq == 0 {
            actor = Actor(agency: "partnership", role: "root", practitioner: practitioner, keyID: signer.keyID)
        } else {
            guard let record = registry[signer.keyID] else { throw .unknownKey(keyID: signer.keyID) }
            actor = record.actor
        }
        let e = Envelope(
            seq: nextSeq, eventID: draft.eventID ?? eventID, type: draft.type, caseID: draft.caseID,
            occurredAt: draft.occurredAt, recordedAt: recordedAt, actor: actor, prevHash: headHash,
            facts: draft.facts, details: .committed(digest: sealed.digest))
        try check(e)
        return e
    }

    /// The state of a ledger whose governance events are `governance` (in order) and whose
    /// head is `head` (with its envelope format and time of recording, when known): what an
    /// appender or an incremental reader needs, without re-reading every event.
    public static func resumed(governance: [Envelope], head: (seq: Int64, hash: [UInt8])?, headFormat: Int64? = nil,
                               headRecordedAt: Timestamp? = nil) -> LedgerState {
        var s = LedgerState()
        for e in governance { s.apply(e, entryHash: Entry.zeroHash) }
        if let head { s.setHead(nextSeq: head.seq + 1, hash: head.hash, format: headFormat, recordedAt: headRecordedAt) }
        return s
    }
}
