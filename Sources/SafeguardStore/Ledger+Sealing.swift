import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore

/// The case keys a writer seals details with (docs/FORMAT.md §3.5), and the agency key it
/// unwraps them with. One per writer: unwrapped keys are kept for the next append (a bulk
/// import seals many events of one case), and forgotten if an append is rolled back.
public final class CaseKeyring: @unchecked Sendable {
    /// The recording agency's key (`safeguard keys generate`, named in the policy's
    /// `sealing.agency_keys`): nil when the writer has none, which is enough to open cases.
    public let agencyKey: SigningKey?
    /// Each case's key, with the agencies known to hold a wrapped copy of it.
    private var keys: [String: (key: CaseKey, wrapped: Set<String>)] = [:]
    private var pending: [String: (key: CaseKey, wrapped: Set<String>)] = [:]
    /// Where case keys and nonces come from: nil, libsodium's generator (every real
    /// recording); a synthetic ledger that must come out the same from a seed gives its own.
    let synthetic: (() -> [UInt8])?

    public init(agencyKey: SigningKey?, synthetic: (() -> [UInt8])? = nil) { self.agencyKey = agencyKey; self.synthetic = synthetic }

    /// A nonce for the next sealed record: nil for a random one.
    func nonce() -> [UInt8]? { synthetic?() }

    /// Why a case's details cannot be sealed or opened by this writer.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    func commit() { keys.merge(pending) { _, new in new }; pending = [:] }
    func rollback() { pending = [:] }

    /// The key of case `caseID`, unwrapped with the agency key (or made, for a case that has
    /// no sealed record yet), with each agency of `holders` (`Policy.Sealing.holders`) holding
    /// a wrapped copy.
    /// The `case_keys` table is not signed, so a wrapped key is trusted only if it opens the
    /// case's first sealed record (which the log commits to): a key planted in the file is
    /// refused, and rows planted for a case with no sealed record are replaced.
    func key(for caseID: String, agency: String, writer: SigningKey, registry: KeyRegistry, sealing: Policy.Sealing, holders wanted: Set<String>,
             policyVersion: Int64, db: Database) throws -> CaseKey {
        if let known = pending[caseID] ?? keys[caseID] {
            // Shares and transfers add their copies as they are recorded, and so does a policy
            // that entitles more agencies to every case.
            if !wanted.isSubset(of: known.wrapped) {
                pending[caseID] = (known.key, try wrap(known.key, case: caseID, for: wanted, by: writer, sealing: sealing, have: known.wrapped, db: db))
            }
            return known.key
        }
        var wraps = try Dictionary(Row.fetchAll(try db.cachedStatement(sql: "SELECT agency, wrapped, wrapped_by FROM case_keys WHERE case_id = ?"), arguments: [caseID]).compactMap { row -> (String, (wrapped: [UInt8], by: String))? in
            guard let a = row[0] as String?, let w = row[1] as Data?, let by = row[2] as String? else { return nil }
            return (a, ([UInt8](w), by))
        }, uniquingKeysWith: { a, _ in a })
        let first = try Row.fetchOne(try db.cachedStatement(sql: """
            SELECT events.event_id, details.body FROM events JOIN details USING (seq)
            WHERE events.case_id = ? AND substr(details.body, 1, 1) = x'01' ORDER BY events.seq LIMIT 1
            """), arguments: [caseID])
        let key: CaseKey
        if first == nil {
            // No sealed record yet: a case opened now, or before its ledger's policy sealed
            // details. Rows already there commit to nothing: they are replaced.
            if !wraps.isEmpty {
                try db.execute(sql: "DELETE FROM case_keys WHERE case_id = ?", arguments: [caseID])
                wraps = [:]
            }
            key = synthetic.map { CaseKey.synthetic($0()) } ?? CaseKey.generate()
        } else {
            guard !wraps.isEmpty else {
                throw Refusal(description: "case \(caseID)'s records are sealed but the file holds no key for them, and no retention review destroyed them: the case_keys table was emptied; restore the file from a backup and run 'safeguard doctor'")
            }
            guard let wrapped = wraps[agency] else {
                if wanted.contains(agency) {
                    throw Refusal(description: "\(agency) is entitled to case \(caseID) but holds no copy of its key yet: a practitioner of an agency that holds one runs 'safeguard policy rewrap'")
                }
                throw Refusal(description: "\(agency) is not entitled to case \(caseID)'s details: an entitled agency records sharing.shared with it first")
            }
            guard let agencyKey else {
                throw Refusal(description: "the ledger seals case details (policy version \(policyVersion)): give \(agency)'s key with --agency-key FILE (or $SAFEGUARD_AGENCY_KEY)")
            }
            guard sealing.agencyKeys[agency] == agencyKey.publicKey else {
                throw Refusal(description: "the agency key given (\(agencyKey.publicKey.keyID)) is not \(agency)'s key in policy version \(policyVersion): give \(agency)'s agency key")
            }
            guard let by = registry[wrapped.by]?.publicKey, let opened = CaseKey.unwrap(wrapped.wrapped, with: agencyKey, by: by, caseID: caseID)?.key,
                let id = first?[0] as String?, let body = first?[1] as Data?,
                opened.open([UInt8](body), eventID: id, caseID: caseID) != nil else {
                throw Refusal(description: "\(agency)'s copy of case \(caseID)'s key (wrapped by \(wrapped.by)) does not open its first sealed record: it was made wrongly or the file altered; a practitioner of an agency whose copy opens runs 'safeguard policy rewrap --case \(caseID)', and 'safeguard doctor' checks the file")
            }
            key = opened
        }
        pending[caseID] = (key, try wrap(key, case: caseID, for: wanted, by: writer, sealing: sealing, have: Set(wraps.keys), db: db))
        return key
    }

