import Foundation
import GRDB
import SafeguardCore
import XCTest

@testable import SafeguardService

/// The log service on a ledger whose policy seals case details (docs/SERVICE.md "Sealed
/// details"): practitioners seal on their own machines, the service places ciphertext and the
/// wrapped copies of case keys, and refuses what a local append would.
final class SealedServiceTests: XCTestCase {
    var cli: CLI!
    var server: ServiceProcess!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeSealedLedger()
        var r = try cli.run("keys", "generate", "--out", cli.path("log.key"), "--unprotected")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("keys", "set-log-key", "--key", cli.path("root.key"), "--public", cli.path("log.key.pub"))
        XCTAssertEqual(r.status, 0, r.stderr)
        server = try ServiceProcess.start(cli)
    }

    override func tearDownWithError() throws {
        server?.stop()
        try? FileManager.default.removeItem(at: cli.dir)
    }

    func agencyKey(_ agency: String) -> String { cli.path("agency-keys/\(agency).key") }

    func key(_ path: String) throws -> SigningKey {
        try KeyFile.decode(try Data(contentsOf: URL(fileURLWithPath: path)).map { $0 }, passphrase: { nil })
    }

    /// Appends one JSON event through the service as `keyFile` (with its agency's key, if given).
    func append(_ line: String, as keyFile: String, agency: String?) throws -> CLI.Result {
        try cli.run(["append", "--server", server.url, "--key", cli.path(keyFile)] + (agency.map { ["--agency-key", agencyKey($0)] } ?? []), stdin: Data(line.utf8))
    }

    func testAgenciesSealOnTheirOwnMachinesAndOnlyEntitledOnesRecordOrRead() throws {
        // A case recorded on the ledger's machine before the service took over (its entries signed by the actor's key).
        server.stop()
        let local = PrivacyTests.opened.replacingOccurrences(of: "C-2026-0001", with: "C-2026-0003")
        var r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", agencyKey("police")], stdin: Data(local.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        server = try ServiceProcess.start(cli)
        r = try append(PrivacyTests.opened, as: "police.key", agency: "police")
        XCTAssertEqual(r.status, 0, r.stderr)
        // The service holds a copy for each agency entitled to every case, and for none other.
        let (code, answer) = try server.get("/v1/cases/C-2026-0001/keys")
        XCTAssertEqual(code, 401, "a case's keys are for enrolled keys: \(answer)")
        let keys = try LogClient(server: server.url).caseKeys("C-2026-0001", key: try key(cli.path("police.key")))
        XCTAssertEqual(Set(keys.copies.keys), ["police", "csc"])
        XCTAssertNotNil(keys.firstSealed)
        // education is not entitled: refused before anything is sent.
        let size = try server.size()
        r = try append(PrivacyTests.contact, as: "teacher.key", agency: "education")
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("education is not entitled to case C-2026-0001"), r.stderr)
        // police without its agency key: told what to give.
        r = try append(PrivacyTests.contact, as: "police.key", agency: nil)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("--agency-key"), r.stderr)
        XCTAssertEqual(try server.size(), size)
        // csc shares the case with education (csc's client wraps the key for it), which then records.
        r = try append(PrivacyTests.share, as: "csc.key", agency: "csc")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try append(PrivacyTests.contact, as: "teacher.key", agency: "education")
        XCTAssertEqual(r.status, 0, r.stderr)
        // Two events of one new case in one run: the key made for the first seals the second.
        let second = [PrivacyTests.opened, PrivacyTests.contact].map { $0.replacingOccurrences(of: "C-2026-0001", with: "C-2026-0002") }.joined(separator: "\n")
        r = try cli.run(["import", "--server", server.url, "--key", cli.path("csc.key"), "--agency-key", agencyKey("csc"), "--file", "-"], stdin: Data(second.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)

        // Reading through the service: recorded first, then fetched and opened on the reader's machine.
        func read(_ c: String, as reader: String, _ agency: String, purpose: [String] = ["--purpose", "case-work"]) throws -> CLI.Result {
            try cli.run(["case", "read", c, "--server", server.url, "--reader-key", cli.path(reader), "--agency-key", agencyKey(agency)] + purpose)
        }
        var head = try server.size()
        r = try read("C-2026-0001", as: "police.key", "police", purpose: [])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("--purpose"), r.stderr)
        r = try read("C-2026-0002", as: "teacher.key", "education")
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("education is not entitled to case C-2026-0002"), r.stderr)
        r = try read("C-2026-0001", as: "teacher.key", "police")
        XCTAssertEqual(r.status, 3, "another agency's key: \(r.stderr)")
        XCTAssertEqual(try server.size(), head, "no refused reading is recorded")
        for (reader, agency, c, records) in [("police.key", "police", "C-2026-0001", 3), ("teacher.key", "education", "C-2026-0001", 4), ("police.key", "police", "C-2026-0002", 2),
                                             ("police.key", "police", "C-2026-0003", 1)] {
            r = try read(c, as: reader, agency)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("synthetic-sealed-opening-note") && (c == "C-2026-0003" || r.stdout.contains("synthetic-sealed-school-note")), "\(agency) reads \(c): " + r.stdout)
            XCTAssertTrue(r.stderr.contains("Recorded your reading of \(records) sealed records of \(c)"), r.stderr + r.stdout)
            head += 1
            XCTAssertEqual(try server.size(), head)
        }
        // A reading's records go only to the key that recorded it, and only for a while.
        let police = try key(cli.path("police.key")), teacher = try key(cli.path("teacher.key"))
        let readings = try cli.run("log", "list", "--type", "access.consulted", "--json")
        let lastReading = try XCTUnwrap(readings.stdout.split(separator: "\n").last.flatMap { try? JSONParser.parse(Array($0.utf8)) }?["event_id"]?.stringValue, readings.stdout)
        let client = try LogClient(server: server.url)
        XCTAssertNoThrow(try client.signedGet("/v1/cases/C-2026-0003/readings/\(lastReading)", key: police))
        // Each answer is the one docs/openapi.json describes.
        let doc = try OpenAPITests.loadDocument()
        let v = SchemaValidator(document: doc)
        for (path, schema) in [("/v1/cases/C-2026-0001/keys", "CaseKeys"), ("/v1/cases/C-2026-0001/records", "SealedRecords"),
                               ("/v1/cases/C-2026-0003/readings/\(lastReading)", "Reading")] {
            let body = try JSONSerialization.jsonObject(with: Data(try client.signedGet(path, key: police)))
            XCTAssertEqual(v.errors(body, ["$ref": "#/components/schemas/\(schema)"]), [], path)
        }
        let logInfo = try JSONSerialization.jsonObject(with: Data(try client.signedGet("/v1/log", key: police)))
        XCTAssertEqual(v.errors(logInfo, ["$ref": "#/components/schemas/Log"]), [])
        XCTAssertNotNil((logInfo as? [String: Any])?["seals_details_since_policy"])
        XCTAssertThrowsError(try client.signedGet("/v1/cases/C-2026-0003/readings/\(lastReading)", key: teacher)) { XCTAssertTrue("\($0)".contains("not entitled"), "\($0)") }
        XCTAssertThrowsError(try client.signedGet("/v1/cases/C-2026-0001/readings/\(lastReading)", key: police)) { XCTAssertTrue("\($0)".contains("not a reading of case C-2026-0001"), "\($0)") }
        server.stop()

        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        r = try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("case", "show", "C-2026-0001", "--details", "--purpose", "case-work", "--reader-key", cli.path("police.key"), "--agency-key", agencyKey("police"))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("safeguard case read C-2026-0001 --server"), r.stderr)
        for file in [cli.path("ledger.sqlite"), cli.path("ledger.sqlite-wal")] where FileManager.default.fileExists(atPath: file) {
            XCTAssertNil(try Data(contentsOf: URL(fileURLWithPath: file)).range(of: Data("synthetic-sealed".utf8)), file)
        }
    }

    /// A retention review recorded through the service erases the case's keys and details in
    /// the transaction that places it, and the service empties its write-ahead log.
    func testErasureThroughTheServiceLeavesNoCiphertextInTheFileOrItsWAL() throws {
        server.stop()
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("chair.key"), "--unprotected").status, 0)
        var r = try cli.run("keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("chair.key.pub"), "--agency", "partnership",
                            "--role", "mase_chair", "--practitioner", "Chair 0004")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("policy", "seal", "--key", cli.path("root.key"), "--agency-keys", cli.path("agency-keys"), "--every-case", "police,csc", "--retain-years", "0")
        XCTAssertEqual(r.status, 0, r.stderr)
        server = try ServiceProcess.start(cli)
        r = try cli.run(["import", "--server", server.url, "--key", cli.path("police.key"), "--agency-key", agencyKey("police"), "--file", "-"],
                        stdin: Data(PrivacyTests.oldCase.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        let police = try key(cli.path("police.key"))
        let copies = try LogClient(server: server.url).caseKeys("C-2018-0001", key: police).copies.values.map(\.wrapped)
        XCTAssertEqual(copies.count, 2)
        let cipher = try DatabaseQueue(path: cli.path("ledger.sqlite")).read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM details JOIN events USING (seq) WHERE case_id = 'C-2018-0001'")
        }
        XCTAssertEqual(cipher.count, 2)
        r = try cli.run("retention", "hold", "--server", server.url, "--case", "C-2018-0001", "--reason", "inquiry", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("retention", "review", "--server", server.url, "--case", "C-2018-0001", "--decision", "destroyed", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("a legal hold is in force on case C-2018-0001"), r.stderr)
        r = try cli.run("retention", "hold", "--server", server.url, "--case", "C-2018-0001", "--reason", "inquiry", "--lift", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("retention", "review", "--server", server.url, "--case", "C-2018-0001", "--decision", "destroyed", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("The service erased C-2018-0001's keys and details records"), r.stdout)
        // While the service still runs: nothing of the case's ciphertext or keys in the file or its WAL.
        for file in [cli.path("ledger.sqlite"), cli.path("ledger.sqlite-wal")] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for c in cipher { XCTAssertNil(bytes.range(of: c.subdata(in: 30..<60)), file) }
            for w in copies { XCTAssertNil(bytes.range(of: Data(w)), file) }
        }
        r = try cli.run("case", "read", "C-2018-0001", "--server", server.url, "--purpose", "case-work", "--reader-key", cli.path("police.key"), "--agency-key", agencyKey("police"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("no sealed records"), r.stderr)
        server.stop()
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }

    /// A client that sends details in the clear, or copies of the key to the wrong agencies, or
    /// too few: refused with a one-line error, and nothing placed.
    func testTheServiceRefusesWhatALocalAppendWould() throws {
        var r = try append(PrivacyTests.opened, as: "police.key", agency: "police")
        XCTAssertEqual(r.status, 0, r.stderr)
        let police = try key(cli.path("police.key"))
        let actor = Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: police.publicKey.keyID)
        let agencies = try Dictionary(uniqueKeysWithValues: ["police", "csc", "education"].map { ($0, try key(agencyKey($0)).publicKey) })
        let client = try LogClient(server: server.url)
        let caseKey = try client.caseKeys("C-2026-0001", key: police).key(agency: "police", agencyKey: try key(agencyKey("police"))).key
        var shared: [String: [UInt8]] = [:]
        func wrap(_ k: CaseKey, for agency: String, case c: String = "C-2026-0001") -> [UInt8] { k.wrap(for: agencies[agency]!, by: police, caseID: c, shared: &shared)! }
        func contact(_ c: String, type: String = "contact.recorded") -> EventDraft {
            let at = Timestamp(rfc3339: "2026-03-02T09:00:00Z")!
            if type == "case.opened" {
                return EventDraft(type: type, caseID: c, occurredAt: at, facts: ["birth_month": "2011-04", "gender": "female", "looked_after": false, "learning_disability": false, "borough": "TEST"],
                                  details: ["narrative": "synthetic-hostile-note"])
            }
            return EventDraft(type: type, caseID: c, occurredAt: at, facts: ["contact_type": "phone", "indicators": .array(["A2"])], details: ["narrative": "synthetic-hostile-note"])
        }
        func body(_ draft: EventDraft, key k: CaseKey?, wraps: [String: [UInt8]] = [:]) throws -> [UInt8] {
            let id = Sodium.uuid()
            let sealed = try k.map { try SealedDetails(draft.details, sealedWith: $0, eventID: id, caseID: draft.caseID!) } ?? SealedDetails(draft.details)
            let statement = try SignedStatement(draft: draft, sealed: sealed, actor: actor, eventID: id, key: police, origin: "test.example/ledger")
            return try CanonicalJSON.encode(ServiceAPI.Submission(statement: statement, details: sealed, caseKeys: wraps).json)
        }
        let fresh = CaseKey.generate()
        let cases: [(String, [UInt8], Int, String)] = [
            ("details in the clear", try body(contact("C-2026-0001"), key: nil), 422, "seals case details"),
            ("a copy for an agency not entitled", try body(contact("C-2026-0001"), key: caseKey, wraps: ["education": wrap(caseKey, for: "education")]), 422, "case_keys.education: education is not entitled"),
            ("a copy for an agency that holds one", try body(contact("C-2026-0001"), key: caseKey, wraps: ["csc": wrap(caseKey, for: "csc")]), 422, "already holds a copy"),
            ("a new case with too few copies", try body(contact("C-2026-0009", type: "case.opened"), key: fresh, wraps: ["police": wrap(fresh, for: "police", case: "C-2026-0009")]), 422, "no copy of case C-2026-0009's key for csc"),
            ("a copy of the wrong size", try body(contact("C-2026-0009", type: "case.opened"), key: fresh, wraps: ["police": wrap(fresh, for: "police", case: "C-2026-0009"), "csc": [1, 2, 3]]), 422, "case_keys.csc: a wrapped key is 72 bytes"),
        ]
        let size = try server.size()
        let v = SchemaValidator(document: try OpenAPITests.loadDocument())
        let sealedSubmission = try JSONSerialization.jsonObject(with: Data(try body(contact("C-2026-0001"), key: caseKey, wraps: ["csc": wrap(caseKey, for: "csc")])))
        XCTAssertEqual(v.errors(sealedSubmission, ["$ref": "#/components/schemas/Submission"]), [], "a sealed submission fits the description")
        try server.assertRefused(cases)
        // An outsider's odd paths are refused before anything is looked up; an enrolled key's, as malformed.
        for path in ["/v1/cases/..%2F..%2Fetc/keys", "/v1/cases/%00/keys", "/v1/cases/" + String(repeating: "A", count: 5000) + "/keys",
                     "/v1/cases/C-2026-0001/readings/not-a-uuid", "/v1/cases/C-2026-0001/records"] {
            let (code, json) = try server.get(path)
            XCTAssertEqual(code, 401, "\(path.prefix(60)): \(json)")
        }
        for (path, says) in [("/v1/cases/..%2F..%2Fetc/keys", "case_id"), ("/v1/cases/C-2026-0001/readings/not-a-uuid", "UUID"),
                             ("/v1/cases/C-2026-0001/readings/\(Sodium.uuid())", "no event")] {
            XCTAssertThrowsError(try client.signedGet(path, key: police), path) { XCTAssertTrue("\($0)".contains(says), "\(path): \($0)") }
        }
        // Copies with details in the clear, and sealed details that are not a sealed record: malformed.
        var o = try JSONParser.parse(try body(contact("C-2026-0001"), key: nil)).objectValue!
        o["case_keys"] = .object(["csc": .string(Base64.encode(wrap(caseKey, for: "csc")))])
        var (code, json) = try server.post("/v1/statements", try CanonicalJSON.encode(.object(o)))
        XCTAssertEqual(code, 400, "\(json)")
        o = try JSONParser.parse(try body(contact("C-2026-0001"), key: caseKey)).objectValue!
        o["sealed_details"] = .string(Base64.encode(Array("{\"narrative\":\"x\"}".utf8)))
        (code, json) = try server.post("/v1/statements", try CanonicalJSON.encode(.object(o)))
        XCTAssertEqual(code, 400, "\(json)")
        XCTAssertTrue(json["error"]?.stringValue?.contains("sealed_details") == true, "\(json)")
        XCTAssertEqual(try server.size(), size, "nothing was placed")
        // The right copies: placed.
        (code, json) = try server.post("/v1/statements", try body(contact("C-2026-0009", type: "case.opened"), key: fresh,
                                                                   wraps: ["police": wrap(fresh, for: "police", case: "C-2026-0009"), "csc": wrap(fresh, for: "csc", case: "C-2026-0009")]))
        XCTAssertEqual(code, 201, "\(json)")
        server.stop()
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }
}
