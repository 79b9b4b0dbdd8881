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
    private var keys: [String: CaseKey] = [:]
    private var pending: [String: CaseKey] = [:]

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
    /// none yet), with every agency entitled to the case holding a wrapped copy.
    func key(for caseID: String, agency: String, sealing: Policy.Sealing, entitled: Set<String>, policyVersion: Int64, db: Database) throws -> CaseKey {
        let wraps = try Dictionary(Row.fetchAll(db, sql: "SELECT agency, wrapped FROM case_keys WHERE case_id = ?", arguments: [caseID]).compactMap { row -> (String, [UInt8])? in
            guard let a = row[0] as String?, let w = row[1] as Data? else { return nil }
            return (a, [UInt8](w))
        }, uniquingKeysWith: { a, _ in a })
        let key: CaseKey
        if let known = pending[caseID] ?? keys[caseID], !wraps.isEmpty {
            key = known
        } else if wraps.isEmpty {
            // A case with no key yet: opened now, or before its ledger's policy sealed details.
            key = synthetic.map { CaseKey.synthetic($0()) } ?? CaseKey.generate()
        } else {
            guard let wrapped = wraps[agency] else {
                throw Refusal(description: "\(agency) is not entitled to case \(caseID)'s details: an entitled agency records sharing.shared with it first")
            }
            guard let agencyKey else {
                throw Refusal(description: "the ledger seals case details (policy version \(policyVersion)): give \(agency)'s key with --agency-key FILE (or $SAFEGUARD_AGENCY_KEY)")
            }
            guard sealing.agencyKeys[agency] == agencyKey.publicKey else {
                throw Refusal(description: "the agency key given (\(agencyKey.publicKey.keyID)) is not \(agency)'s key in policy version \(policyVersion): give \(agency)'s agency key")
            }
            guard let opened = CaseKey.unwrap(wrapped, with: agencyKey) else {
                throw Refusal(description: "case \(caseID)'s key wrapped for \(agency) does not open with \(agency)'s key: the file's case_keys table was altered; run 'safeguard doctor'")
            }
            key = opened
        }
        pending[caseID] = key
        try wrap(key, case: caseID, for: entitled.union(sealing.everyCase), sealing: sealing, have: Set(wraps.keys), db: db)
        return key
    }

    /// Wraps `key` for each agency of `agencies` that has no copy yet.
    func wrap(_ key: CaseKey, case caseID: String, for agencies: Set<String>, sealing: Policy.Sealing, have: Set<String>, db: Database) throws {
        for agency in agencies.subtracting(have).sorted() {
            guard let public_ = sealing.agencyKeys[agency], let wrapped = key.wrap(for: public_) else {
                throw Refusal(description: "the policy gives \(agency) no usable agency key")
            }
            try db.execute(sql: "INSERT OR IGNORE INTO case_keys (case_id, agency, wrapped) VALUES (?, ?, ?)", arguments: [caseID, agency, Data(wrapped)])
        }
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
            let wrapped = try db.cachedStatement(sql: "SELECT wrapped FROM case_keys WHERE case_id = ? AND agency = ?")
            let agency = try self.agency(of: agencyKey, db)
            for row in rows {
                guard let c = row.caseID, let record = row.details, record.isSealed else { continue }
                if keys[c] == nil {
                    keys[c] = try Data.fetchOne(wrapped, arguments: [c, agency]).flatMap { CaseKey.unwrap([UInt8]($0), with: agencyKey) }
                }
                if let key = keys[c] ?? nil, let d = record.open(with: key, eventID: row.eventID, caseID: c) { out[row.seq] = d }
            }
            return out
        }
    }

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
