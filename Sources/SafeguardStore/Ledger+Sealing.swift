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
    /// no sealed record yet), with every agency entitled to the case holding a wrapped copy.
    /// The `case_keys` table is not signed, so a wrapped key is trusted only if it opens the
    /// case's first sealed record (which the log commits to): a key planted in the file is
    /// refused, and rows planted for a case with no sealed record are replaced.
    func key(for caseID: String, agency: String, writer: SigningKey, registry: KeyRegistry, sealing: Policy.Sealing, entitled: () -> Set<String>,
             policyVersion: Int64, db: Database) throws -> CaseKey {
        if let known = pending[caseID] ?? keys[caseID] {
            // Openings, shares and transfers add their copies as they are recorded (`shared`);
            // a policy that entitles more agencies to every case, here.
            if !sealing.everyCase.isSubset(of: known.wrapped) {
                pending[caseID] = (known.key, try wrap(known.key, case: caseID, for: sealing.everyCase, by: writer, sealing: sealing, have: known.wrapped, db: db))
            }
            return known.key
        }
        let wanted = entitled().union(sealing.everyCase)
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
                throw Refusal(description: "\(agency) is not entitled to case \(caseID)'s details: an entitled agency records sharing.shared with it first")
            }
            guard let agencyKey else {
                throw Refusal(description: "the ledger seals case details (policy version \(policyVersion)): give \(agency)'s key with --agency-key FILE (or $SAFEGUARD_AGENCY_KEY)")
            }
            guard sealing.agencyKeys[agency] == agencyKey.publicKey else {
                throw Refusal(description: "the agency key given (\(agencyKey.publicKey.keyID)) is not \(agency)'s key in policy version \(policyVersion): give \(agency)'s agency key")
            }
            guard let by = registry[wrapped.by]?.publicKey, let opened = CaseKey.unwrap(wrapped.wrapped, with: agencyKey, by: by),
                let id = first?[0] as String?, let body = first?[1] as Data?,
                opened.open([UInt8](body), eventID: id, caseID: caseID) != nil else {
                throw Refusal(description: "case \(caseID)'s key wrapped for \(agency) does not open its sealed records: the file's case_keys table was altered; restore it from a backup and run 'safeguard doctor'")
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
            guard let public_ = sealing.agencyKeys[agency], let wrapped = key.wrap(for: public_, by: writer, shared: &shared) else {
                throw Refusal(description: "the policy gives \(agency) no usable agency key")
            }
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO case_keys (case_id, agency, wrapped, wrapped_by) VALUES (?, ?, ?, ?)")
                .execute(arguments: [caseID, agency, Data(wrapped), writer.publicKey.keyID])
        }
        return have.union(agencies)
    }

    /// X25519 shared keys of writer and agency, computed once each.
    private var shared: [String: [UInt8]] = [:]

    /// After a share: `agency` holds a copy of the case's key too.
    func shared(_ caseID: String, with agency: String, by writer: SigningKey, sealing: Policy.Sealing, db: Database) throws {
        guard let known = pending[caseID] ?? keys[caseID], !known.wrapped.contains(agency), sealing.agencyKeys[agency] != nil else { return }
        pending[caseID] = (known.key, try wrap(known.key, case: caseID, for: [agency], by: writer, sealing: sealing, have: known.wrapped, db: db))
    }
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
                        return CaseKey.unwrap([UInt8](w), with: agencyKey, by: by)
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
