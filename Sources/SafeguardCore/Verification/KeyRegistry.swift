/// One enrolled key: the binding of a key id to an agency, role and practitioner, and when
/// it was valid (sequence numbers).
public struct KeyRecord: Equatable, Sendable {
    public let publicKey: PublicKey
    public let actor: Actor
    public let enrolledAt: Int64
    public let enrolledBy: String
    public var revokedAt: Int64?
    public var revocationReason: String?
    /// For a key revoked as compromised or lost: the first sequence number from which it may
    /// have been in someone else's hands. Events it signed from then until its revocation
    /// still verify, and verification flags them for review.
    public var compromisedSince: Int64? = nil
    /// The key this one was enrolled to replace (`facts.replaces`), if any.
    public var replaces: String? = nil

    public var keyID: String { actor.keyID }
}

/// The keys as they stood at some point in the log. Only governance events change it.
public struct KeyRegistry: Equatable, Sendable {
    public private(set) var records: [String: KeyRecord] = [:]
    /// The partnership's root key (named by genesis), once genesis has been applied.
    public private(set) var rootKeyID: String?

    public init() {}

    public subscript(keyID: String) -> KeyRecord? { records[keyID] }

    mutating func setRoot(_ record: KeyRecord) {
        records[record.keyID] = record
        rootKeyID = record.keyID
    }

    mutating func enrol(_ record: KeyRecord) { records[record.keyID] = record }

    mutating func revoke(_ keyID: String, at seq: Int64, reason: String, compromisedSince: Int64? = nil) {
        records[keyID]?.revokedAt = seq
        records[keyID]?.revocationReason = reason
        records[keyID]?.compromisedSince = compromisedSince
    }

    /// Keys sorted by when they were enrolled.
    public var ordered: [KeyRecord] { records.values.sorted { $0.enrolledAt < $1.enrolledAt } }
}
