/// An evidence bundle for one case (docs/FORMAT.md §6.5): the case's entries and every
/// governance entry before its last, each with an inclusion proof against one checkpoint.
/// Checking it needs only the bundle, the root public key and the log's checkpoint key.
public enum EvidenceBundle {
    /// One entry of the bundle: its place in the log, its entry bytes, its inclusion proof and,
    /// unless withheld, its details record (envelope format 2, docs/FORMAT.md §3.2).
    public struct Item: Equatable, Sendable {
        public let seq: Int64
        public let entry: [UInt8]
        public let proof: [[UInt8]]
        public let details: SealedDetails?
        public init(seq: Int64, entry: [UInt8], proof: [[UInt8]], details: SealedDetails? = nil) {
            self.seq = seq; self.entry = entry; self.proof = proof; self.details = details
        }

        /// The same item without its details record: what a facts-only bundle holds.
        public var withoutDetails: Item { Item(seq: seq, entry: entry, proof: proof) }

        /// `{"details":BASE64,"entry":BASE64,"proof":[BASE64,…],"seq":N}`, canonical JSON;
        /// `details` (salt || details bytes) is left out when withheld.
        public var line: [UInt8] {
            var o: [String: JSONValue] = ["seq": .integer(seq), "entry": .string(Base64.encode(entry)),
                                          "proof": .array(proof.map { .string(Base64.encode($0)) })]
            if let details { o["details"] = .string(Base64.encode(details.bytes)) }
            return (try? CanonicalJSON.encode(.object(o))) ?? []
        }

        /// Reads a line as written: canonical JSON with exactly the members `entry`, `proof`,
        /// `seq`, and `details` unless withheld.
        public init(line: [UInt8]) throws {
            guard let json = try? JSONParser.parse(line, mode: .canonical), let members = json.objectValue.map({ Set($0.keys) }),
                members == ["entry", "proof", "seq"] || members == ["details", "entry", "proof", "seq"],
                let seq = json["seq"]?.integerValue,
                let entry = json["entry"]?.stringValue.flatMap(Base64.decode), let proof = json["proof"]?.arrayValue
            else { throw Failure("an entries.jsonl line is not {\"seq\", \"entry\", \"proof\"} with, unless withheld, \"details\"") }
            let hashes = try proof.map { v in
                guard let h = v.stringValue.flatMap(Base64.decode), h.count == Merkle.hashSize else { throw Failure("a proof hash is not base64 SHA-256") }
                return h
            }
            var details: SealedDetails?
            if let d = json["details"] {
                guard let bytes = d.stringValue.flatMap(Base64.decode), let sealed = SealedDetails(bytes: bytes) else {
                    throw Failure("the details at seq \(seq) are not base64 of a 32-byte salt and the details")
                }
                details = sealed
            }
            self.init(seq: seq, entry: entry, proof: hashes, details: details)
        }
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let why: String
        public init(_ why: String) { self.why = why }
        public var description: String { "the evidence bundle does not hold: \(why)" }
    }

    /// What a checked bundle shows.
    public struct Checked: Sendable {
        public let checkpoint: Checkpoint
        public let caseID: String
        /// The case's events, in order.
        public let events: [Envelope]
        public let governance: Int
        /// The details of each record that carries them, by seq, each matching its envelope's digest.
        public let details: [Int64: [String: JSONValue]]
        /// How many format-2 records have their details withheld (the bundle holds their facts only).
        public let withheld: Int
        /// How many of the case's records are of format 1 with details, which are inside what is
        /// signed and so always in the bundle.
        public let inline: Int
    }

    /// The governance types a bundle holds: what the rules of the log are built from.
    public static let governance: Set<String> = [LogType.genesis, LogType.keyEnrolled, LogType.keyRevoked, LogType.policySet, LogType.rootRotated]

