import Foundation
import SafeguardCore
import SafeguardStore

extension ServiceAPI {
    /// GET /v1/cases/{case_id}/keys (docs/SERVICE.md "Sealed details"): what a client needs to
    /// seal a case's next record on its own machine. Ciphertext and public keys only: the
    /// service holds no case key and cannot open a copy.
    public typealias CaseKeys = Ledger.CaseKeys
}

extension Ledger.CaseKeys {
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "case_id": .string(caseID), "policy_version": .integer(policyVersion), "sealing": sealing.json,
            "copies": .object(copies.mapValues { c in
                var o: [String: JSONValue] = ["wrapped": .string(Base64.encode(c.wrapped)), "wrapped_by": .string(c.wrappedBy)]
                if let k = c.wrappedByKey { o["wrapped_by_key"] = .string(k.base64) }
                if let a = c.wrappedByAgency { o["wrapped_by_agency"] = .string(a) }
                return .object(o)
            }),
        ]
        if let entitled { o["entitled"] = .array(entitled.sorted().map { .string($0) }) }
        if let f = firstSealed { o["first_sealed_seq"] = .integer(f) }
        return .object(o)
    }

    public init(json: JSONValue) throws(ServiceError) {
        func bad(_ what: String) -> ServiceError { .badReceipt("its answer for the case's keys is not usable (\(what))") }
        guard let c = json["case_id"]?.stringValue, let v = json["policy_version"]?.integerValue,
            let keys = json["sealing"]?["agency_keys"]?.objectValue, let every = json["sealing"]?["every_case"]?.arrayValue,
            let copies = json["copies"]?.objectValue else { throw bad("members missing") }
        var agencyKeys: [String: PublicKey] = [:]
        for (a, k) in keys {
            guard let pk = k.stringValue.flatMap(PublicKey.init(base64:)) else { throw bad("agency key of \(a)") }
            agencyKeys[a] = pk
        }
        var out: [String: Copy] = [:]
        for (a, copy) in copies {
            guard let w = copy["wrapped"]?.stringValue.flatMap(Base64.decode), let by = copy["wrapped_by"]?.stringValue else { throw bad("copy for \(a)") }
            out[a] = Copy(wrapped: w, wrappedBy: by, wrappedByKey: copy["wrapped_by_key"]?.stringValue.flatMap(PublicKey.init(base64:)),
                          wrappedByAgency: copy["wrapped_by_agency"]?.stringValue)
        }
        self.init(caseID: c, policyVersion: v, sealing: Policy.Sealing(agencyKeys: agencyKeys, everyCase: Set(every.compactMap(\.stringValue))),
                  entitled: json["entitled"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }, copies: out, firstSealed: json["first_sealed_seq"]?.integerValue)
    }

    /// The case's key for a client of `agency` holding `agencyKey`: a new one if the case has
    /// no sealed record yet (no agency key needed), else the agency's copy, unwrapped; the
    /// copy's box authenticates the enrolled key that wrapped it, which the service names, and
    /// the case it was wrapped for (docs/FORMAT.md §3.5). (A local writer also checks the copy
    /// opens the case's first sealed record; a client of the service does so when it reads,
    /// which is recorded first.) To seal (`toSeal`), only a copy bound to the case will do.
    /// Also: the agencies holding a copy.
    public func key(agency: String, agencyKey: SigningKey?, toSeal: Bool = true, newKey: () -> CaseKey = CaseKey.generate) throws(ServiceError)
        -> (key: CaseKey, holders: Set<String>)
    {
        guard firstSealed != nil else { return (newKey(), []) }
        func refuse(_ message: String) -> ServiceError { ServiceError(status: 0, code: "case_key", message: message + ": nothing was recorded", exitCode: 3) }
        guard let copy = copies[agency] else {
            if copies.isEmpty {
                throw refuse("case \(caseID)'s records are sealed but the log holds no key for them: tell the partnership (the ledger must be restored from a backup)")
            }
            if sealing.everyCase.union(entitled ?? []).contains(agency) {
                throw refuse("\(agency) is entitled to case \(caseID) but holds no copy of its key yet: a practitioner of an agency that holds one runs 'safeguard policy rewrap' on the ledger's machine")
            }
            throw refuse("\(agency) is not entitled to case \(caseID)'s details: an entitled agency records sharing.shared with it first")
        }
        guard let agencyKey else {
            throw refuse("the ledger seals case details (policy version \(policyVersion)): give \(agency)'s key with --agency-key FILE (or $SAFEGUARD_AGENCY_KEY)")
        }
        guard sealing.agencyKeys[agency] == agencyKey.publicKey else {
            throw refuse("the agency key given (\(agencyKey.publicKey.keyID)) is not \(agency)'s key in policy version \(policyVersion): give \(agency)'s agency key")
        }
        guard let by = copy.wrappedByKey, by.keyID == copy.wrappedBy, let (key, binding) = CaseKey.unwrap(copy.wrapped, with: agencyKey, by: by, caseID: caseID) else {
            throw refuse("\(agency)'s copy of case \(caseID)'s key (wrapped by \(copy.wrappedBy)) does not open with \(agency)'s key: it was made wrongly or the log's file altered; a practitioner of an agency whose copy opens runs 'safeguard policy rewrap --case \(caseID)' on the ledger's machine")
        }
        // A copy from before copies were bound to their case could be another case's, moved
        // by someone who can write the log's file: this machine cannot check it against the
        // case's records without reading them unrecorded, so it seals nothing under it (a
        // reader opens the records it fetched, each checked against its signed entry).
        guard binding == .bound || !toSeal else {
            throw refuse("\(agency)'s copy of case \(caseID)'s key was written before copies were bound to their case: a practitioner of \(agency) runs 'safeguard policy rewrap' on the ledger's machine once, to bind them")
        }
        // Any enrolled practitioner can wrap a key of their choosing for any agency, and
        // someone who can write the log's file can store it. A copy wrapped by a key of an
        // agency entitled to the case gives its maker nothing they do not hold already; any
        // other is not sealed under.
        guard !toSeal || copy.wrappedByAgency.map(sealing.everyCase.union(entitled ?? []).contains) == true else {
            throw refuse("\(agency)'s copy of case \(caseID)'s key was wrapped by \(copy.wrappedBy), a key of \(copy.wrappedByAgency ?? "no enrolled practitioner"), which is not entitled to the case: someone wrote it into the log's file; a practitioner of an agency whose copy opens runs 'safeguard policy rewrap --case \(caseID)' on the ledger's machine")
        }
        return (key, Set(copies.keys))
    }
}

