/// What the partnership's ledger said about itself at the end of genesis.
public struct GenesisInfo: Equatable, Sendable {
    public let partnership: String
    public let origin: String
    public let rootPublicKey: PublicKey
}

/// The ledger's state after some prefix of the log: the next sequence number and previous
/// hash, the key registry and the policy in force. `check` says whether an envelope may
/// come next; `apply` moves the state past it. Both verification and append use them, so
/// append never writes what verification would reject.
public struct LedgerState: Equatable, Sendable {
    public private(set) var nextSeq: Int64 = 0
    public private(set) var headHash: [UInt8] = Entry.zeroHash
    public private(set) var registry = KeyRegistry()
    public private(set) var policy: Policy?
    /// The whole policy document of the latest `policy_set` (what the catalogue reads).
    public private(set) var policyDocument: JSONValue?
    /// The sequence number of that `policy_set`.
    public private(set) var policySeq: Int64?
    /// When the last entry was recorded: the next may not be recorded earlier (docs/FORMAT.md §8.5).
    public private(set) var lastRecordedAt: Timestamp?
    public private(set) var genesis: GenesisInfo?
    /// The envelope format of the last event: formats never go down (docs/FORMAT.md §3.3).
    public private(set) var lastFormat: Int64 = 1
    /// The log's checkpoint keys, each with the sequence number of the `log_key_set` that named
    /// it, in order: the last is the key in force (docs/FORMAT.md §8.7).
    public private(set) var logKeys: [(seq: Int64, key: PublicKey)] = []

    /// The checkpoint key in force for a checkpoint of `size` entries: the one named last
    /// before it (nil when none was).
    public func logKey(forSize size: Int64) -> PublicKey? { logKeys.last { $0.seq < size }?.key }

    public static func == (a: LedgerState, b: LedgerState) -> Bool {
        a.nextSeq == b.nextSeq && a.headHash == b.headHash && a.registry == b.registry && a.policy == b.policy
            && a.policyDocument == b.policyDocument && a.policySeq == b.policySeq && a.genesis == b.genesis && a.lastFormat == b.lastFormat
            && a.lastRecordedAt == b.lastRecordedAt && a.logKeys.elementsEqual(b.logKeys, by: { $0.seq == $1.seq && $0.key == $1.key })
    }

    /// Roles a key may be enrolled with. `root` belongs to the genesis key alone.
    public static let roles: Set<String> = ["safeguarding_lead", "practitioner", "mase_chair", "analyst"]
    public static let revocationReasons: Set<String> = ["compromised", "left_agency", "rotated", "lost", "other"]

    public init() {}

    /// The key that must have signed `envelope`: genesis names its own, others come from the registry.
    public func signingKey(for envelope: Envelope) throws(RuleViolation) -> PublicKey {
        if envelope.type == LogType.genesis && envelope.seq == 0 {
            return try Self.genesisInfo(envelope).rootPublicKey
        }
        guard let record = registry[envelope.actor.keyID] else { throw .unknownKey(keyID: envelope.actor.keyID) }
        return record.publicKey
    }

