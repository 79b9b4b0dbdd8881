import Glibc

/// Who recorded an event: the enrolment bound to the signing key (docs/FORMAT.md, "actor").
/// Equality compares UTF-8 bytes, as the format does, not Swift's canonical equivalence.
public struct Actor: Equatable, Hashable, Sendable {
    public var agency: String
    public var role: String
    public var practitioner: String
    public var keyID: String

    public init(agency: String, role: String, practitioner: String, keyID: String) {
        self.agency = agency; self.role = role; self.practitioner = practitioner; self.keyID = keyID
    }

    public static func == (a: Actor, b: Actor) -> Bool {
        sameBytes(a.agency, b.agency) && sameBytes(a.role, b.role) && sameBytes(a.practitioner, b.practitioner)
            && sameBytes(a.keyID, b.keyID)
    }

    public func hash(into h: inout Hasher) {
        for var s in [agency, role, practitioner, keyID] {
            s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)); h.combine($0.count) }
        }
    }
}

/// Byte equality of two strings' UTF-8, where Swift's `==` would treat canonically
/// equivalent strings (é precomposed and decomposed) as equal.
/// (Compared with memcmp over the strings' contiguous UTF-8: `utf8.elementsEqual` goes a byte
/// at a time through the generic iterator, and verification compares a dozen strings per event.)
public func sameBytes(_ a: String, _ b: String) -> Bool {
    var a = a, b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) }
    }
}

public func sameBytes(_ a: String?, _ b: String?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (x?, y?): return sameBytes(x, y)
    default: return false
    }
}

/// The signed part of an event. Its RFC 8785 canonical JSON is what the Ed25519 signature
/// covers; docs/FORMAT.md defines every member.
public struct Envelope: Equatable, Sendable {
    /// The envelope format this code writes.
    public static let formatVersion: Int64 = 2
    /// The envelope formats this code reads: 1 (details inside the envelope), 2 (details
    /// committed to by a salted digest and stored beside it, docs/FORMAT.md §3.2) and 3 (an
    /// agency's signed statement, placed and dated by the log service, which signs the whole
    /// entry with the log's key: docs/FORMAT.md §3.4).
    public static let readableFormats: ClosedRange<Int64> = 1...3
    /// The format of an entry the log service sequences (docs/FORMAT.md §3.4).
    public static let sequencedFormat: Int64 = 3

    /// Where an event's details are: inside the envelope (format 1) or beside it, committed to
    /// by `details_digest` (format 2).
    public enum Details: Equatable, Sendable {
        case inline([String: JSONValue])
        case committed(digest: [UInt8])

        public var digest: [UInt8]? { if case .committed(let d) = self { return d } else { return nil } }
    }

    public var format: Int64
    public var seq: Int64
    public var eventID: String
    public var type: String
    public var caseID: String?
    public var occurredAt: Timestamp
    public var recordedAt: Timestamp
    public var actor: Actor
    public var prevHash: [UInt8]
    /// Coded, non-identifying facts: what projections and statistics read.
    public var facts: [String: JSONValue]
    /// Identifying data and narrative, kept apart from the facts: inline in format 1, a
    /// digest of the sealed details record in format 2.
    public var details: Details
    /// Format 3: the actor's Ed25519 signature over the statement (`statementMessage`); the
    /// entry's own signature is then the log's. Nil in formats 1 and 2.
    public var actorSignature: [UInt8]?

    public init(
        format: Int64 = Envelope.formatVersion, seq: Int64, eventID: String, type: String, caseID: String?,
        occurredAt: Timestamp, recordedAt: Timestamp, actor: Actor, prevHash: [UInt8],
        facts: [String: JSONValue], details: Details, actorSignature: [UInt8]? = nil
    ) {
        precondition((format == 1) == (details.digest == nil), "format 1 holds details inline, formats 2 and 3 a digest")
        precondition((format == 3) == (actorSignature != nil), "format 3, and only format 3, carries the actor's signature")
        self.format = format; self.seq = seq; self.eventID = eventID; self.type = type; self.caseID = caseID
        self.occurredAt = occurredAt; self.recordedAt = recordedAt; self.actor = actor; self.prevHash = prevHash
        self.facts = facts; self.details = details; self.actorSignature = actorSignature
    }

