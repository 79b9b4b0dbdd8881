/// Streaming verification of a ledger, one stored row at a time, in sequence order, with
/// nothing but the partnership's root public key as trust anchor (docs/FORMAT.md §9).
/// Memory is bounded by the key registry and the set of agencies, not by the length of the log.
/// Append runs every new entry through the same checks before writing it.
public struct ChainVerifier: Sendable {
    public let trustAnchor: PublicKey
    public private(set) var state = LedgerState()
    public private(set) var summary = VerificationSummary()
    /// The first sequence number whose event id already appeared earlier, if the store found
    /// one (it can answer that with an index instead of holding every id in memory).
    public var duplicateEventIDAt: Int64?
    /// The Merkle tree over the entries verified so far (only when verifying from genesis).
    public private(set) var tree: MerkleFrontier?
    /// The complete subtrees (above the leaves) that the last verified entry completed, so a
    /// store can check its own copy of the tree against them.
    public private(set) var completedNodes: [(level: Int, index: Int64, hash: [UInt8])] = []
    /// The rules above the log's own (the event catalogue), checked with them as part of check
    /// 10 and told of every entry accepted; nil checks the log's rules alone.
    public var rules: (any EntryRules)?
    /// The event types the log accepts (the event catalogue's, and the log's own): an entry of
    /// any other type fails as an invalid envelope (check 4).
    public let types: KnownTypes
    /// Cases with an event whose details record is missing, each with the first such sequence
    /// number, not yet followed by a retention review that destroyed the case's details
    /// (docs/FORMAT.md §9, check 14): a failure at the end unless one comes.
    public private(set) var awaitingErasure: [String: Int64] = [:]

    public init(trustAnchor: PublicKey, types: KnownTypes) {
        self.trustAnchor = trustAnchor
        self.types = types
        tree = MerkleFrontier()
    }

    /// A verifier that continues from `state` (already verified, or trusted as local state by
    /// an appender), so that new entries are checked exactly as a full verification would;
    /// with `tree`, the Merkle tree of the entries before, to go on growing.
    public init(resuming state: LedgerState, tree: MerkleFrontier? = nil, trustAnchor: PublicKey, types: KnownTypes) {
        self.trustAnchor = trustAnchor
        self.types = types
        self.state = state
        self.tree = tree
    }

    /// Checks `row` as the next entry and moves past it, or throws the first problem found.
    /// Returns the parsed envelope, so that callers folding the log need not parse it again.
    @discardableResult
    public mutating func verify(_ row: StoredEntry) throws(VerificationFailure) -> Envelope {
        try verify(row, deferSignature: false).envelope
    }

    /// `verify`, except that with `deferSignature` the Ed25519 check (check 9) is returned to
    /// the caller to run, e.g. on another core, instead of being run here. The caller MUST run
    /// it before relying on the entry, and report a failing one before any later failure: the
    /// first failure of the log is the one to report. A failure of this row's own later checks
    /// (10 on) is reported only after its signature is checked here, so within a row the
    /// order of docs/FORMAT.md §9 holds.
    public mutating func verify(_ row: StoredEntry, deferSignature: Bool) throws(VerificationFailure) -> (envelope: Envelope, signature: PendingSignature?) {
        try verify(row, prepared: Self.prepare(row, types: types), deferSignature: deferSignature)
    }

    /// What an entry's own bytes say, whatever came before it: its envelope decoded (or why it
    /// cannot be), its entry hash, and whether its details record matches its digest. This is
    /// most of an entry's work besides the signature, and depends on nothing before the entry,
    /// so it may run on any core ahead of the walk; `verify(_:prepared:deferSignature:)` uses
    /// it in the order of docs/FORMAT.md §9, so the failure reported is the same.
    public struct Prepared: Sendable {
        enum Decoded: Sendable {
            case envelope(Envelope)
            case failed(VerificationFailure.Reason, eventID: String?)
        }
        let decoded: Decoded
        /// Format 3: the statement's bytes (docs/FORMAT.md §3.4), which the actor signed with the log's origin.
        var statementBytes: [UInt8]? = nil
        let entryHash: [UInt8]
        let detailsProblem: String?
        /// The event's details, when they are at hand and are the ones its envelope commits to
        /// (a writer sealing them sets the details it sealed, so that its rules read them).
        public internal(set) var details: [String: JSONValue]?
        /// Whether the event's details record is sealed (docs/FORMAT.md §3.5); nil when there
        /// is no record at hand (format 1, or withheld).
        var sealedRecord: Bool? = nil
        /// The event's details record is missing (and not withheld): erased, if a later
        /// retention review destroyed its case's details.
        var missingRecord = false

