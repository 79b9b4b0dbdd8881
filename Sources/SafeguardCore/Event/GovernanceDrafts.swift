/// Builders for the governance events the CLI writes (docs/FORMAT.md, "Governance events").
public enum GovernanceDrafts {
    public static func genesis(partnership: String, origin: String, root: PublicKey, at: Timestamp) -> EventDraft {
        EventDraft(type: LogType.genesis, caseID: nil, occurredAt: at, facts: [
            "partnership": .string(partnership), "origin": .string(origin), "root_public_key": .string(root.base64),
        ])
    }

    /// A `policy_set` event recording `document` (a whole policy document, of which `Policy`
    /// reads the permissions).
    public static func policy(document: JSONValue, at: Timestamp) -> EventDraft {
        EventDraft(type: LogType.policySet, caseID: nil, occurredAt: at, facts: ["policy": document])
    }

    public static func enrolment(of key: PublicKey, agency: String, role: String, practitioner: String, replacing: String? = nil, at: Timestamp) -> EventDraft {
        var facts: [String: JSONValue] = [
            "public_key": .string(key.base64), "key_id": .string(key.keyID), "agency": .string(agency),
            "role": .string(role), "practitioner": .string(practitioner),
        ]
        if let replacing { facts["replaces"] = .string(replacing) }
        return EventDraft(type: LogType.keyEnrolled, caseID: nil, occurredAt: at, facts: facts)
    }

    /// The hand-over from the root key `old` to `new` in the log `origin`, with `new`'s
    /// signature accepting it (docs/FORMAT.md §8.6); signed, when appended, by `old`.
    public static func rootRotation(to new: SigningKey, from old: PublicKey, origin: String, practitioner: String, at: Timestamp) -> EventDraft {
        let acceptance = new.sign(LedgerState.rotationMessage(origin: origin, from: old.keyID, to: new.publicKey.keyID))
        return EventDraft(type: LogType.rootRotated, caseID: nil, occurredAt: at, facts: [
            "public_key": .string(new.publicKey.base64), "key_id": .string(new.publicKey.keyID),
            "practitioner": .string(practitioner), "acceptance": .string(Base64.encode(acceptance)),
        ])
    }

    /// Names `key` as the log's checkpoint key (docs/FORMAT.md §8.7).
    public static func logKey(_ key: PublicKey, at: Timestamp) -> EventDraft {
        EventDraft(type: LogType.logKeySet, caseID: nil, occurredAt: at, facts: ["public_key": .string(key.base64), "key_id": .string(key.keyID)])
    }

    public static func revocation(of keyID: String, reason: String, compromisedSince: Int64? = nil, at: Timestamp) -> EventDraft {
        var facts: [String: JSONValue] = ["key_id": .string(keyID), "reason": .string(reason)]
        if let compromisedSince { facts["compromised_since"] = .integer(compromisedSince) }
        return EventDraft(type: LogType.keyRevoked, caseID: nil, occurredAt: at, facts: facts)
    }
}
