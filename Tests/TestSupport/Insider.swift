import Foundation
import GRDB
import SafeguardCore

/// An enrolled practitioner (or the root key's holder) with write access to the ledger file:
/// signs an event with their own key and writes it straight into the file the way `append`
/// would (the chained, signed envelope, its copy columns, its details record and the Merkle
/// subtrees it completes), but without any of `append`'s checks. Whatever such an event
/// breaks, only verification can find.
public struct Insider {
    public let key: SigningKey
    public let actor: Actor

    public init(key: SigningKey, agency: String, role: String, practitioner: String) {
        self.key = key
        actor = Actor(agency: agency, role: role, practitioner: practitioner, keyID: key.publicKey.keyID)
    }

    /// The practitioner whose unprotected key file is at `keyFile`.
    public init(keyFile: String, agency: String, role: String = "practitioner", practitioner: String) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: keyFile)))
        self.init(key: try KeyFile.decode(bytes, passphrase: { nil }), agency: agency, role: role, practitioner: practitioner)
    }

    /// What was written: the event's sequence number and id.
    public struct Written: Sendable {
        public let seq: Int64
        public let eventID: String
    }

    /// Writes one event at the head of the ledger at `path`. `recordedAt` defaults to the head's
    /// own recording time (never earlier: the time rule is not what most forgeries test).
    @discardableResult
    public func insert(into path: String, type: String, caseID: String?, facts: [String: JSONValue],
                       details: [String: JSONValue] = [:], occurredAt: Timestamp? = nil, recordedAt: Timestamp? = nil,
                       eventID: String = UUID().uuidString.lowercased(), sealedWith: CaseKey? = nil, change: (inout Envelope) -> Void = { _ in }) throws -> Written {
        let q = try DatabaseQueue(path: path)
        defer { try? q.close() }
        return try q.write { db in
            try insert(db, type: type, caseID: caseID, facts: facts, details: details, occurredAt: occurredAt, recordedAt: recordedAt,
                       eventID: eventID, sealedWith: sealedWith, change: change)
        }
    }

    /// `insert` on an open connection (inside the caller's transaction).
    public func insert(_ db: Database, type: String, caseID: String?, facts: [String: JSONValue], details: [String: JSONValue] = [:],
                       occurredAt: Timestamp? = nil, recordedAt: Timestamp? = nil, eventID: String = UUID().uuidString.lowercased(),
                       sealedWith: CaseKey? = nil, change: (inout Envelope) -> Void = { _ in }) throws -> Written {
        let head = try Row.fetchOne(db, sql: "SELECT seq, entry_hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1")!
        let headTime = Timestamp(canonical: head[2] as String)!
        let sealed = try sealedWith.map { try SealedDetails(details, sealedWith: $0, eventID: eventID, caseID: caseID ?? "") } ?? SealedDetails(details)
        let recorded = recordedAt ?? headTime
        var e = Envelope(seq: (head[0] as Int64) + 1, eventID: eventID, type: type, caseID: caseID, occurredAt: occurredAt ?? recorded,
                         recordedAt: recorded, actor: actor, prevHash: [UInt8](head[1] as Data), facts: facts,
                         details: .committed(digest: sealed.digest))
        change(&e)
        let entry = try Entry(signing: e, with: key)
        try db.execute(sql: """
            INSERT INTO events (seq, event_id, type, case_id, agency, key_id, occurred_at, recorded_at, prev_hash, envelope, signature, entry_hash)
            VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
            """, arguments: [e.seq, e.eventID, e.type, e.caseID, e.actor.agency, e.actor.keyID, e.occurredAt.description, e.recordedAt.description,
                             Data(e.prevHash), Data(entry.canonical), Data(entry.signature), Data(entry.entryHash)])
        try db.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (?, ?, ?)", arguments: [e.seq, Data(sealed.salt), Data(sealed.body)])
        try Self.addLeaf(db, index: e.seq, entry.entryHash)
        return Written(seq: e.seq, eventID: e.eventID)
    }

    /// Adds leaf `index` to the stored Merkle tree: the subtrees above the leaves that it
    /// completes (a leaf's own hash is its event's entry hash, docs/FORMAT.md §10).
    public static func addLeaf(_ db: Database, index: Int64, _ hash: [UInt8]) throws {
        var frontier = try MerkleFrontier(size: index) { level, idx in
            level == 0 ? [UInt8](try Data.fetchOne(db, sql: "SELECT entry_hash FROM events WHERE seq = ?", arguments: [idx])!)
                : [UInt8](try Data.fetchOne(db, sql: "SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?", arguments: [level, idx])!)
        }
        for node in frontier.append(hash) {
            try db.execute(sql: "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", arguments: [node.level, node.index, Data(node.hash)])
        }
    }
}