        /// The same, with the details a writer has sealed, for the catalogue's rules to read.
        public func with(details: [String: JSONValue]) -> Prepared { var p = self; p.details = details; return p }
    }

    /// Prepares `row` (thread-safe: it reads nothing but `row` and `types`).
    public static func prepare(_ row: StoredEntry, types: KnownTypes) -> Prepared {
        // Oversized envelopes are refused before anything reads them.
        guard row.envelopeTooLarge == nil, row.envelope.count <= Entry.maxCanonicalBytes else {
            return Prepared(decoded: .failed(.oversized(bytes: row.envelopeTooLarge ?? row.envelope.count), eventID: nil), entryHash: [],
                            detailsProblem: nil, details: nil)
        }
        // The common shape straight from the bytes; anything else (and every failure, with its
        // reason) the general way.
        if let envelope = Envelope(canonical: row.envelope), types.isKnown(envelope.type) { return prepare(row, decoded: envelope) }
        let json: JSONValue
        do { json = try JSONParser.parse(row.envelope, mode: .canonical) } catch {
            return Prepared(decoded: .failed(.notCanonical(error.description), eventID: nil), entryHash: [], detailsProblem: nil, details: nil)
        }
        let envelope: Envelope
        do throws(Envelope.Invalid) {
            envelope = try Envelope(json: json)
            guard types.isKnown(envelope.type) else { throw Envelope.Invalid("type", "\"\(envelope.type)\" is not a known event type") }
        } catch {
            return Prepared(decoded: .failed(.invalidEnvelope(error.description), eventID: json["event_id"]?.stringValue), entryHash: [],
                            detailsProblem: nil, details: nil)
        }
        return prepare(row, decoded: envelope)
    }

    /// `prepare(row)` for a writer that has just made `row` by encoding `envelope`, which MUST
    /// be the envelope `row.envelope` decodes to (`Envelope.canonicalBytes` and the canonical
    /// parser are each other's inverse: FORMAT.md's worked examples and the fuzz targets check
    /// it; a debug build checks it here on every entry). It saves decoding what was just encoded.
    /// `details`, when given, MUST be the object `row.details` (in the clear) was encoded from,
    /// and `row.entryHash` the hash just computed over `row`'s bytes (`Entry(signing:with:)`):
    /// neither is then hashed or parsed again. A debug build compares both with the full way.
    public static func prepare(_ row: StoredEntry, encodedFrom envelope: Envelope, details: [String: JSONValue]? = nil, types: KnownTypes) -> Prepared {
        guard types.isKnown(envelope.type), row.envelopeTooLarge == nil, row.envelope.count <= Entry.maxCanonicalBytes else { return prepare(row, types: types) }
        var known: [String: JSONValue]?
        // Only details that surely read back as themselves (a library caller may hand a draft
        // the command line would have refused): anything else is checked the full way.
        if let details, case .committed = envelope.details, row.detailsTooLarge == nil, let record = row.details, !record.isSealed,
            Validate.isSurelyStorable(.object(details)) { known = details }
        let prepared = prepare(row, decoded: envelope, made: (row.entryHash, known))
        assert({
            let full = prepare(row, types: types)
            guard case .envelope(let decoded) = full.decoded else { return false }
            return (try? decoded.canonicalBytes()) == row.envelope && full.entryHash == prepared.entryHash
                && full.detailsProblem == prepared.detailsProblem && full.details.map(JSONValue.object) == prepared.details.map(JSONValue.object)
        }(), "the envelope encoded is not the one its bytes decode to")
        return prepared
    }

    /// The rest of `prepare`, once the envelope is decoded (and its type known). `made`: what a
    /// writer that has just made the row knows of it (see `prepare(_:encodedFrom:details:types:)`).
    private static func prepare(_ row: StoredEntry, decoded envelope: Envelope, made: (entryHash: [UInt8], details: [String: JSONValue]?)? = nil) -> Prepared {
        let madeDetails: (object: [String: JSONValue]?, problem: String?)? = made?.details.map { (object: $0, problem: nil) }
        let details = row.detailsTooLarge.map { (nil, "the details record: it is \($0) bytes, over the 1 MiB limit") }
            ?? madeDetails
            ?? (row.detailsWithheld && row.details == nil && envelope.details.digest != nil ? (object: nil, problem: nil) : Self.details(envelope.details, row.details))
        var statement: [UInt8]?
        if envelope.actorSignature != nil {
            do { statement = try envelope.statementBytes() } catch {
                return Prepared(decoded: .failed(.invalidEnvelope("the statement cannot be encoded: \(error)"), eventID: envelope.eventID), entryHash: [],
                                detailsProblem: nil, details: nil)
            }
        }
        return Prepared(decoded: .envelope(envelope), statementBytes: statement,
                        entryHash: made?.entryHash ?? Entry.entryHash(canonical: row.envelope, signature: row.signature),
                        detailsProblem: details.problem, details: details.object,
                        sealedRecord: envelope.details.digest == nil ? nil : row.details.map(\.isSealed),
                        missingRecord: envelope.details.digest != nil && row.details == nil && row.detailsTooLarge == nil && !row.detailsWithheld)
    }

