import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardStore

/// Hands `importDrafts` its drafts from any thread.
final class DraftFeed: @unchecked Sendable {
    private let lock = NSLock()
    private let drafts: [EventDraft]
    private var next = 0
    init(_ drafts: [EventDraft]) { self.drafts = drafts }
    func take() -> (index: Int, draft: EventDraft)? {
        lock.lock()
        defer { lock.unlock() }
        guard next < drafts.count else { return nil }
        defer { next += 1 }
        return (next, drafts[next])
    }
}

final class ImportPreparedTests: XCTestCase {
    func importDrafts(_ f: Fixture, _ drafts: [EventDraft]) throws -> Ledger.Imported? {
        let feed = DraftFeed(drafts)
        let at = Timestamp(seconds: Fixture.start.seconds + 86_400)
        return try f.ledger.importDrafts({ feed.take() }, signer: f.police, clock: { at }, newID: { UUID().uuidString.lowercased() })
    }

    /// A red team's finding (fixed). The import's signing thread hands the writer the draft's own
    /// details instead of parsing the record it sealed, which skips what `SealedDetails.open`
    /// checks: plain data only (no null, no decimal), integers within ±(2^53 − 1), at most 64
    /// levels. `EventDraft(json:)` (the CLI) makes sure of those first, but `importDrafts` is
    /// public and takes any draft: each of these must be refused, not written to fail
    /// verification (details_mismatch) later. Only details that surely read back as themselves
    /// skip the parse (a debug build traps in `ChainVerifier.prepare`'s assert otherwise).
    func testImportRefusesDetailsThatVerificationCannotRead() throws {
        let f = try Fixture()
        let before = try f.ledger.head()
        let deep = (0..<70).reduce(JSONValue.integer(1)) { inner, _ in .object(["a": inner]) }
        for (name, value) in [("null", JSONValue.null), ("decimal", .number(1.5)), ("beyond 2^53", .integer(1 << 60)), ("70 levels", deep)] {
            var draft = f.contact()
            draft.details["x"] = value
            XCTAssertThrowsError(try importDrafts(f, [f.contact(), draft]), name) { error in
                XCTAssertEqual((error as? Ledger.ImportStopped)?.index, 1, "\(name): \(error)")
            }
            XCTAssertEqual(try f.ledger.head(), before, "\(name): written")
        }
        XCTAssertNil(try f.verify())
    }

    /// What the writer refuses above, the auditor refuses: the same details, in a record the
    /// envelope commits to, signed by an enrolled key and written straight into the file, fail
    /// verification at that entry.
    func testVerificationRefusesTheDetailsImportRefuses() throws {
        let deep = String(repeating: #"{"a":"#, count: 70) + "1" + String(repeating: "}", count: 70)
        for (name, body) in [("null", #"{"x":null}"#), ("decimal", #"{"x":1.5}"#), ("beyond 2^53", #"{"x":1152921504606846976}"#), ("70 levels", #"{"x":\#(deep)}"#)] {
            let f = try Fixture()
            let head = try XCTUnwrap(try f.ledger.head())
            let record = SealedDetails(salt: [UInt8](repeating: 7, count: SealedDetails.saltSize), body: Array(body.utf8))
            let e = Envelope(seq: head.lastSeq + 1, eventID: f.newID(), type: "contact.recorded", caseID: "C-0001", occurredAt: Fixture.start,
                             recordedAt: f.clock(), actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: f.police.publicKey.keyID),
                             prevHash: head.hash, facts: ["contact_type": "phone", "indicators": ["S1"]], details: .committed(digest: record.digest))
            let row = StoredEntry(e, entry: try Entry(signing: e, with: f.police), details: record)
            try f.insertRaw(row)
            let failure = try XCTUnwrap(try f.verify(), "\(name): verified")
            XCTAssertEqual(failure.seq, row.seq, "\(name): \(failure)")
            XCTAssertEqual(failure.code, "details_mismatch", "\(name): \(failure)")
        }
    }

    /// Pins that what the signing thread hands over is what verification finds for the details
    /// an import can carry: empty, none, NUL and other controls, canonically equivalent text
    /// in either form, astral characters, the largest integers, nesting to the parser's limit.
    func testImportedDetailsAreReadBackAsTheyWereGiven() throws {
        let f = try Fixture()
        let nested = (0..<62).reduce(JSONValue.integer(1)) { inner, _ in .object(["a": inner]) }
        let cases: [[String: JSONValue]] = [
            [:],
            ["a": "x\u{0}y", "k\u{0}": "\u{1}\u{1f}\u{7f}"],
            ["e\u{301}": "caf\u{e9}", "\u{e9}x": "cafe\u{301}"],
            ["n": 0, "max": .integer(JSONValue.maxSafeInteger), "min": .integer(-JSONValue.maxSafeInteger), "s": "/\u{2028}\u{feff}😀", "": "empty key", "arr": [[], [:]]],
            ["deep": nested],
        ]
        let drafts = cases.map { details -> EventDraft in var d = f.contact(); d.details = details; return d }
        let imported = try XCTUnwrap(try importDrafts(f, drafts))
        XCTAssertNil(try f.verify())
        for (i, details) in cases.enumerated() {
            let row = try f.row(imported.first.seq + Int64(i))
            XCTAssertEqual(try XCTUnwrap(row.details).open(), details, "entry \(i)")
            XCTAssertEqual(try XCTUnwrap(row.details).body, try CanonicalJSON.encode(.object(details)), "entry \(i)")
        }
    }

    /// Pins AuditState.binary (UUID → 16 bytes) against the replaced Foundation form.
    func testAuditStateBinaryIsTheUUIDsBytes() {
        for _ in 0..<200 {
            let id = UUID().uuidString.lowercased()
            XCTAssertEqual(AuditState.binary(id), Hex.decode(id.replacingOccurrences(of: "-", with: "")).map { Data($0) })
            XCTAssertEqual(AuditState.binary(id)?.count, 16)
        }
        for bad in ["", "6F1C2A9E-0B7D-4C3E-9A51-2D8F4E6B7C10", "6f1c2a9e0b7d4c3e9a512d8f4e6b7c10", "6f1c2a9e-0b7d-4c3e-9a51-2d8f4e6b7c1\u{0}",
                    "6f1c2a9e-0b7d-4c3e-9a51-2d8f4e6b7c1é"] {
            XCTAssertNil(AuditState.binary(bad), bad)
        }
    }
}

