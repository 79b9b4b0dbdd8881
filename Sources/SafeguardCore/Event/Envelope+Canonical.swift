extension Envelope {
    /// Decodes stored canonical bytes straight into an envelope, for the common shape only: a
    /// format 2 or 3 envelope whose members are all present in canonical order, whose strings
    /// are printable ASCII with nothing escaped, and whose every member passes the checks of
    /// `Envelope(json:)`. Only `facts` goes through the canonical JSON parser (it stays a JSON
    /// tree); nothing else is built as one.
    ///
    /// Returns nil for anything else, and the caller then decodes the bytes the general way
    /// (`JSONParser.parse(_:mode: .canonical)` and `Envelope(json:)`), which accepts or refuses
    /// them with its own reason. So this never accepts what that path refuses, never gives a
    /// different envelope, and never decides a failure's wording: `EnvelopeDecoderTests` checks
    /// the two against each other on every entry of generated ledgers and on mutated bytes.
    public init?(canonical bytes: [UInt8]) {
        guard let e = bytes.withUnsafeBufferPointer({ buf -> Envelope? in
            var reader = CanonicalReader(buf: buf)
            return reader.envelope()
        }) else { return nil }
        self = e
    }
}

/// The reader behind `Envelope(canonical:)`: every step returns nil at the first byte it does
/// not expect.
private struct CanonicalReader {
    let buf: UnsafeBufferPointer<UInt8>
    var i = 0

    init(buf: UnsafeBufferPointer<UInt8>) { self.buf = buf }

    /// Consumes `text` exactly (a member name with its quotes and colon, or punctuation).
    mutating func literal(_ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard i + n <= buf.count else { return false }
        for k in 0..<n where buf[i + k] != text.utf8Start[k] { return false }
        i += n
        return true
    }

    /// Whether `text` comes next (without consuming it).
    func peek(_ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard i + n <= buf.count else { return false }
        for k in 0..<n where buf[i + k] != text.utf8Start[k] { return false }
        return true
    }

    /// A string of printable ASCII with nothing to unescape: as JCS writes it and the
    /// canonical parser reads it, byte for byte.
    mutating func string() -> String? {
        guard i < buf.count, buf[i] == UInt8(ascii: "\"") else { return nil }
        let start = i + 1
        var j = start
        while j < buf.count {
            let c = buf[j]
            if c == UInt8(ascii: "\"") { break }
            guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\\") else { return nil }
            j += 1
        }
        guard j < buf.count else { return nil }
        i = j + 1
        return String(decoding: UnsafeBufferPointer(rebasing: buf[start..<j]), as: UTF8.self)
    }

    /// A non-negative integer as JCS writes it (no sign, no leading zero), within I-JSON's range.
    mutating func integer() -> Int64? {
        let start = i
        var v: Int64 = 0
        while i < buf.count, buf[i] >= UInt8(ascii: "0"), buf[i] <= UInt8(ascii: "9"), i - start < 16 {
            v = v * 10 + Int64(buf[i] - UInt8(ascii: "0"))
            i += 1
        }
        guard i > start, i - start < 16, buf[start] != UInt8(ascii: "0") || i - start == 1, v <= JSONValue.maxSafeInteger else { return nil }
        guard i == buf.count || (buf[i] != UInt8(ascii: ".") && buf[i] != UInt8(ascii: "e") && buf[i] != UInt8(ascii: "E")) else { return nil }
        return v
    }

    /// The members of a format 2 or 3 envelope, in canonical (RFC 8785) order, each checked as
    /// `Envelope(json:)` checks it.
    mutating func envelope() -> Envelope? {
        guard literal("{\"actor\":{\"agency\":"), let agency = string(), literal(",\"key_id\":"), let keyID = string(),
            literal(",\"practitioner\":"), let practitioner = string(), literal(",\"role\":"), let role = string(), literal("},")
        else { return nil }
        var actorSignature: [UInt8]?
        if literal("\"actor_sig\":") {
            guard let text = string(), let sig = Base64.decode(text), sig.count == 64, literal(",") else { return nil }
            actorSignature = sig
        }
        var caseID: String?
        if literal("\"case_id\":") {
            guard let c = string(), literal(",") else { return nil }
            caseID = c
        }
        guard literal("\"details_digest\":"), let digestText = string(), let digest = Hex.decode(digestText), digest.count == 32,
            literal(",\"event_id\":"), let eventID = string(), literal(",\"facts\":"), peek("{")
        else { return nil }
        // The facts, as the canonical parser reads them one level into the envelope.
        guard let (value, end) = try? JSONParser.canonicalValue(in: buf, at: i, depth: 1), case .object(let facts) = value else { return nil }
        i = end
        guard literal(",\"format\":"), let format = integer(), format == (actorSignature == nil ? 2 : 3),
            literal(",\"occurred_at\":"), let occurredText = string(), literal(",\"prev_hash\":"), let prevText = string(),
            literal(",\"recorded_at\":"), let recordedText = string(), literal(",\"seq\":"), let seq = integer(),
            literal(",\"type\":"), let type = string(), literal("}"), i == buf.count
        else { return nil }
        // The checks of Envelope(json:), each a yes or no here (its wording is the general path's).
        guard Validate.isUUID(eventID), LogType.isWellFormed(type), LogType.requiresCase(type) == (caseID != nil),
            let occurredAt = Timestamp(canonical: occurredText), let recordedAt = Timestamp(canonical: recordedText),
            Validate.isKeyID(keyID), let prevHash = Hex.decode(prevText), prevHash.count == 32
        else { return nil }
        do throws(Envelope.Invalid) {
            if let caseID { try Validate.caseID(caseID, field: "case_id") }
            try Validate.code(agency, field: "actor.agency")
            try Validate.code(role, field: "actor.role")
            try Validate.name(practitioner, field: "actor.practitioner")
            try Validate.plainData(.object(facts), path: "facts")
        } catch { return nil }
        return Envelope(format: format, seq: seq, eventID: eventID, type: type, caseID: caseID, occurredAt: occurredAt, recordedAt: recordedAt,
                        actor: Actor(agency: agency, role: role, practitioner: practitioner, keyID: keyID), prevHash: prevHash,
                        facts: facts, details: .committed(digest: digest), actorSignature: actorSignature)
    }
}