    /// Checks the rules of the log for `envelope` as the next event (docs/FORMAT.md §8).
    /// Sequence, links, signatures and hashes are `ChainVerifier`'s part.
    public func check(_ e: Envelope) throws(RuleViolation) {
        if e.seq == 0 {
            guard e.type == LogType.genesis else { throw .firstNotGenesis(type: e.type) }
            let g = try Self.genesisInfo(e)
            let expected = Actor(agency: "partnership", role: "root", practitioner: e.actor.practitioner, keyID: g.rootPublicKey.keyID)
            guard e.actor == expected else {
                throw .governance("genesis must be recorded by agency partnership, role root, with the root key's id \(g.rootPublicKey.keyID)")
            }
            try checkTimes(e)
            return
        }
        guard e.type != LogType.genesis else { throw .genesisNotFirst }
        guard e.format >= lastFormat else { throw .formatDowngrade(format: e.format, previous: lastFormat) }
        guard let signer = registry[e.actor.keyID] else { throw .unknownKey(keyID: e.actor.keyID) }
        if let at = signer.revokedAt { throw .revokedKey(keyID: signer.keyID, revokedAt: at) }
        for (field, enrolled, claimed) in [
            ("agency", signer.actor.agency, e.actor.agency), ("role", signer.actor.role, e.actor.role),
            ("practitioner", signer.actor.practitioner, e.actor.practitioner),
        ] where !sameBytes(enrolled, claimed) {
            throw .actorMismatch(field: field, enrolled: enrolled, claimed: claimed)
        }
        let isRoot = signer.keyID == registry.rootKeyID
        switch e.type {
        case LogType.keyEnrolled:
            let new = try enrolment(e)
            guard registry[new.keyID] == nil else { throw .governance("key \(new.keyID) is already enrolled (a key is enrolled once)") }
            // One live key per practitioner of an agency, but while one replaces another.
            let same = registry.records.values.filter {
                $0.revokedAt == nil && $0.keyID != registry.rootKeyID && sameBytes($0.actor.agency, new.actor.agency)
                    && Validate.sameName($0.actor.practitioner, new.actor.practitioner)
            }
            if let replaced = new.replaces {
                guard same.count == 1, same[0].keyID == replaced else {
                    throw .governance("facts.replaces must name the one live key of \(new.actor.practitioner) at \(new.actor.agency)"
                                      + (same.isEmpty ? " (there is none)" : "; live keys: \(same.map(\.keyID).sorted().joined(separator: ", "))"))
                }
            } else if let live = same.first {
                throw .governance("\(live.actor.practitioner) at \(live.actor.agency) already has a live key (\(live.keyID), enrolled at seq \(live.enrolledAt)): "
                                  + "revoke it first, or enrol the new key as its replacement (keys enrol --replaces \(live.keyID))")
            }
            guard let policy else { throw .governance("no policy is in force yet, so no agency key can be enrolled") }
            guard policy.permissions[new.actor.agency] != nil else {
                throw .governance("agency \(new.actor.agency) is not in policy \(policy.name); known agencies: \(policy.agencies.joined(separator: ", "))")
            }
            if !isRoot {
                guard signer.actor.role == "safeguarding_lead", new.actor.agency == signer.actor.agency, new.actor.role == "practitioner" else {
                    throw .governance("only the root key, or a safeguarding lead for a practitioner of the lead's own agency, may enrol a key")
                }
            }
        case LogType.keyRevoked:
            let (target, _, since) = try revocation(e)
            guard let record = registry[target] else { throw .governance("key \(target) to revoke is not enrolled") }
            if let since, !(record.enrolledAt < since && since <= e.seq) {
                throw .invalidFacts(.init("facts.compromised_since", "must be a sequence number after the key's enrolment (\(record.enrolledAt)) and not after this revocation (\(e.seq))"))
            }
            guard record.revokedAt == nil else { throw .governance("key \(target) is already revoked") }
            guard target != registry.rootKeyID else { throw .governance("the root key cannot be revoked by an event it could sign itself") }
            if !isRoot {
                guard signer.actor.role == "safeguarding_lead", record.actor.agency == signer.actor.agency, record.actor.role == "practitioner" else {
                    throw .governance("only the root key, or a safeguarding lead for a practitioner of the lead's own agency, may revoke a key")
                }
            }
        case LogType.policySet:
            guard isRoot else { throw .governance("only the partnership's root key may set the policy") }
            _ = try Self.policy(e)
        case LogType.rootRotated:
            guard isRoot else { throw .governance("only the partnership's root key may hand over to a new root key") }
            let new = try rotation(e)
            guard registry[new.keyID] == nil else { throw .governance("key \(new.keyID) is already enrolled: a new root key is one never used in this ledger") }
        case LogType.logKeySet:
            guard isRoot else { throw .governance("only the partnership's root key may name the log's checkpoint key") }
            _ = try Self.logKey(e)
        default:
            guard !isRoot || LogType.family(of: e.type) == LogType.governanceFamily else {
                throw .governance("the root key signs governance events only (keep it offline); record \(e.type) with an enrolled practitioner's key")
            }
            guard let policy else { throw .noPolicy(type: e.type) }
            guard policy.allows(agency: e.actor.agency, type: e.type) else {
                throw .notPermitted(agency: e.actor.agency, type: e.type, policy: "\(policy.name) v\(policy.version)")
            }
        }
        try checkTimes(e)
    }

    private func checkTimes(_ e: Envelope) throws(RuleViolation) {
        guard e.occurredAt <= e.recordedAt else { throw .recordedBeforeOccurred(occurred: e.occurredAt, recorded: e.recordedAt) }
        if let last = lastRecordedAt, e.recordedAt < last { throw .recordedBeforePrevious(recorded: e.recordedAt, previous: last) }
    }

