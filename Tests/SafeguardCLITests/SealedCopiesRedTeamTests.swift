import Foundation
import GRDB
@testable import SafeguardCore
import SafeguardService
import SafeguardStore
import TestSupport
import XCTest

/// The second red team's findings on sealed details through the log service (issue 18),
/// each kept as a test against a real ledger file and the built executable: an erasure stays
/// done (no later event on the case; rows put back fail verify and doctor), a copy of a case
/// key opens only for its own case, a copy made wrongly can be written again, and copies no
/// writer makes are reported.
final class SealedCopiesRedTeamTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeSealedLedger()
        let second = PrivacyTests.opened.replacingOccurrences(of: "C-2026-0001", with: "C-2026-0002")
        let r = try cli.run(["import", "--key", cli.path("police.key"), "--agency-key", agencyKey("police"), "--file", "-"],
                            stdin: Data([PrivacyTests.opened, second].joined(separator: "\n").utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func agencyKey(_ agency: String) -> String { cli.path("agency-keys/\(agency).key") }
    func key(_ path: String) throws -> SigningKey { try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))), passphrase: { nil }) }
    func verify(_ path: String) throws -> (status: Int32, out: String) {
        let r = try cli.run("verify", "--ledger", path, "--trust-file", cli.path("root.key.pub"))
        return (r.status, r.stdout + r.stderr)
    }

    /// C-2018-0001 (opened 2018, closed 2019) erased under a policy that keeps nothing after
    /// closure: the details records and wrapped keys the review deleted, as they were.
    func erase() throws -> (details: [Row], keys: [Row]) {
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("chair.key"), "--unprotected").status, 0)
        var r = try cli.run("keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("chair.key.pub"), "--agency", "partnership",
                            "--role", "mase_chair", "--practitioner", "Chair 0004")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run(["import", "--key", cli.path("police.key"), "--agency-key", agencyKey("police"), "--file", "-"], stdin: Data(PrivacyTests.oldCase.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("policy", "seal", "--key", cli.path("root.key"), "--agency-keys", cli.path("agency-keys"), "--every-case", "police,csc", "--retain-years", "0")
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try DatabaseQueue(path: cli.ledger).read { db in
            (try Row.fetchAll(db, sql: "SELECT details.* FROM details JOIN events USING (seq) WHERE case_id = 'C-2018-0001'"),
             try Row.fetchAll(db, sql: "SELECT * FROM case_keys WHERE case_id = 'C-2018-0001'"))
        }
        XCTAssertEqual(rows.0.count, 2)
        XCTAssertEqual(rows.1.count, 2)
        r = try cli.run("retention", "review", "--case", "C-2018-0001", "--decision", "destroyed", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 0, r.stderr)
        return (rows.0, rows.1)
    }

    // MARK: Finding 3: erasure is final

    func testNothingMoreIsRecordedOnACaseWhoseDetailsWereDestroyed() throws {
        _ = try erase()
        let head = try cli.head()
        // A contact dated before the closure, and a reopening: both refused, nothing written.
        let backdated = #"{"type":"contact.recorded","case_id":"C-2018-0001","occurred_at":"2018-06-05T11:00:00Z","facts":{"contact_type":"phone","indicators":["A2"]},"details":{"narrative":"synthetic-after-erasure"}}"#
        let reopened = PrivacyTests.oldCase.split(separator: "\n")[0].replacingOccurrences(of: "2018-01-10", with: "2026-03-10")
        for line in [backdated, reopened] {
            let r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(line.utf8))
            XCTAssertEqual(r.status, 3, r.stderr)
            XCTAssertTrue(r.stderr.contains("C-2018-0001's details were destroyed under a retention review") && r.stderr.contains("open a new case with a new id"), r.stderr)
            XCTAssertEqual(try cli.head(), head)
        }
        XCTAssertEqual(try DatabaseQueue(path: cli.ledger).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM case_keys WHERE case_id = 'C-2018-0001'") }, 0)
        // Written straight into the file with an enrolled key, under a new key: verify fails.
        let police = try Insider(keyFile: cli.path("police.key"), agency: "police", practitioner: "PC 0001")
        let forged = try cli.changedCopy("forged.sqlite") { db in
            _ = try police.insert(db, type: "contact.recorded", caseID: "C-2018-0001", facts: ["contact_type": "phone", "indicators": ["A2"]],
                                  details: ["narrative": "synthetic-after-erasure"], occurredAt: Timestamp(rfc3339: "2018-06-05T11:00:00Z"),
                                  sealedWith: CaseKey.generate())
        }
        let v = try verify(forged)
        XCTAssertNotEqual(v.status, 0, v.out)
        XCTAssertTrue(v.out.contains("seq 13") && v.out.contains("were destroyed under a retention review"), v.out)
        XCTAssertEqual(try verify(cli.ledger).status, 0)
    }

    // MARK: Finding 4: erased rows put back

    func testErasedRowsPutBackFailVerifyAndDoctor() throws {
        let erased = try erase()
        let trigger = try DatabaseQueue(path: cli.ledger).read { try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE name = 'details_at_head'")! }
        // The details records, with the trigger that keeps them at the head dropped and made
        // again with its very text (the schema is then exactly the format's).
        let details = try cli.changedCopy("details-back.sqlite") { db in
            try db.execute(sql: "DROP TRIGGER details_at_head")
            for row in erased.details { try db.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (?, ?, ?)", arguments: [row["seq"], row["salt"], row["body"]]) }
            try db.execute(sql: trigger)
        }
        var v = try verify(details)
        XCTAssertNotEqual(v.status, 0, v.out)
        XCTAssertTrue(v.out.contains("seq 9") && v.out.contains("the rows were put back"), v.out)
        var r = try cli.run("doctor", "--ledger", details)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("whose details a retention review destroyed"), r.stdout)
        // The wrapped keys alone.
        let keys = try cli.changedCopy("keys-back.sqlite") { db in
            for row in erased.keys {
                try db.execute(sql: "INSERT INTO case_keys (case_id, agency, wrapped, wrapped_by) VALUES (?, ?, ?, ?)",
                               arguments: [row["case_id"], row["agency"], row["wrapped"], row["wrapped_by"]])
            }
        }
        v = try verify(keys)
        XCTAssertNotEqual(v.status, 0, v.out)
        XCTAssertTrue(v.out.contains("holds a wrapped key of case C-2018-0001"), v.out)
        r = try cli.run("doctor", "--ledger", keys)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("C-2018-0001"), r.stdout)
        XCTAssertEqual(try verify(cli.ledger).status, 0)
    }

    // MARK: Findings 1 and 2: copies bound to their case, and written again when wrong

    func testACopyMovedFromAnotherCaseDoesNotOpenAndIsWrittenAgain() throws {
        // Someone with the file puts police's copy of C-2026-0001's key in C-2026-0002's row
        // (both wrapped by the same police key): a client of the service would otherwise seal
        // C-2026-0002's next records under a key whoever holds C-2026-0001 knows.
        try DatabaseQueue(path: cli.ledger).write { db in
            try db.execute(sql: "DELETE FROM case_keys WHERE case_id = 'C-2026-0002' AND agency = 'police'")
            try db.execute(sql: """
                INSERT INTO case_keys SELECT 'C-2026-0002', agency, wrapped, wrapped_by FROM case_keys WHERE case_id = 'C-2026-0001' AND agency = 'police'
                """)
        }
        let policeAgency = try key(agencyKey("police"))
        let ledger = try Ledger.open(at: cli.ledger, readOnly: true)
        let moved = try XCTUnwrap(try ledger.caseKeys(of: "C-2026-0002"))
        XCTAssertThrowsError(try moved.key(agency: "police", agencyKey: policeAgency)) { error in
            XCTAssertTrue("\(error)".contains("police's copy of case C-2026-0002's key") && "\(error)".contains("policy rewrap --case C-2026-0002"), "\(error)")
        }
        XCTAssertNoThrow(try XCTUnwrap(try ledger.caseKeys(of: "C-2026-0001")).key(agency: "police", agencyKey: policeAgency))
        // The local writer refuses too, with what to do; csc's copy still opens, and a csc
        // practitioner writes every copy of the case again.
        let contact2 = PrivacyTests.contact.replacingOccurrences(of: "C-2026-0001", with: "C-2026-0002")
        var r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(contact2.utf8))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("does not open its first sealed record") && r.stderr.contains("policy rewrap --case C-2026-0002"), r.stderr)
        r = try cli.run("policy", "rewrap", "--case", "C-2026-0002", "--key", cli.path("police.key"), "--agency-key", agencyKey("police"))
        XCTAssertEqual(r.status, 3, "police's own copy does not open: it cannot write others: \(r.stderr)")
        r = try cli.run("policy", "rewrap", "--case", "C-2026-0009", "--key", cli.path("csc.key"), "--agency-key", agencyKey("csc"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("C-2026-0009 has no sealed record"), r.stderr)
        r = try cli.run("policy", "rewrap", "--case", "C-2026-0002", "--key", cli.path("csc.key"), "--agency-key", agencyKey("csc"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Wrote 2 wrapped copies of case keys for 1 case."), r.stdout)
        r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(contact2.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNoThrow(try XCTUnwrap(try ledger.caseKeys(of: "C-2026-0002")).key(agency: "police", agencyKey: policeAgency))
        XCTAssertEqual(try verify(cli.ledger).status, 0)
    }

    func testACopyMintedByAPractitionerOfAnAgencyNotEntitledIsNotSealedUnder() throws {
        // The teacher (education, not entitled to C-2026-0002) wraps a key of their own for
        // police, bound to the case, and writes it into the file: it opens, but a client of
        // the service seals nothing under it, and doctor names it.
        let teacher = try key(cli.path("teacher.key")), policeAgency = try key(agencyKey("police"))
        var shared: [String: [UInt8]] = [:]
        let minted = try XCTUnwrap(CaseKey.generate().wrap(for: policeAgency.publicKey, by: teacher, caseID: "C-2026-0002", shared: &shared))
        try DatabaseQueue(path: cli.ledger).write { db in
            try db.execute(sql: "DELETE FROM case_keys WHERE case_id = 'C-2026-0002' AND agency = 'police'")
            try db.execute(sql: "INSERT INTO case_keys VALUES ('C-2026-0002', 'police', ?, ?)", arguments: [Data(minted), teacher.publicKey.keyID])
        }
        let keys = try XCTUnwrap(try Ledger.open(at: cli.ledger, readOnly: true).caseKeys(of: "C-2026-0002"))
        XCTAssertThrowsError(try keys.key(agency: "police", agencyKey: policeAgency)) { error in
            XCTAssertTrue("\(error)".contains("a key of education, which is not entitled to the case") && "\(error)".contains("policy rewrap --case C-2026-0002"), "\(error)")
        }
        var r = try cli.run("doctor")
        XCTAssertTrue(r.stdout.contains("C-2026-0002: police's copy wrapped by a key of education, not entitled"), r.stdout)
        // The local writer finds it does not open the case's first sealed record.
        r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")],
                        stdin: Data(PrivacyTests.contact.replacingOccurrences(of: "C-2026-0001", with: "C-2026-0002").utf8))
        XCTAssertEqual(r.status, 3, r.stderr)
        r = try cli.run("policy", "rewrap", "--case", "C-2026-0002", "--key", cli.path("csc.key"), "--agency-key", agencyKey("csc"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNoThrow(try XCTUnwrap(try Ledger.open(at: cli.ledger, readOnly: true).caseKeys(of: "C-2026-0002")).key(agency: "police", agencyKey: policeAgency))
    }

    func testACopyFromBeforeCopiesWereBoundIsReadButNotSealedUnderUntilWrittenAgain() throws {
        // A copy as the first format 5 writers made it: boxed under the shared key alone.
        let csc = try key(agencyKey("csc")), police = try key(cli.path("police.key")), policeAgency = try key(agencyKey("police"))
        let caseKey = try XCTUnwrap(try Ledger.open(at: cli.ledger, readOnly: true).caseKeys(of: "C-2026-0001")).key(agency: "csc", agencyKey: csc).key
        var shared: [String: [UInt8]] = [:]
        let old = try XCTUnwrap(caseKey.wrap(for: policeAgency.publicKey, by: police, caseID: "C-2026-0001", bound: false, shared: &shared))
        try DatabaseQueue(path: cli.ledger).write { db in
            try db.execute(sql: "DELETE FROM case_keys WHERE case_id = 'C-2026-0001' AND agency = 'police'")
            try db.execute(sql: "INSERT INTO case_keys VALUES ('C-2026-0001', 'police', ?, ?)", arguments: [Data(old), police.publicKey.keyID])
        }
        let keys = try XCTUnwrap(try Ledger.open(at: cli.ledger, readOnly: true).caseKeys(of: "C-2026-0001"))
        XCTAssertThrowsError(try keys.key(agency: "police", agencyKey: policeAgency)) { error in
            XCTAssertTrue("\(error)".contains("written before copies were bound to their case") && "\(error)".contains("policy rewrap"), "\(error)")
        }
        XCTAssertNoThrow(try keys.key(agency: "police", agencyKey: policeAgency, toSeal: false), "a reader checks each record it opens")
        // The local writer checks the copy against the first sealed record, so it records.
        var r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(PrivacyTests.contact.replacingOccurrences(of: "school", with: "police").utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("policy", "rewrap", "--key", cli.path("police.key"), "--agency-key", agencyKey("police"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Wrote 2 wrapped copies of case keys for 1 case."), r.stdout)
        XCTAssertNoThrow(try XCTUnwrap(try Ledger.open(at: cli.ledger, readOnly: true).caseKeys(of: "C-2026-0001")).key(agency: "police", agencyKey: policeAgency))
        r = try cli.run("policy", "rewrap", "--key", cli.path("police.key"), "--agency-key", agencyKey("police"))
        XCTAssertTrue(r.stdout.contains("Wrote 0 wrapped copies"), "bound copies are left as they are: \(r.stdout)")
    }

    // MARK: Finding 5: copies no writer makes

    func testCopiesForAgenciesNotEntitledOrByKeysNeverEnrolledAreReportedAndRemoved() throws {
        var r = try cli.run("doctor")
        XCTAssertTrue(r.stdout.contains("each for an entitled agency and by an enrolled key"), r.stdout)
        try DatabaseQueue(path: cli.ledger).write { db in
            try db.execute(sql: "INSERT INTO case_keys VALUES ('C-2026-0001', 'health', randomblob(72), (SELECT wrapped_by FROM case_keys LIMIT 1))")
            try db.execute(sql: "DELETE FROM case_keys WHERE case_id = 'C-2026-0002' AND agency = 'csc'")
            try db.execute(sql: "INSERT INTO case_keys VALUES ('C-2026-0002', 'csc', randomblob(72), ?)", arguments: [String(repeating: "0", count: 32)])
        }
        r = try cli.run("doctor")
        XCTAssertTrue(r.stdout.contains("C-2026-0001: a copy for health, not entitled") && r.stdout.contains("C-2026-0002: csc's copy wrapped by 00000000000000000000000000000000, not an enrolled key"), r.stdout)
        for c in ["C-2026-0001", "C-2026-0002"] {
            r = try cli.run("policy", "rewrap", "--case", c, "--key", cli.path("police.key"), "--agency-key", agencyKey("police"))
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(try DatabaseQueue(path: cli.ledger).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM case_keys WHERE agency = 'health'") }, 0)
        r = try cli.run("doctor")
        XCTAssertTrue(r.stdout.contains("each for an entitled agency and by an enrolled key"), r.stdout)
        XCTAssertEqual(try verify(cli.ledger).status, 0)
    }
}