    /// Wraps `key` for each agency of `agencies` that has no copy yet; the agencies that hold one.
    @discardableResult
    func wrap(_ key: CaseKey, case caseID: String, for agencies: Set<String>, by writer: SigningKey, sealing: Policy.Sealing, have: Set<String>,
              db: Database) throws -> Set<String> {
        for agency in agencies.subtracting(have).sorted() {
            guard let public_ = sealing.agencyKeys[agency], let wrapped = key.wrap(for: public_, by: writer, caseID: caseID, shared: &shared) else {
                throw Refusal(description: "the policy gives \(agency) no usable agency key")
            }
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO case_keys (case_id, agency, wrapped, wrapped_by) VALUES (?, ?, ?, ?)")
                .execute(arguments: [caseID, agency, Data(wrapped), writer.publicKey.keyID])
        }
        return have.union(agencies)
    }

    /// X25519 shared keys of writer and agency, computed once each.
    private var shared: [String: [UInt8]] = [:]
}

extension Ledger {
    /// The details of case events, opened with `agencyKey` where its agency holds the case's
    /// key: each record's details (nil where the record is not sealed, the agency holds no
    /// key for the case, or the record does not open). Throws only if the key is not an
    /// agency key of the policy in force.
    public func openDetails(_ rows: [StoredEntry], agencyKey: SigningKey) throws -> [Int64: [String: JSONValue]] {
        try db.read { db in
            var keys: [String: CaseKey?] = [:]
            var out: [Int64: [String: JSONValue]] = [:]
            let wrapped = try db.cachedStatement(sql: "SELECT wrapped, wrapped_by FROM case_keys WHERE case_id = ? AND agency = ?")
            let agency = try self.agency(of: agencyKey, db)
            let registry = try Self.state(db, path: path).registry
            for row in rows {
                guard let c = row.caseID, let record = row.details, record.isSealed, row.detailsAreCommitted else { continue }
                if keys[c] == nil {
                    keys[c] = try Row.fetchOne(wrapped, arguments: [c, agency]).flatMap { row -> CaseKey? in
                        guard let w = row[0] as Data?, let by = (row[1] as String?).flatMap({ registry[$0]?.publicKey }) else { return nil }
                        return CaseKey.unwrap([UInt8](w), with: agencyKey, by: by, caseID: c)?.key
                    }
                }
                if let key = keys[c] ?? nil, let d = record.open(with: key, eventID: row.eventID, caseID: c) { out[row.seq] = d }
            }
            return out
        }
    }