    /// `verify(_:deferSignature:)` with `prepared`, which MUST be `prepare(row)`.
    public mutating func verify(_ row: StoredEntry, prepared: Prepared, deferSignature: Bool) throws(VerificationFailure) -> (envelope: Envelope, signature: PendingSignature?) {
        let seq = state.nextSeq
        func fail(_ reason: VerificationFailure.Reason, _ id: String? = nil) -> VerificationFailure {
            VerificationFailure(seq: seq, eventID: id, reason: reason)
        }
        if row.seq > seq { throw fail(.missingEvents(expected: seq, found: row.seq)) }
        if row.seq < seq { throw fail(.outOfOrder(expected: seq, found: row.seq), row.eventID) }
        let envelope: Envelope
        switch prepared.decoded {
        case .envelope(let e): envelope = e
        case .failed(let reason, let id): throw fail(reason, id)
        }
        let id = envelope.eventID
        guard envelope.seq == seq else { throw fail(.seqMismatch(envelopeSeq: envelope.seq), id) }
        guard envelope.prevHash == state.headHash else {
            throw fail(.rule(.brokenLink(expected: state.headHash, found: envelope.prevHash)), id)
        }
        if seq == 0, envelope.type != LogType.genesis { throw fail(.rule(.firstNotGenesis(type: envelope.type)), id) }
        let key: PublicKey
        do { key = try state.signingKey(for: envelope) } catch { throw fail(.rule(error), id) }
        if seq == 0, key != trustAnchor {
            throw fail(.untrustedRoot(named: key.keyID, trusted: trustAnchor.keyID), id)
        }
        let pending: PendingSignature
        if let actorSignature = envelope.actorSignature, let statement = prepared.statementBytes {
            // Format 3: the actor signed the statement for this log, the log key in force the whole entry.
            guard let logKey = state.logKey(forSize: seq), let origin = state.genesis?.origin else { throw fail(.rule(.noLogKey), id) }
            pending = PendingSignature(seq: seq, eventID: id, keyID: envelope.actor.keyID, key: key,
                                       message: Envelope.statementMessage(origin: origin, statementBytes: statement), signature: actorSignature,
                                       log: .init(key: logKey, message: Envelope.entryMessage(row.envelope), signature: row.signature))
        } else {
            pending = PendingSignature(seq: seq, eventID: id, keyID: envelope.actor.keyID, key: key, message: row.envelope, signature: row.signature)
        }
        // With the signature deferred, a later check failing here is reported only once the
        // signature (an earlier check) is known to hold.
        func later(_ reason: VerificationFailure.Reason) -> VerificationFailure {
            deferSignature && !pending.holds() ? pending.failure : fail(reason, id)
        }
        if !deferSignature, !pending.holds() { throw pending.failure }
        do {
            try state.check(envelope)
            try rules?.check(envelope, details: prepared.details, state: state)
        } catch { throw later(.rule(error)) }

        let computed = prepared.entryHash
        guard computed == row.entryHash else {
            throw later(.entryHashMismatch(stored: Hex.encode(row.entryHash), computed: Hex.encode(computed)))
        }
        for (column, matches) in [
            ("event_id", sameBytes(row.eventID, envelope.eventID)), ("type", sameBytes(row.type, envelope.type)),
            ("case_id", sameBytes(row.caseID, envelope.caseID)), ("agency", sameBytes(row.agency, envelope.actor.agency)),
            ("key_id", sameBytes(row.keyID, envelope.actor.keyID)),
            ("occurred_at", sameBytes(row.occurredAt, envelope.occurredAt.description)),
            ("recorded_at", sameBytes(row.recordedAt, envelope.recordedAt.description)), ("prev_hash", row.prevHash == envelope.prevHash),
        ] where !matches {
            throw later(.columnMismatch(column: column))
        }
        if seq == duplicateEventIDAt { throw later(.duplicateEventID) }
        if let problem = prepared.detailsProblem {
            // A record deleted when its case's details were destroyed (docs/FORMAT.md §9, check
            // 14): known only when the retention review that did it comes, later in the log.
            if prepared.missingRecord, let c = envelope.caseID {
                if awaitingErasure[c] == nil { awaitingErasure[c] = seq }
            } else {
                throw later(.detailsMismatch(problem))
            }
        }
        if let sealed = prepared.sealedRecord {
            // docs/FORMAT.md §3.5: under a policy that seals, every case's records are sealed,
            // and no other record is.
            let mustSeal = envelope.caseID != nil && state.policy?.sealing != nil
            if sealed != mustSeal {
                throw later(.detailsMismatch(mustSeal
                    ? "the details record is in the clear, but policy version \(state.policy?.version ?? 0) seals every case's details"
                    : envelope.caseID == nil ? "the details record is sealed, but governance records are never sealed"
                    : "the details record is sealed, but the policy in force seals nothing"))
            }
        }
        state.apply(envelope, entryHash: computed)
        if let erased = Self.destroyedCase(envelope) { awaitingErasure[erased] = nil }
        rules?.accept(envelope)
        summary.add(envelope, headHash: computed)
        completedNodes = tree?.append(computed) ?? []
        return (envelope, deferSignature ? pending : nil)
    }