    /// Checks every item, in the order given (strictly increasing seq), against `checkpoint` (already opened with the log's key): each is
    /// included at its seq, its envelope is canonical, signed by the key its actor names and
    /// allowed by the log's rules as of the governance entries before it, the first being a
    /// genesis naming `root`. The items must hold one case's events and governance only.
    public static func check(_ items: [Item], checkpoint: Checkpoint, root: PublicKey) throws -> Checked {
        guard !items.isEmpty else { throw Failure("it holds no entries") }
        guard items.first?.seq == 0 else { throw Failure("it does not start with the log's genesis (seq 0)") }
        var state = LedgerState()
        var caseID: String? = nil
        var events: [Envelope] = []
        var governance = 0
        var details: [Int64: [String: JSONValue]] = [:]
        var withheld = 0
        var inline = 0
        var previous: Int64 = -1
        for item in items {
            guard item.seq > previous else { throw Failure("the entries are not in increasing seq order (seq \(item.seq) after \(previous))") }
            previous = item.seq
            do { try Merkle.verifyInclusion(index: item.seq, size: checkpoint.size, leafHash: Merkle.leafHash(item.entry), proof: item.proof, root: checkpoint.root) } catch {
                throw Failure("the entry at seq \(item.seq) is not in the checkpointed log (\(error))")
            }
            guard item.entry.count > 4 + SigningKey.signatureByteCount else { throw Failure("the entry at seq \(item.seq) is too short") }
            let n = Int(item.entry.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            guard item.entry.count == 4 + n + SigningKey.signatureByteCount else { throw Failure("the entry at seq \(item.seq) has the wrong length") }
            let signed = Array(item.entry[4..<(4 + n)]), signature = Array(item.entry.suffix(SigningKey.signatureByteCount))
            let envelope: Envelope
            do { envelope = try Envelope(json: JSONParser.parse(signed, mode: .canonical)) } catch {
                throw Failure("the entry at seq \(item.seq) is not a canonical envelope (\(error))")
            }
            guard envelope.seq == item.seq else { throw Failure("the entry listed at seq \(item.seq) says seq \(envelope.seq)") }
            if item.seq == 0, let g = try? LedgerState.genesisInfo(envelope) {
                guard g.rootPublicKey == root else { throw Failure("the log's genesis names root key \(g.rootPublicKey.keyID), not the trusted one \(root.keyID)") }
                guard sameBytes(g.origin, checkpoint.origin) else { throw Failure("the log's genesis has origin '\(g.origin)', the checkpoint '\(checkpoint.origin)'") }
            }
            do {
                try state.check(envelope)
                guard state.signaturesHold(envelope, signedBytes: signed, signature: signature, actorKey: try state.signingKey(for: envelope)) else {
                    throw Failure("the signature at seq \(item.seq) does not verify")
                }
            } catch let r as RuleViolation { throw Failure("seq \(item.seq): \(r)") }
            switch (envelope.details, item.details) {
            case (.inline, nil): break
            case (.inline, _?): throw Failure("seq \(item.seq) is a format 1 record, whose details are inside it, yet the bundle adds a details record")
            case (.committed, nil): withheld += 1
            case (.committed(let digest), let record?):
                if let problem = record.problem(against: digest) { throw Failure("the details at seq \(item.seq) are not the ones its record commits to: \(problem)") }
                details[item.seq] = try? record.open()
            }
            state.apply(envelope, entryHash: Merkle.leafHash(item.entry))
            if Self.governance.contains(envelope.type) {
                governance += 1
            } else {
                guard LogType.family(of: envelope.type) != LogType.governanceFamily else {
                    throw Failure("seq \(item.seq) is \(envelope.type), which a bundle does not hold (only genesis, keys and policies, and the case's events)")
                }
                guard caseID == nil || envelope.caseID == caseID else { throw Failure("it mixes cases (\(caseID!), \(envelope.caseID ?? "none"))") }
                caseID = envelope.caseID
                events.append(envelope)
                if case .inline(let d) = envelope.details, !d.isEmpty { inline += 1 }
            }
        }
        guard let caseID else { throw Failure("it holds no case events") }
        return Checked(checkpoint: checkpoint, caseID: caseID, events: events, governance: governance, details: details, withheld: withheld, inline: inline)
    }
}
