import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardStore

/// Format 3 (docs/FORMAT.md §3.4): statements signed by practitioners, placed, dated and
/// signed by the log service, on a real ledger file.
final class SequencingTests: XCTestCase {
    var f: Fixture!
    let logKey = Fixture.key(9)

    override func setUpWithError() throws {
        f = try Fixture()
        try f.ledger.append([GovernanceDrafts.logKey(logKey.publicKey, at: Fixture.start)], signer: f.root, clock: f.clock, newID: f.newID)
    }

    func statement(_ draft: EventDraft, by key: SigningKey, agency: String = "police", practitioner: String = "PC 0001",
                   salt: UInt8 = 7) throws -> (statement: SignedStatement, details: SealedDetails) {
        let sealed = try SealedDetails(draft.details, salt: [UInt8](repeating: salt, count: 32))
        let actor = Actor(agency: agency, role: "practitioner", practitioner: practitioner, keyID: key.publicKey.keyID)
        return (try SignedStatement(draft: draft, sealed: sealed, actor: actor, eventID: f.newID(), key: key, origin: "test.example/ledger"), sealed)
    }

    func testStatementsArePlacedDatedAndSignedByTheLogAndVerify() throws {
        let a = try statement(f.contact("C-0001"), by: f.police)
        let b = try statement(f.contact("C-0002"), by: f.csc, agency: "csc", practitioner: "SW 0002")
        let t = Timestamp(rfc3339: "2026-03-03T10:00:00Z")!
        let results = try f.ledger.sequence([a, b], logKey: logKey) { t }
        let rows = try results.map { try $0.get() }
        XCTAssertEqual(rows.map(\.seq), [Fixture.firstFree + 1, Fixture.firstFree + 2])
        XCTAssertEqual(rows.map(\.recordedAt), [t.description, t.description])
        let e = try Envelope(json: JSONParser.parse(rows[0].envelope, mode: .canonical))
        XCTAssertEqual(e.format, 3)
        XCTAssertEqual(e.actorSignature, a.statement.signature)
        XCTAssertTrue(logKey.publicKey.verify(signature: rows[0].signature, message: Envelope.entryMessage(rows[0].envelope)))
        XCTAssertNil(try f.verify())
        // A format 2 entry after a format 3 one is refused: once served, always served.
        XCTAssertThrowsError(try f.ledger.append([f.contact()], signer: f.police, clock: { Timestamp(seconds: t.seconds + 60) }, newID: f.newID)) {
            XCTAssertTrue("\($0)".contains("format 2 after an event of format 3"), "\($0)")
        }
    }

    func testEachStatementIsRefusedOnItsOwnAndTheOthersArePlaced() throws {
        let good = try statement(f.contact("C-0001"), by: f.police)
        // Signed by csc's key but claiming police: the actor must be the key's enrolment.
        let impostor = try statement(f.contact("C-0001"), by: f.csc, agency: "police", practitioner: "PC 0001")
        // Altered after signing: the facts changed, the signature kept.
        var altered = try statement(f.contact("C-0002"), by: f.police)
        var json = altered.statement.json.objectValue!
        json["facts"] = .object(["contact_type": "phone", "indicators": .array(["A2"])])
        altered.statement = try SignedStatement(json: .object(json), signature: Base64.encode(altered.statement.signature))
        // The details sent are not the ones signed.
        var swapped = try statement(f.contact("C-0002"), by: f.police)
        swapped.details = try SealedDetails(["narrative": "another"], salt: swapped.details.salt)
        // A case never opened: the catalogue's rule, as verification applies it.
        let unopened = try statement(f.contact("Z-9999"), by: f.police)
        let replay = good
        let results = try f.ledger.sequence([good, impostor, altered, swapped, unopened, replay], logKey: logKey) { Fixture.start }
        func refusal(_ i: Int) -> String {
            if case .failure(let e) = results[i] { return e.reason }
            return "placed"
        }
        XCTAssertNoThrow(try results[0].get())
        XCTAssertTrue(refusal(1).contains("actor.agency"), refusal(1))
        XCTAssertTrue(refusal(2).contains("signature does not verify"), refusal(2))
        XCTAssertTrue(refusal(3).contains("details_digest"), refusal(3))
        XCTAssertTrue(refusal(4).contains("Z-9999") || refusal(4).contains("open"), refusal(4))
        XCTAssertTrue(refusal(5).contains("already in the ledger"), refusal(5))
        XCTAssertEqual(try f.ledger.head()?.lastSeq, Fixture.firstFree + 1, "only the good one was placed")
        XCTAssertNil(try f.verify())
    }