    /// Why `record` is not the details record `details` calls for (docs/FORMAT.md §3.2), or nil:
    /// a format-2 envelope needs the record its digest commits to, a format-1 envelope none.
    public static func detailsProblem(_ details: Envelope.Details, _ record: SealedDetails?) -> String? {
        Self.details(details, record).problem
    }

    /// The event's details object (format 1: from the envelope; format 2: from a record that is
    /// the one its digest commits to), or why the record is not that one.
    static func details(_ details: Envelope.Details, _ record: SealedDetails?) -> (object: [String: JSONValue]?, problem: String?) {
        switch (details, record) {
        case (.inline(let object), nil): return (object, nil)
        case (.inline, _?): return (nil, "a details record is stored for a format 1 event, whose details are inside its envelope")
        case (.committed, nil): return (nil, "the event's details record is missing (a copy made by 'safeguard mirror' holds none: verify it with --details-withheld)")
        case (.committed(let digest), let r?):
            switch r.opened(against: digest) {
            case .success(let object): return (object, nil)
            case .failure(let problem): return (nil, "the details record: \(problem.text)")
            }
        }
    }

    /// Resuming after entries checked elsewhere: case `c`'s record at `seq` was missing there.
    public mutating func awaitErasure(of c: String, from seq: Int64) {
        awaitingErasure[c] = min(awaitingErasure[c] ?? seq, seq)
    }

    /// The case whose details `envelope` destroys: a retention review with decision `destroyed`.
    public static func destroyedCase(_ envelope: Envelope) -> String? {
        guard envelope.type == "governance.retention_review", envelope.facts["decision"]?.stringValue == "destroyed" else { return nil }
        return envelope.facts["case_ref"]?.stringValue
    }

    /// Call after the last row: the verified summary, or why the log as a whole is not valid.
    public func finish() throws(VerificationFailure) -> VerificationSummary {
        if let (c, seq) = awaitingErasure.min(by: { $0.value < $1.value }) {
            throw VerificationFailure(seq: seq, eventID: nil, reason: .detailsMismatch(
                "the event's details record is missing, and no later retention review destroyed case \(c)'s details"))
        }
        guard state.nextSeq > 0 else { throw VerificationFailure(seq: 0, eventID: nil, reason: .empty) }
        guard state.policy != nil else { throw VerificationFailure(seq: state.nextSeq, eventID: nil, reason: .truncatedAfterGenesis) }
        var s = summary
        s.partnership = state.genesis?.partnership ?? ""
        s.origin = state.genesis?.origin ?? ""
        s.keysEnrolled = state.registry.records.count
        s.keysRevoked = state.registry.records.values.filter { $0.revokedAt != nil }.count
        if let p = state.policy { s.policy = "\(p.name) v\(p.version)" }
        s.treeRoot = tree?.root ?? []
        return s
    }
}