    /// The agency whose key `key` is in the policy in force, which must seal.
    public func agency(of key: SigningKey) throws -> String { try db.read { try agency(of: key, $0) } }

    /// The agency whose key `key` is in the latest policy that seals.
    func agency(of key: SigningKey, _ db: Database) throws -> String {
        let state = try Self.state(db, path: path)
        guard let sealing = state.policy?.sealing else {
            throw CaseKeyring.Refusal(description: "the policy in force seals nothing: there is no agency key to give")
        }
        guard let agency = sealing.agencyKeys.first(where: { $0.value == key.publicKey })?.key else {
            throw CaseKeyring.Refusal(description: "the key given (\(key.publicKey.keyID)) is no agency's key in policy version \(state.policy?.version ?? 0)")
        }
        return agency
    }
}

extension Ledger {
    /// How many details records the case's events have in the file.
    public func detailsRecordCount(of caseID: String) throws -> Int {
        try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM details JOIN events USING (seq) WHERE events.case_id = ?", arguments: [caseID]) ?? 0 }
    }

    /// The retention review that destroyed case `caseID`'s details, if one did: its sequence
    /// number and when it was recorded.
    public func erasure(of caseID: String) throws -> (seq: Int64, recordedAt: String)? {
        try db.read { db in
            try Row.fetchOne(db, sql: """
                SELECT seq, recorded_at FROM events WHERE type = 'governance.retention_review' AND instr(envelope, ?) > 0
                AND instr(envelope, '"decision":"destroyed"') > 0 ORDER BY seq LIMIT 1
                """, arguments: ["\"case_ref\":\"\(caseID)\""]).map { ($0[0] as Int64, $0[1] as String) }
        }
    }
}

extension Ledger {
    /// What a client of the log service needs to seal a case's next record (docs/SERVICE.md
    /// "Sealed details"): the sealing policy in force, the agencies entitled to the case, the
    /// wrapped copies of its key, and whether it has sealed records (no ciphertext: reading
    /// one is recorded first).
    public struct CaseKeys: Sendable {
        public struct Copy: Sendable {
            public let wrapped: [UInt8]
            /// The enrolled key that wrapped it, its public key and its agency (nil: not enrolled).
            public let wrappedBy: String
            public let wrappedByKey: PublicKey?
            public let wrappedByAgency: String?
            public init(wrapped: [UInt8], wrappedBy: String, wrappedByKey: PublicKey?, wrappedByAgency: String?) {
                self.wrapped = wrapped; self.wrappedBy = wrappedBy; self.wrappedByKey = wrappedByKey; self.wrappedByAgency = wrappedByAgency
            }
        }
        public let caseID: String
        public let policyVersion: Int64
        public let sealing: Policy.Sealing
        /// The agencies entitled to the case besides `every_case`; nil for a case not opened.
        public let entitled: Set<String>?
        /// Each agency's copy of the case's key.
        public let copies: [String: Copy]
        /// The sequence number of the case's first sealed record; nil if it has none.
        public let firstSealed: Int64?

        public init(caseID: String, policyVersion: Int64, sealing: Policy.Sealing, entitled: Set<String>?, copies: [String: Copy], firstSealed: Int64?) {
            self.caseID = caseID; self.policyVersion = policyVersion; self.sealing = sealing; self.entitled = entitled; self.copies = copies; self.firstSealed = firstSealed
        }
    }