    func testAStatementCannotNameItsPlaceOrTime() throws {
        let a = try statement(f.contact(), by: f.police)
        for member in ["seq", "prev_hash", "recorded_at"] {
            var o = a.statement.json.objectValue!
            o[member] = member == "seq" ? .integer(3) : .string(member == "prev_hash" ? String(repeating: "0", count: 64) : "2026-01-01T00:00:00Z")
            XCTAssertThrowsError(try SignedStatement(json: .object(o), signature: Base64.encode(a.statement.signature))) {
                XCTAssertTrue("\($0)".contains("given by the log"), "\($0)")
            }
        }
    }

    func testOnlyTheNamedLogKeySequencesAndTheClockNeverGoesBack() throws {
        let a = try statement(f.contact(), by: f.police)
        XCTAssertThrowsError(try f.ledger.sequence([a], logKey: Fixture.key(8)) { Fixture.start }) { XCTAssertTrue($0 is Ledger.WrongLogKey) }
        let later = Timestamp(rfc3339: "2026-03-05T10:00:00Z")!
        _ = try f.ledger.sequence([a], logKey: logKey) { later }
        let b = try statement(f.contact(), by: f.police)
        let rows = try f.ledger.sequence([b], logKey: logKey) { Fixture.start }.map { try $0.get() }
        XCTAssertEqual(rows[0].recordedAt, later.description, "a clock stepped back leaves the log's time where it was")
        XCTAssertNil(try f.verify())
    }

    /// An insider with the file: a format 3 entry re-dated (entry hash recomputed, chain kept)
    /// fails on the log's signature; one written with a practitioner's key as "log" fails too.
    func testARedatedEntryFailsOnTheLogsSignature() throws {
        let a = try statement(f.contact(), by: f.police)
        let row = try f.ledger.sequence([a], logKey: logKey) { Fixture.start }.map { try $0.get() }[0]
        var e = try Envelope(json: JSONParser.parse(row.envelope, mode: .canonical))
        e.recordedAt = Timestamp(rfc3339: "2026-03-02T09:30:00Z")!
        let forged = Entry(canonical: try e.canonicalBytes(), signature: f.police.sign(Envelope.entryMessage(try e.canonicalBytes())))
        try f.tamper { db in
            try db.execute(sql: "UPDATE events SET envelope = ?, signature = ?, entry_hash = ?, recorded_at = ? WHERE seq = ?",
                           arguments: [Data(forged.canonical), Data(forged.signature), Data(forged.entryHash), e.recordedAt.description, row.seq])
        }
        let failure = try XCTUnwrap(try f.verify())
        XCTAssertEqual(failure.seq, row.seq)
        XCTAssertEqual(failure.code, "bad_log_signature")
    }

    /// The decision `verify --checkpoint` reports, from the library: each verdict from what the
    /// verified log gives (the TIME one is what a witness's cosignature proves).
    func testAKeptCheckpointsVerdicts() throws {
        let root = [UInt8](repeating: 1, count: 32)
        let c = try XCTUnwrap(Checkpoint(origin: "test.example/ledger", size: 10, root: root))
        let t = Timestamp(rfc3339: "2026-03-02T10:00:00Z")!
        XCTAssertEqual(KeptCheckpoint.judge(c, origin: "test.example/ledger", events: 12, rootAtSize: root, latestCovered: t, bounds: [("w", t.seconds)]), .holds)
        XCTAssertEqual(KeptCheckpoint.judge(c, origin: "other", events: 12, rootAtSize: root, latestCovered: t, bounds: []),
                       .otherLog(checkpointOrigin: "test.example/ledger", logOrigin: "other"))
        XCTAssertEqual(KeptCheckpoint.judge(c, origin: "test.example/ledger", events: 9, rootAtSize: nil, latestCovered: t, bounds: []),
                       .truncated(events: 9, checkpointSize: 10))
        let other = [UInt8](repeating: 2, count: 32)
        XCTAssertEqual(KeptCheckpoint.judge(c, origin: "test.example/ledger", events: 12, rootAtSize: other, latestCovered: t, bounds: []),
                       .rewritten(checkpointSize: 10, root: other, checkpointRoot: root))
        XCTAssertEqual(KeptCheckpoint.judge(c, origin: "test.example/ledger", events: 12, rootAtSize: root, latestCovered: t, bounds: [("w", t.seconds - 1)]),
                       .datedAfterWitness(latest: t, witness: "w", time: t.seconds - 1))
    }
}