/// Rules an entry must meet beyond the log's own (docs/FORMAT.md §8): the event catalogue,
/// which lives in a layer above the core. `ChainVerifier` checks them after the log's rules,
/// as part of check 10, and tells them of each entry it accepts, so that rules about earlier
/// events (the case is open, a referenced event exists) see the log as it stood.
public protocol EntryRules: AnyObject, Sendable {
    /// Throws why `envelope` may not follow the log in `state`. `details` are the event's
    /// details when they are at hand (nil when the record is missing, wrong or withheld).
    func check(_ envelope: Envelope, details: [String: JSONValue]?, state: LedgerState) throws(RuleViolation)
    /// Moves past `envelope`, which every check accepted.
    func accept(_ envelope: Envelope)
}

/// An event that verified but was signed with a key later revoked as compromised or lost, at
/// or after the sequence number from which the revocation says it was no longer safe, or with
/// a key that such a key enrolled in that window.
public struct FlaggedEvent: Equatable, Sendable {
    public let seq: Int64
    public let eventID: String
    public let type: String
    public let caseID: String?
    public let keyID: String
    /// Of the compromised key: from when, and when it was revoked.
    public let compromisedSince: Int64
    public let revokedAt: Int64
    /// When the event's key is not the compromised one but a key it enrolled while
    /// compromised: the compromised key's id.
    public let enrolledBy: String?
    public init(seq: Int64, eventID: String, type: String, caseID: String?, keyID: String, compromisedSince: Int64, revokedAt: Int64, enrolledBy: String? = nil) {
        self.seq = seq; self.eventID = eventID; self.type = type; self.caseID = caseID; self.keyID = keyID
        self.compromisedSince = compromisedSince; self.revokedAt = revokedAt; self.enrolledBy = enrolledBy
    }
}

/// An Ed25519 check (docs/FORMAT.md §9, check 9) to run, possibly on another core: the
/// actor's signature, and for format 3 the log's as well.
public struct PendingSignature: Sendable {
    public let seq: Int64
    public let eventID: String
    public let keyID: String
    let key: PublicKey
    let message: [UInt8]
    let signature: [UInt8]
    /// Format 3: the log key's signature over the entry.
    let log: LogSignature?

    struct LogSignature: Sendable {
        let key: PublicKey
        let message: [UInt8]
        let signature: [UInt8]
        func holds() -> Bool { key.verify(signature: signature, message: message) }
    }

    init(seq: Int64, eventID: String, keyID: String, key: PublicKey, message: [UInt8], signature: [UInt8], log: LogSignature? = nil) {
        self.seq = seq; self.eventID = eventID; self.keyID = keyID; self.key = key; self.message = message; self.signature = signature; self.log = log
    }

    /// Whether the signatures verify (libsodium; safe to call from any thread).
    public func holds() -> Bool { key.verify(signature: signature, message: message) && (log?.holds() ?? true) }

    /// The failure to report when they do not: the actor's first, as docs/FORMAT.md §9 orders them.
    public var failure: VerificationFailure {
        if let log, key.verify(signature: signature, message: message), !log.holds() {
            return VerificationFailure(seq: seq, eventID: eventID, reason: .badLogSignature(keyID: log.key.keyID))
        }
        return VerificationFailure(seq: seq, eventID: eventID, reason: .badSignature(keyID: keyID))
    }
}

/// What a successful verification found.
public struct VerificationSummary: Equatable, Sendable {
    public var events: Int64 = 0
    public var headHash: [UInt8] = Entry.zeroHash
    public var partnership = ""
    public var origin = ""
    public var policy = ""
    public var keysEnrolled = 0
    public var keysRevoked = 0
    public var agencies: Set<String> = []
    /// Distinct case ids; counted by the store after verification (not held in memory here).
    public var cases: Int64 = 0
    public var firstOccurred: Timestamp?
    public var lastOccurred: Timestamp?
    public var firstRecorded: Timestamp?
    public var lastRecorded: Timestamp?
    /// The Merkle tree head over all the entries (RFC 6962; docs/FORMAT.md, "The Merkle tree").
    public var treeRoot: [UInt8] = []
    /// Valid events to review: signed by a key after the point from which its revocation says
    /// it was compromised or lost (docs/FORMAT.md §8.4). Filled by the store after verifying.
    public var flagged: [FlaggedEvent] = []

    mutating func add(_ e: Envelope, headHash: [UInt8]) {
        events += 1
        self.headHash = headHash
        agencies.insert(e.actor.agency)
        firstOccurred = min(firstOccurred ?? e.occurredAt, e.occurredAt)
        lastOccurred = max(lastOccurred ?? e.occurredAt, e.occurredAt)
        firstRecorded = min(firstRecorded ?? e.recordedAt, e.recordedAt)
        lastRecorded = max(lastRecorded ?? e.recordedAt, e.recordedAt)
    }
}