    /// The envelope as a JSON object (members as in docs/FORMAT.md).
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "format": .integer(format),
            "seq": .integer(seq),
            "event_id": .string(eventID),
            "type": .string(type),
            "occurred_at": .string(occurredAt.description),
            "recorded_at": .string(recordedAt.description),
            "actor": .object([
                "agency": .string(actor.agency), "role": .string(actor.role),
                "practitioner": .string(actor.practitioner), "key_id": .string(actor.keyID),
            ]),
            "prev_hash": .string(Hex.encode(prevHash)),
            "facts": .object(facts),
        ]
        switch details {
        case .inline(let d): o["details"] = .object(d)
        case .committed(let digest): o["details_digest"] = .string(Hex.encode(digest))
        }
        if let caseID { o["case_id"] = .string(caseID) }
        if let actorSignature { o["actor_sig"] = .string(Base64.encode(actorSignature)) }
        return .object(o)
    }

    /// The bytes that are signed and stored: RFC 8785 canonical JSON of `json`.
    public func canonicalBytes() throws -> [UInt8] { try CanonicalJSON.encode(json) }

    /// The members the log gives a statement when it sequences it (docs/FORMAT.md §3.4).
    public static let logMembers: Set<String> = ["seq", "prev_hash", "recorded_at", "actor_sig"]

    /// Format 3: the agency's statement, the envelope without the members the log gives it.
    public var statementJSON: JSONValue {
        guard case .object(var o) = json else { return json }
        for k in Self.logMembers { o.removeValue(forKey: k) }
        return .object(o)
    }

    /// The statement's canonical JSON (docs/FORMAT.md §3.4).
    public func statementBytes() throws -> [UInt8] { try CanonicalJSON.encode(statementJSON) }

    /// What the actor signs in format 3: `safeguard/statement/v1` LF, the log's origin LF, then
    /// the statement's canonical JSON (docs/FORMAT.md §3.4): a statement binds to one log.
    public func statementMessage(origin: String) throws -> [UInt8] { Self.statementMessage(origin: origin, statementBytes: try statementBytes()) }

    public static func statementMessage(origin: String, statementBytes: [UInt8]) -> [UInt8] {
        statementPrefix + Array(origin.utf8) + [0x0A] + statementBytes
    }

    /// What the log's key signs in format 3: `safeguard/entry/v1` LF, then the signed bytes.
    public static func entryMessage(_ signedBytes: [UInt8]) -> [UInt8] { entryPrefix + signedBytes }

    public static let statementPrefix = Array("safeguard/statement/v1\n".utf8)
    public static let entryPrefix = Array("safeguard/entry/v1\n".utf8)
}

