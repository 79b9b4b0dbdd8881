import SafeguardCatalogue
import SafeguardCore

extension Ledger {
    /// The events of one case, in order, parsed (the stored bytes are canonical; `verify`
    /// checks them cryptographically).
    public func caseEvents(_ caseID: String) throws -> [Envelope] {
        var out: [Envelope] = []
        try forEach(Filter(caseID: caseID)) { row in
            out.append(try Envelope(json: JSONParser.parse(row.envelope, mode: .canonical)))
        }
        return out
    }

    /// The policy document in force at the head.
    public func policyDocument() throws -> PolicyDocument {
        guard let doc = try state().policyDocument else { throw LedgerError.sqlite(path: path, message: "the ledger has no policy yet") }
        return try PolicyDocument(json: doc)
    }
}