    /// The keys of case `caseID`, or nil if the policy in force seals nothing.
    public func caseKeys(of caseID: String) throws -> CaseKeys? {
        do {
            return try db.read { db in
                let state = try Self.state(db, path: path)
                guard let sealing = state.policy?.sealing else { return nil }
                var copies: [String: CaseKeys.Copy] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT agency, wrapped, wrapped_by FROM case_keys WHERE case_id = ?", arguments: [caseID]) {
                    guard let a = row[0] as String?, let w = row[1] as Data?, let by = row[2] as String? else { continue }
                    copies[a] = CaseKeys.Copy(wrapped: [UInt8](w), wrappedBy: by, wrappedByKey: state.registry.records[by]?.publicKey,
                                              wrappedByAgency: state.registry.records[by]?.actor.agency)
                }
                let first = try Int64.fetchOne(db, sql: """
                    SELECT events.seq FROM events JOIN details USING (seq)
                    WHERE events.case_id = ? AND substr(details.body, 1, 1) = x'01' ORDER BY events.seq LIMIT 1
                    """, arguments: [caseID])
                let entitled = try LedgerContext(db: db).caseRecord(caseID)?.entitled
                return CaseKeys(caseID: caseID, policyVersion: state.policy?.version ?? 0, sealing: sealing, entitled: entitled, copies: copies, firstSealed: first)
            }
        } catch { throw Self.map(error, path: path) }
    }

    /// The case's events whose sealed details records are in the file: what a reading names.
    public func sealedRecords(of caseID: String) throws -> [(seq: Int64, eventID: String, type: String)] {
        do {
            return try db.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT events.seq, events.event_id, events.type FROM events JOIN details USING (seq)
                    WHERE events.case_id = ? AND substr(details.body, 1, 1) = x'01' ORDER BY events.seq
                    """, arguments: [caseID]).map { ($0[0], $0[1], $0[2]) }
            }
        } catch { throw Self.map(error, path: path) }
    }

    /// The entries (with their sealed details) a recorded reading names: the `access.consulted`
    /// event `consultationID` of case `caseID`, signed by the key `keyID`, recorded at or after
    /// `notBefore`. Nil, with why, if there is no such reading.
    public func reading(_ consultationID: String, of caseID: String, by keyID: String, notBefore: Timestamp) throws -> Result<[StoredEntry], CaseKeyring.Refusal> {
        guard let consultation = try entry(eventID: consultationID) else {
            return .failure(.init(description: "no event \(consultationID) in the log: record the reading (access.consulted) first"))
        }
        let envelope: Envelope
        do { envelope = try Envelope(json: JSONParser.parse(consultation.envelope, mode: .canonical)) } catch {
            return .failure(.init(description: "event \(consultationID) cannot be read"))
        }
        guard envelope.type == "access.consulted", envelope.caseID.map({ sameBytes($0, caseID) }) == true, sameBytes(envelope.actor.keyID, keyID) else {
            return .failure(.init(description: "event \(consultationID) is not a reading of case \(caseID) recorded with your key: record your own (access.consulted)"))
        }
        guard envelope.recordedAt >= notBefore else {
            return .failure(.init(description: "the reading \(consultationID) was recorded at \(envelope.recordedAt), too long ago to fetch its records now: record a new reading"))
        }
        let named = Set((envelope.facts["records"]?.arrayValue ?? []).compactMap(\.stringValue))
        do {
            return .success(try db.read { db in
                try Row.fetchAll(db, sql: "\(try Self.selectRows(db)) WHERE events.case_id = ? ORDER BY events.seq", arguments: [caseID])
                    .map { try Self.entry($0) }.filter { named.contains($0.eventID) && $0.details?.isSealed == true }
            })
        } catch { throw Self.map(error, path: path) }
    }
}

extension Ledger {
    /// What `rewrap` did: copies written, the cases they were written for, and the cases that
    /// still lack a copy for some entitled agency because this agency holds none to wrap from.
    public struct Rewrapped: Sendable {
        public var copiesWritten = 0
        public var cases = 0
        public var notHeld: [String] = []
    }

    /// Wraps each case key `agencyKey`'s agency holds again where copies are missing or must be
    /// replaced: for each case with sealed records (those of `only`, if given) whose copy this
    /// agency holds, the copy is opened and trusted only if it opens the case's first sealed
    /// record; then `writer` (an enrolled, unrevoked key) wraps it, bound to the case, for each
    /// agency `Policy.Sealing.holders` names that holds no copy (after a policy adds agencies
    /// to `every_case`, say). Every copy of the case is written again, replacing those there,
    /// when the case is named in `only` (to repair a copy that does not open) or when this
    /// agency's own copy is not bound to its case (written before copies were, docs/FORMAT.md
    /// §3.5); copies for agencies not entitled are removed then. No event is recorded: who is
    /// entitled is already in the log; this only carries it out. One transaction.
    public func rewrap(agencyKey: SigningKey, writer: SigningKey, only: Set<String>? = nil, progress: (Int, Int) -> Void = { _, _ in }) throws -> Rewrapped {
        var out = Rewrapped()
        do {
            try db.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    out = Rewrapped()
                    try Schema.check(db)
                    let state = try Self.state(db, path: path)
                    try Self.checkHead(db, path: path, state: state)
                    let agency = try agency(of: agencyKey, db)
                    guard let sealing = state.policy?.sealing else { return .rollback }
                    guard let enrolled = state.registry[writer.publicKey.keyID], enrolled.publicKey == writer.publicKey, enrolled.revokedAt == nil else {
                        throw CaseKeyring.Refusal(description: "the key given (\(writer.publicKey.keyID)) is not enrolled, or was revoked: give your own enrolled key")
                    }
                    var cases = try String.fetchAll(db, sql: """
                        SELECT DISTINCT events.case_id FROM events JOIN details USING (seq)
                        WHERE events.case_id IS NOT NULL AND substr(details.body, 1, 1) = x'01' ORDER BY events.case_id
                        """)
                    if let only {
                        if let unknown = only.subtracting(cases).sorted().first {
                            throw CaseKeyring.Refusal(description: "case \(unknown) has no sealed record in this ledger (or its details were destroyed): check the case id")
                        }
                        cases = cases.filter(only.contains)
                    }
                    let context = try LedgerContext(db: db)
                    let copies = try db.cachedStatement(sql: "SELECT agency, wrapped, wrapped_by FROM case_keys WHERE case_id = ?")
                    let first = try db.cachedStatement(sql: """
                        SELECT events.event_id, details.body FROM events JOIN details USING (seq)
                        WHERE events.case_id = ? AND substr(details.body, 1, 1) = x'01' ORDER BY events.seq LIMIT 1
                        """)
                    var shared: [String: [UInt8]] = [:]
                    for (i, c) in cases.enumerated() {
                        progress(i, cases.count)
                        let wanted = sealing.holders(after: "", by: agency, entitled: context.caseRecord(c)?.entitled, toAgency: nil)
                        var have: [String: (wrapped: [UInt8], by: String)] = [:]
                        for row in try Row.fetchAll(copies, arguments: [c]) {
                            guard let a = row[0] as String?, let w = row[1] as Data?, let by = row[2] as String? else { continue }
                            have[a] = ([UInt8](w), by)
                        }
                        guard let own = have[agency] else {
                            if !wanted.isSubset(of: have.keys) || only != nil { out.notHeld.append(c) }
                            continue
                        }
                        guard let by = state.registry[own.by]?.publicKey,
                            let (key, binding) = CaseKey.unwrap(own.wrapped, with: agencyKey, by: by, caseID: c),
                            let record = try Row.fetchOne(first, arguments: [c]), let id = record[0] as String?, let body = record[1] as Data?,
                            key.open([UInt8](body), eventID: id, caseID: c) != nil
                        else {
                            throw CaseKeyring.Refusal(description: "\(agency)'s copy of case \(c)'s key does not open its first sealed record: an agency whose copy does run 'safeguard policy rewrap --case \(c)'")
                        }
                        let reissue = only != nil || binding == .unbound
                        let write = reissue ? wanted : wanted.subtracting(have.keys)
                        guard !write.isEmpty || (reissue && !have.isEmpty) else { continue }
                        if reissue { try db.execute(sql: "DELETE FROM case_keys WHERE case_id = ?", arguments: [c]) }
                        for a in write.sorted() {
                            guard let pk = sealing.agencyKeys[a], let wrapped = key.wrap(for: pk, by: writer, caseID: c, shared: &shared) else {
                                throw CaseKeyring.Refusal(description: "the policy gives \(a) no usable agency key")
                            }
                            try db.cachedStatement(sql: "INSERT INTO case_keys (case_id, agency, wrapped, wrapped_by) VALUES (?, ?, ?, ?)")
                                .execute(arguments: [c, a, Data(wrapped), writer.publicKey.keyID])
                        }
                        out.copiesWritten += write.count
                        out.cases += 1
                    }
                    progress(cases.count, cases.count)
                    return .commit
                }
            }
        } catch let r as CaseKeyring.Refusal { throw r } catch { throw Self.map(error, path: path) }
        return out
    }
}