    /// Moves past `e`, which `check` accepted, whose entry hash is `entryHash`.
    public mutating func apply(_ e: Envelope, entryHash: [UInt8]) {
        switch e.type {
        case LogType.genesis:
            if let g = try? Self.genesisInfo(e) {
                genesis = g
                registry.setRoot(KeyRecord(publicKey: g.rootPublicKey, actor: e.actor, enrolledAt: e.seq, enrolledBy: e.actor.keyID))
            }
        case LogType.keyEnrolled:
            if let r = try? enrolment(e) { registry.enrol(r) }
        case LogType.keyRevoked:
            if let (target, reason, since) = try? revocation(e) { registry.revoke(target, at: e.seq, reason: reason, compromisedSince: since) }
        case LogType.rootRotated:
            if let new = try? rotation(e), let old = registry.rootKeyID {
                registry.revoke(old, at: e.seq, reason: "rotated")
                registry.setRoot(new)
            }
        case LogType.logKeySet:
            if let key = try? Self.logKey(e) { logKeys.append((e.seq, key)) }
        case LogType.policySet:
            if let p = try? Self.policy(e) {
                policy = p
                policyDocument = e.facts["policy"]
                policySeq = e.seq
            }
        default: break
        }
        nextSeq = e.seq + 1
        headHash = entryHash
        lastFormat = max(lastFormat, e.format)
        lastRecordedAt = max(lastRecordedAt ?? e.recordedAt, e.recordedAt)
    }

    public mutating func setHead(nextSeq: Int64, hash: [UInt8], format: Int64?, recordedAt: Timestamp?) {
        self.nextSeq = nextSeq
        self.headHash = hash
        if let format { lastFormat = max(lastFormat, format) }
        if let recordedAt { lastRecordedAt = recordedAt }
    }

    // MARK: - Governance facts

    /// Governance facts hold exactly the documented members, so two verifiers cannot disagree.
    static func requireMembers(_ e: Envelope, _ members: Set<String>) throws(RuleViolation) {
        for k in e.facts.keys where !members.contains(k) {
            throw .invalidFacts(.init("facts.\(k)", "is not a member of \(e.type) facts (\(members.sorted().joined(separator: ", ")))"))
        }
    }

    public static func genesisInfo(_ e: Envelope) throws(RuleViolation) -> GenesisInfo {
        try requireMembers(e, ["partnership", "origin", "root_public_key"])
        guard let partnership = e.facts["partnership"]?.stringValue else {
            throw .invalidFacts(.init("facts.partnership", "must name the partnership"))
        }
        do { try Validate.name(partnership, field: "facts.partnership") } catch { throw .invalidFacts(error) }
        guard let origin = e.facts["origin"]?.stringValue, Self.isOrigin(origin) else {
            throw .invalidFacts(.init("facts.origin", "must be a scheme-less name like sutton.example/cse-ledger"))
        }
        guard let keyText = e.facts["root_public_key"]?.stringValue, let key = PublicKey(base64: keyText) else {
            throw .invalidFacts(.init("facts.root_public_key", "must be a base64 Ed25519 public key"))
        }
        return GenesisInfo(partnership: partnership, origin: origin, rootPublicKey: key)
    }

