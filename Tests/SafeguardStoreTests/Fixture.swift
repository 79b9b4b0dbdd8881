import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardStore

/// A real ledger file in a fresh temporary folder, with a root key, two practitioner keys and
/// a deterministic clock and id generator, for the tamper and append tests.
final class Fixture {
    let dir: URL
    let path: String
    let root: SigningKey
    let police: SigningKey
    let csc: SigningKey
    var ledger: Ledger!
    private var tick: Int64 = 0
    private var idCounter = 0

    static let start = Timestamp(rfc3339: "2026-03-02T09:00:00Z")!

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safeguard-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        path = dir.appendingPathComponent("ledger.sqlite").path
        root = Self.key(1)
        police = Self.key(2)
        csc = Self.key(3)
        let drafts = [
            GovernanceDrafts.genesis(partnership: "Test Partnership", origin: "test.example/ledger", root: root.publicKey, at: Self.start),
            GovernanceDrafts.policy(document: ToolkitPolicy.document, at: Self.start),
        ]
        (ledger, _) = try Ledger.create(at: path, signer: root, drafts: drafts, practitioner: "root holder", clock: clock, newID: newID)
        try ledger.append([
            GovernanceDrafts.enrolment(of: police.publicKey, agency: "police", role: "practitioner", practitioner: "PC 0001", at: Self.start),
            GovernanceDrafts.enrolment(of: csc.publicKey, agency: "csc", role: "practitioner", practitioner: "SW 0002", at: Self.start),
        ], signer: root, clock: clock, newID: newID)
        // The cases the tests record about (seq 4-9); tests' own events start at seq 10.
        try ledger.append(Self.openedCases.map(openCase), signers: [police], clock: clock, newID: newID)
    }

    static let openedCases = ["C-0001", "C-0002", "C-1000", "C-1001", "C-1002", "K-0001"]
    /// The first sequence number after the fixture's own events.
    static let firstFree: Int64 = 10

    func openCase(_ caseID: String) -> EventDraft {
        EventDraft(type: "case.opened", caseID: caseID, occurredAt: Self.start, facts: [
            "birth_month": "2011-04", "gender": "female", "looked_after": false, "learning_disability": false, "borough": "TEST",
        ])
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// A deterministic key from a one-byte label.
    static func key(_ label: UInt8) -> SigningKey {
        var seed = [UInt8](repeating: label, count: 32)
        return SigningKey(seed: SecretBytes(consuming: &seed))
    }

    func clock() -> Timestamp { tick += 60; return Timestamp(seconds: Self.start.seconds + tick) }
    func newID() -> String {
        idCounter += 1
        return String(format: "00000000-0000-4000-8000-%012d", idCounter)
    }

    func contact(_ caseID: String = "C-0001", indicators: [String] = ["A2"], narrative: String = "synthetic note") -> EventDraft {
        EventDraft(type: "contact.recorded", caseID: caseID, occurredAt: Self.start,
                   facts: ["contact_type": "face_to_face", "indicators": .array(indicators.map { .string($0) })],
                   details: ["narrative": .string(narrative)])
    }

    /// Appends `n` contact events by police and csc in turn.
    func appendContacts(_ n: Int) throws {
        for i in 0..<n {
            try ledger.append([contact("C-\(1000 + i % 3)", indicators: ["A\(1 + i % 19)"])], signer: i % 2 == 0 ? police : csc,
                              clock: clock, newID: newID)
        }
    }

    /// Verifies the file from scratch; returns the failure, or nil if it verifies. It does so
    /// three ways (one thread; entries prepared and signatures checked on three threads, in
    /// batches of 2 and of 2048), which must agree: the first failure of the log is the same
    /// however the work is spread.
    func verify(trust: PublicKey? = nil) throws -> VerificationFailure? {
        func run(_ threads: Int, batch: Int) throws -> VerificationFailure? {
            let saved = _defaultBatchSize
            _defaultBatchSize = batch
            defer { _defaultBatchSize = saved }
            do {
                _ = try Ledger.open(at: path, readOnly: true).verify(trustAnchor: trust ?? root.publicKey, threads: threads)
                return nil
            } catch let f as VerificationFailure {
                return f
            }
        }
        let one = try run(1, batch: 2048)
        XCTAssertEqual(try run(3, batch: 2), one, "signatures checked on 3 threads in batches of 2")
        XCTAssertEqual(try run(3, batch: 2048), one, "signatures checked on 3 threads in one batch")
        return one
    }

    /// Signs a checkpoint with `key` as the log's signer does (`CheckpointSigner`, its state kept
    /// in the fixture's folder), naming `key` in the log first if the log names another.
    @discardableResult
    func checkpoint(key: SigningKey, at t: Timestamp = Fixture.start) throws -> CheckpointSigner.Signed {
        if try ledger.state().logKeys.last?.key != key.publicKey {
            try ledger.append([GovernanceDrafts.logKey(key.publicKey, at: Self.start)], signer: root, clock: clock, newID: newID)
        }
        return try CheckpointSigner.sign(ledger, key: key, statePath: dir.appendingPathComponent("cp-\(key.publicKey.keyID).state").path,
                                         trustAnchor: root.publicKey, at: t)
    }

    /// Runs SQL as an insider with write access would: past the triggers and CHECK
    /// constraints, which are put back afterwards (`Tamper.asInsider`).
    func tamper(_ body: (Database) throws -> Void) throws {
        try Tamper.asInsider(path, body)
    }

    func row(_ seq: Int64) throws -> StoredEntry { try ledger.entry(seq: seq)! }

    /// Writes `row` raw at the end, with its details record if it has one, as an attacker
    /// bypassing append would.
    func insertRaw(_ row: StoredEntry) throws {
        try tamper { db in try Self.insertRaw(row, db) }
    }

    static func insertRaw(_ row: StoredEntry, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO events (\(Ledger.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", arguments: [
            row.seq, row.eventID, row.type, row.caseID, row.agency, row.keyID, row.occurredAt, row.recordedAt,
            Data(row.prevHash), Data(row.envelope), Data(row.signature), Data(row.entryHash),
        ])
        if let d = row.details {
            try db.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (?, ?, ?)", arguments: [row.seq, Data(d.salt), Data(d.body)])
        }
    }

    /// A well-formed next event with the given actor, signed by `signer`, chained to the head.
    func forgedNext(actor: Actor, signer: SigningKey, type: String = "contact.recorded") throws -> StoredEntry {
        let head = try ledger.head()!
        let sealed = try SealedDetails([:])
        let e = Envelope(seq: head.lastSeq + 1, eventID: newID(), type: type, caseID: "C-0001", occurredAt: Self.start,
                         recordedAt: clock(), actor: actor, prevHash: head.hash, facts: ["contact_type": "phone", "indicators": ["S1"]],
                         details: .committed(digest: sealed.digest))
        return StoredEntry(e, entry: try Entry(signing: e, with: signer), details: sealed)
    }
}