extension ServiceAPI {
    /// GET /v1/cases/{case_id}/readings/{event_id}: the sealed records a recorded reading names,
    /// each with its signed entry, for the reader's machine to check and open.
    public struct Reading: Sendable {
        public let records: [StoredEntry]

        public init(records: [StoredEntry]) { self.records = records }

        public var json: JSONValue {
            .object(["records": .array(records.map { e in
                .object([
                    "seq": .integer(e.seq), "signed_bytes": .string(Base64.encode(e.envelope)), "log_signature": .string(Base64.encode(e.signature)),
                    "details_salt": .string(Base64.encode(e.details?.salt ?? [])), "sealed_details": .string(Base64.encode(e.details?.body ?? [])),
                ])
            })])
        }

        /// Reads the answer, accepting only signed entries of case `caseID` that the reading
        /// names, whose details digest commits to the sealed record sent: each with its
        /// envelope. An entry the service placed (format 3) must be signed by the log key; one
        /// written before the service took over, by its actor's enrolled key (`actorKey`).
        public static func records(json: JSONValue, caseID: String, named: Set<String>, logKey: PublicKey,
                                   actorKey: (String) throws -> PublicKey?) throws -> [(Envelope, SealedDetails)] {
            guard let items = json["records"]?.arrayValue else { throw ServiceError.badReceipt("its answer for the reading has no records") }
            var out: [(Envelope, SealedDetails)] = []
            for item in items {
                guard let bytes = item["signed_bytes"]?.stringValue.flatMap(Base64.decode), let sig = item["log_signature"]?.stringValue.flatMap(Base64.decode),
                    let salt = item["details_salt"]?.stringValue.flatMap(Base64.decode), let body = item["sealed_details"]?.stringValue.flatMap(Base64.decode),
                    let e = try? Envelope(json: JSONParser.parse(bytes, mode: .canonical)) else { throw ServiceError.badReceipt("a record of the reading is incomplete") }
                let details = SealedDetails(salt: salt, body: body)
                let signed = e.actorSignature != nil ? logKey.verify(signature: sig, message: Envelope.entryMessage(bytes))
                    : (try actorKey(e.actor.keyID))?.verify(signature: sig, message: bytes) == true
                guard signed, e.caseID.map({ sameBytes($0, caseID) }) == true, named.contains(e.eventID), e.details.digest == details.digest else {
                    throw ServiceError.badReceipt("a record it sent (seq \(e.seq)) is not one the log key signed for this reading of case \(caseID)")
                }
                out.append((e, details))
            }
            return out
        }
    }
}
