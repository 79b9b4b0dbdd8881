/// One row of the ledger's `events` table, as read back for verification. The indexed
/// columns are copies of envelope members for filtering; verification checks they agree.
public struct StoredEntry: Sendable {
    public var seq: Int64
    public var eventID: String
    public var type: String
    public var caseID: String?
    public var agency: String
    public var keyID: String
    public var occurredAt: String
    public var recordedAt: String
    public var prevHash: [UInt8]
    public var envelope: [UInt8]
    public var signature: [UInt8]
    public var entryHash: [UInt8]
    /// The event's details record (`details` table), if the file holds one for this seq.
    public var details: SealedDetails?
    /// The stored envelope's size, when it is over the 1 MiB limit (then `envelope` is empty:
    /// the reader did not load it).
    public var envelopeTooLarge: Int?
    /// The stored details' size, when it is over the 1 MiB limit (then the record's body is
    /// empty: the reader did not load it).
    public var detailsTooLarge: Int?
    /// The copy holding this row was made without details records (a mirror): a missing record
    /// is taken as withheld, not as missing (docs/FORMAT.md §9, check 14).
    public var detailsWithheld = false

    public init(
        seq: Int64, eventID: String, type: String, caseID: String?, agency: String, keyID: String,
        occurredAt: String, recordedAt: String, prevHash: [UInt8], envelope: [UInt8], signature: [UInt8], entryHash: [UInt8],
        details: SealedDetails?
    ) {
        self.seq = seq; self.eventID = eventID; self.type = type; self.caseID = caseID; self.agency = agency
        self.keyID = keyID; self.occurredAt = occurredAt; self.recordedAt = recordedAt; self.prevHash = prevHash
        self.envelope = envelope; self.signature = signature; self.entryHash = entryHash; self.details = details
    }

    /// The row that stores `entry`, whose envelope is `envelope`, with its details record.
    public init(_ envelope: Envelope, entry: Entry, details: SealedDetails?) {
        self.init(
            seq: envelope.seq, eventID: envelope.eventID, type: envelope.type, caseID: envelope.caseID,
            agency: envelope.actor.agency, keyID: envelope.actor.keyID, occurredAt: envelope.occurredAt.description,
            recordedAt: envelope.recordedAt.description, prevHash: envelope.prevHash, envelope: entry.canonical,
            signature: entry.signature, entryHash: entry.entryHash, details: details)
    }
}

extension StoredEntry {
    /// Whether the row's details record is the one its signed envelope commits to (its
    /// `details_digest`): what a reader checks before showing or opening details, whatever the
    /// file says (docs/FORMAT.md §3.2). False when there is no record or no digest.
    public var detailsAreCommitted: Bool {
        guard let record = details, let digest = CanonicalScan.member("details_digest", of: envelope[...]) else { return false }
        return String(decoding: digest, as: UTF8.self) == Hex.encode(record.digest)
    }
}