    /// An origin is printable ASCII without spaces or `+` (C2SP signed-note key names),
    /// and has no URL scheme: 1-128 characters.
    public static func isOrigin(_ s: String) -> Bool {
        let u = Array(s.utf8)
        return (1...128).contains(u.count) && u.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "+") }
            && !s.contains("://")
    }

    func enrolment(_ e: Envelope) throws(RuleViolation) -> KeyRecord {
        try Self.requireMembers(e, ["public_key", "key_id", "agency", "role", "practitioner", "replaces"])
        guard let text = e.facts["public_key"]?.stringValue, let key = PublicKey(base64: text) else {
            throw .invalidFacts(.init("facts.public_key", "must be a base64 Ed25519 public key"))
        }
        guard e.facts["key_id"]?.stringValue == key.keyID else {
            throw .invalidFacts(.init("facts.key_id", "must be \(key.keyID), the id of facts.public_key"))
        }
        guard let agency = e.facts["agency"]?.stringValue, let role = e.facts["role"]?.stringValue,
            let practitioner = e.facts["practitioner"]?.stringValue
        else { throw .invalidFacts(.init("facts", "an enrolment names agency, role and practitioner")) }
        do {
            try Validate.code(agency, field: "facts.agency")
            try Validate.name(practitioner, field: "facts.practitioner")
        } catch { throw .invalidFacts(error) }
        guard Self.roles.contains(role) else {
            throw .invalidFacts(.init("facts.role", "\"\(role)\" is not a role; use one of \(Self.roles.sorted().joined(separator: ", "))"))
        }
        var replaces: String?
        if let r = e.facts["replaces"] {
            guard let id = r.stringValue, Validate.isKeyID(id) else { throw .invalidFacts(.init("facts.replaces", "must be the 32-hex-digit id of the key the new one replaces")) }
            replaces = id
        }
        return KeyRecord(
            publicKey: key, actor: Actor(agency: agency, role: role, practitioner: practitioner, keyID: key.keyID),
            enrolledAt: e.seq, enrolledBy: e.actor.keyID, replaces: replaces)
    }

    /// The message a new root key signs to accept the hand-over (docs/FORMAT.md §8.6).
    public static func rotationMessage(origin: String, from old: String, to new: String) -> [UInt8] {
        Array("safeguard/root-rotation/v1\n\(origin)\n\(old)\n\(new)\n".utf8)
    }

    /// The new root key of a `root_rotated` event, checked: its id, its holder's name, and its
    /// signature accepting the hand-over from the root key in force.
    func rotation(_ e: Envelope) throws(RuleViolation) -> KeyRecord {
        try Self.requireMembers(e, ["public_key", "key_id", "practitioner", "acceptance"])
        guard let text = e.facts["public_key"]?.stringValue, let key = PublicKey(base64: text) else {
            throw .invalidFacts(.init("facts.public_key", "must be the new root's base64 Ed25519 public key"))
        }
        guard e.facts["key_id"]?.stringValue == key.keyID else {
            throw .invalidFacts(.init("facts.key_id", "must be \(key.keyID), the id of facts.public_key"))
        }
        guard let practitioner = e.facts["practitioner"]?.stringValue else { throw .invalidFacts(.init("facts.practitioner", "must name who holds the new root key")) }
        do { try Validate.name(practitioner, field: "facts.practitioner") } catch { throw .invalidFacts(error) }
        guard let old = registry.rootKeyID, let origin = genesis?.origin else { throw .governance("there is no root key to hand over from") }
        guard let acceptance = e.facts["acceptance"]?.stringValue.flatMap(Base64.decode), acceptance.count == 64,
            key.verify(signature: acceptance, message: Self.rotationMessage(origin: origin, from: old, to: key.keyID))
        else {
            throw .invalidFacts(.init("facts.acceptance", "must be the new root key's signature accepting the hand-over from \(old) in \(origin) (docs/FORMAT.md §8.6)"))
        }
        return KeyRecord(publicKey: key, actor: Actor(agency: "partnership", role: "root", practitioner: practitioner, keyID: key.keyID),
                         enrolledAt: e.seq, enrolledBy: e.actor.keyID)
    }

    /// The checkpoint key a `log_key_set` names.
    static func logKey(_ e: Envelope) throws(RuleViolation) -> PublicKey {
        try requireMembers(e, ["public_key", "key_id"])
        guard let text = e.facts["public_key"]?.stringValue, let key = PublicKey(base64: text) else {
            throw .invalidFacts(.init("facts.public_key", "must be the checkpoint key's base64 Ed25519 public key"))
        }
        guard e.facts["key_id"]?.stringValue == key.keyID else {
            throw .invalidFacts(.init("facts.key_id", "must be \(key.keyID), the id of facts.public_key"))
        }
        return key
    }

    func revocation(_ e: Envelope) throws(RuleViolation) -> (String, String, Int64?) {
        try Self.requireMembers(e, ["key_id", "reason", "compromised_since"])
        guard let target = e.facts["key_id"]?.stringValue, Validate.isKeyID(target) else {
            throw .invalidFacts(.init("facts.key_id", "must be the 32-hex-digit id of the key to revoke"))
        }
        guard let reason = e.facts["reason"]?.stringValue, Self.revocationReasons.contains(reason) else {
            throw .invalidFacts(.init("facts.reason", "must be one of \(Self.revocationReasons.sorted().joined(separator: ", "))"))
        }
        guard let since = e.facts["compromised_since"] else { return (target, reason, nil) }
        guard let seq = since.integerValue else { throw .invalidFacts(.init("facts.compromised_since", "must be a sequence number")) }
        guard reason == "compromised" || reason == "lost" else {
            throw .invalidFacts(.init("facts.compromised_since", "is for a key revoked as compromised or lost"))
        }
        return (target, reason, seq)
    }

    static func policy(_ e: Envelope) throws(RuleViolation) -> Policy {
        try requireMembers(e, ["policy"])
        guard let p = e.facts["policy"] else { throw .invalidFacts(.init("facts.policy", "is missing")) }
        do { return try Policy(json: p) } catch { throw .invalidFacts(error) }
    }
}