extension Envelope {
    /// Why an envelope (or the input for one) is not acceptable. Each message names the member.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let field: String
        public let problem: String
        public init(_ field: String, _ problem: String) { self.field = field; self.problem = problem }
        public var description: String { "\(field): \(problem)" }
    }

    static let commonMembers: Set<String> = [
        "format", "seq", "event_id", "type", "case_id", "occurred_at", "recorded_at", "actor", "prev_hash", "facts",
    ]
    /// The members of an envelope of `format`: format 1 holds `details`, format 2 `details_digest`,
    /// format 3 `details_digest` and `actor_sig`.
    static func members(format: Int64) -> Set<String> { format == 1 ? format1Members : format == 2 ? format2Members : format3Members }
    private static let format1Members = commonMembers.union(["details"])
    private static let format2Members = commonMembers.union(["details_digest"])
    private static let format3Members = format2Members.union(["actor_sig"])
    static let actorMembers: Set<String> = ["agency", "role", "practitioner", "key_id"]

    /// Decodes and checks a parsed envelope: exactly the documented members, each of the right
    /// kind and form; no nulls and no decimal numbers anywhere.
    public init(json: JSONValue) throws(Invalid) {
        guard let o = json.objectValue else { throw Invalid("envelope", "must be a JSON object") }
        func string(_ k: String) throws(Invalid) -> String {
            guard let v = o[k] else { throw Invalid(k, "is missing") }
            guard let s = v.stringValue else { throw Invalid(k, "must be a string, found \(v.kindName)") }
            return s
        }
        func integer(_ k: String) throws(Invalid) -> Int64 {
            guard let v = o[k] else { throw Invalid(k, "is missing") }
            guard let i = v.integerValue else { throw Invalid(k, "must be an integer, found \(v.kindName)") }
            return i
        }
        func object(_ k: String) throws(Invalid) -> [String: JSONValue] {
            guard let v = o[k] else { throw Invalid(k, "is missing") }
            guard let obj = v.objectValue else { throw Invalid(k, "must be an object, found \(v.kindName)") }
            return obj
        }
        format = try integer("format")
        guard Self.readableFormats.contains(format) else {
            throw Invalid("format", "is \(format); this safeguard reads formats \(Self.readableFormats.lowerBound) to \(Self.readableFormats.upperBound)")
        }
        let members = Self.members(format: format)
        for key in o.keys where !members.contains(key) { throw Invalid(key, "is not a member of a format \(format) envelope") }
        seq = try integer("seq")
        guard seq >= 0 else { throw Invalid("seq", "must not be negative") }
        eventID = try string("event_id")
        guard Validate.isUUID(eventID) else { throw Invalid("event_id", "must be a lowercase UUID") }
        type = try string("type")
        // Whether the type is known is the verifier's question (`ChainVerifier.types`): the
        // catalogue defines the types; the envelope's shape is the same for all.
        guard LogType.isWellFormed(type) else { throw Invalid("type", "\"\(type.prefix(64))\" is not an event type name (family.verb)") }
        if LogType.requiresCase(type) {
            let c = try string("case_id")
            try Validate.caseID(c, field: "case_id")
            caseID = c
        } else {
            guard o["case_id"] == nil else { throw Invalid("case_id", "governance events carry no case id") }
            caseID = nil
        }
        guard let occ = Timestamp(canonical: try string("occurred_at")) else {
            throw Invalid("occurred_at", "must be UTC RFC 3339 in whole seconds between 1900 and 9999, e.g. 2026-11-30T09:15:00Z")
        }
        occurredAt = occ
        guard let rec = Timestamp(canonical: try string("recorded_at")) else {
            throw Invalid("recorded_at", "must be UTC RFC 3339 in whole seconds between 1900 and 9999, e.g. 2026-11-30T09:15:00Z")
        }
        recordedAt = rec
        let a = try object("actor")
        for key in a.keys where !Self.actorMembers.contains(key) { throw Invalid("actor.\(key)", "is not an actor member") }
        func actorString(_ k: String) throws(Invalid) -> String {
            guard let s = a[k]?.stringValue else { throw Invalid("actor.\(k)", "must be a string") }
            return s
        }
        actor = Actor(
            agency: try actorString("agency"), role: try actorString("role"),
            practitioner: try actorString("practitioner"), keyID: try actorString("key_id"))
        try Validate.code(actor.agency, field: "actor.agency")
        try Validate.code(actor.role, field: "actor.role")
        try Validate.name(actor.practitioner, field: "actor.practitioner")
        guard Validate.isKeyID(actor.keyID) else { throw Invalid("actor.key_id", "must be 32 lowercase hex digits") }
        guard let prev = Hex.decode(try string("prev_hash")), prev.count == 32 else {
            throw Invalid("prev_hash", "must be 64 lowercase hex digits")
        }
        prevHash = prev
        facts = try object("facts")
        try Validate.plainData(.object(facts), path: "facts")
        if format == 1 {
            let d = try object("details")
            try Validate.plainData(.object(d), path: "details")
            details = .inline(d)
        } else {
            guard let digest = Hex.decode(try string("details_digest")), digest.count == 32 else {
                throw Invalid("details_digest", "must be 64 lowercase hex digits")
            }
            details = .committed(digest: digest)
        }
        if format == 3 {
            guard let sig = Base64.decode(try string("actor_sig")), sig.count == 64 else {
                throw Invalid("actor_sig", "must be base64 of a 64-byte Ed25519 signature")
            }
            actorSignature = sig
        } else {
            actorSignature = nil
        }
    }
}
