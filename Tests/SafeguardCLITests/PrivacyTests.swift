import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

/// Sealed details through the built executable (issue 18, docs/PRIVACY.md): the demo sealed
/// end to end gives the figures the unsealed one gives, holds no narrative in the clear, and
/// every reading of sealed details is recorded first, by an entitled agency only.
final class PrivacyTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws { cli = try CLI() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    /// The report's figures without its provenance (hashes and digests differ: the sealed
    /// ledger's details records are ciphertext).
    func figures(_ json: String) throws -> JSONValue {
        guard case .object(var o) = try JSONParser.parse(Array(json.utf8)) else { throw XCTSkip("not a JSON object") }
        o["built_from"] = nil
        return .object(o)
    }

    func testTheSealedDemoGivesTheSameFiguresAndHoldsNoDetailsInTheClear() throws {
        var reports: [String: [String]] = [:]
        for name in ["sealed", "unsealed"] {
            let dir = cli.path(name)
            var r = try cli.run(["demo", "seed", "--dir", dir, "--events", "3000", "--seed", "3", "--end", "2026-12-05T12:00:00Z"] + (name == "sealed" ? ["--sealed"] : []))
            XCTAssertEqual(r.status, 0, r.stderr)
            let env = ["SAFEGUARD_LEDGER": dir + "/ledger.sqlite"]
            r = try cli.run(["verify", "--trust-file", dir + "/keys/root.key.pub"], env: env)
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            r = try cli.run(["project", "rebuild", "--trust-file", dir + "/keys/root.key.pub"], env: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            for report in [["report", "mase", "--to", "2026-12-05"], ["report", "practice", "--on", "2026-12-05"], ["report", "trend", "--to", "2026-12-05"]] {
                r = try cli.run(report + ["--format", "json"], env: env)
                XCTAssertEqual(r.status, 0, r.stderr)
                reports[name, default: []].append(r.stdout)
            }
        }
        for (a, b) in zip(reports["sealed"]!, reports["unsealed"]!) { XCTAssertEqual(try figures(a), try figures(b)) }
        // Every case record of the sealed demo is sealed; the unsealed one's narratives (the
        // same stories) appear nowhere in the sealed file, its WAL or its read models.
        let sealed = try DatabaseQueue(path: cli.path("sealed/ledger.sqlite"))
        let (cleartext, cases) = try sealed.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM details JOIN events USING (seq) WHERE events.case_id IS NOT NULL AND substr(details.body, 1, 1) <> x'01'")!,
             try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT case_id) FROM case_keys")!)
        }
        XCTAssertEqual(cleartext, 0)
        XCTAssertGreaterThan(cases, 10)
        try sealed.close()
        let narratives = try DatabaseQueue(path: cli.path("unsealed/ledger.sqlite")).read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM details JOIN events USING (seq) WHERE events.case_id IS NOT NULL AND length(body) > 40 ORDER BY seq LIMIT 50")
        }
        XCTAssertEqual(narratives.count, 50)
        var files = [cli.path("sealed/ledger.sqlite"), cli.path("sealed/ledger.sqlite-wal")]
        if let home = try? FileManager.default.subpathsOfDirectory(atPath: cli.path("home")) {
            files += home.filter { $0.hasSuffix(".sqlite") || $0.hasSuffix("-wal") }.map { cli.path("home/" + $0) }
        }
        XCTAssertGreaterThan(files.count, 2, "the read models are looked at too: \(files)")
        for file in files where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for n in narratives { XCTAssertNil(bytes.range(of: n), "a narrative in the clear in \(file)") }
        }
    }

    static let opened = #"{"type":"case.opened","case_id":"C-2026-0001","occurred_at":"2026-03-01T09:00:00Z","facts":{"birth_month":"2011-04","gender":"female","looked_after":false,"learning_disability":false,"borough":"TEST"},"details":{"narrative":"synthetic-sealed-opening-note"}}"#
    static let contact = #"{"type":"contact.recorded","case_id":"C-2026-0001","occurred_at":"2026-03-02T09:00:00Z","facts":{"contact_type":"phone","indicators":["A2"]},"details":{"narrative":"synthetic-sealed-school-note"}}"#
    static let share = #"{"type":"sharing.shared","case_id":"C-2026-0001","occurred_at":"2026-03-02T10:00:00Z","facts":{"to_agency":"education","scope":["summary"],"purpose":"strategy_discussion","lawful_basis":"uk_gdpr_6_1_e_public_task","consent_sought":false,"consent_not_sought_reason":"risk_of_harm_to_child","subject_informed":true,"necessary_and_proportionate":true,"identities_protected":true,"channel":"secure_email"}}"#

    func testReadingIsRecordedFirstAndOnlyEntitledAgenciesRecordOrRead() throws {
        try cli.makeSealedLedger()
        let keys = { (agency: String) in self.cli.path("agency-keys/\(agency).key") }
        // police open the case: sealed; the note is nowhere in the file.
        var r = try cli.run(["append", "--key", cli.path("police.key"), "--agency-key", keys("police")], stdin: Data(Self.opened.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        // education is not entitled: refused, nothing appended, nothing read.
        var head = try cli.head()
        r = try cli.run(["append", "--key", cli.path("teacher.key"), "--agency-key", keys("education")], stdin: Data(Self.contact.utf8))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("education is not entitled to case C-2026-0001"), r.stderr)
        r = try cli.run("case", "show", "C-2026-0001", "--details", "--purpose", "case-work", "--reader-key", cli.path("teacher.key"), "--agency-key", keys("education"))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("nothing was opened") || r.stderr.contains("project"), r.stderr)
        XCTAssertFalse(r.stdout.contains("synthetic-sealed-opening-note"))
        XCTAssertEqual(try cli.head(), head)
        // csc shares the case with education, which then records and reads.
        r = try cli.run(["append", "--key", cli.path("csc.key"), "--agency-key", keys("csc")], stdin: Data(Self.share.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run(["append", "--key", cli.path("teacher.key"), "--agency-key", keys("education")], stdin: Data(Self.contact.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        r = try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stderr)
        // Without a purpose, the reader's key or the agency key: refused, with what to give.
        head = try cli.head()
        for (args, says) in [([String](), "--purpose"), (["--purpose", "case-work"], "--reader-key"),
                             (["--purpose", "case-work", "--reader-key", cli.path("police.key")], "--agency-key")] {
            r = try cli.run(["case", "show", "C-2026-0001", "--details"] + args)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(says), r.stderr)
            XCTAssertFalse(r.stdout.contains("synthetic-sealed"))
        }
        r = try cli.run("case", "show", "C-2026-0001", "--details", "--purpose", "gossip")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try cli.head(), head, "no refused reading is recorded")
        // police read: the reading is appended first, then the notes are shown.
        r = try cli.run("case", "show", "C-2026-0001", "--details", "--purpose", "strategy-discussion", "--reader-key", cli.path("police.key"), "--agency-key", keys("police"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("synthetic-sealed-opening-note") && r.stdout.contains("synthetic-sealed-school-note"), r.stdout)
        XCTAssertTrue(r.stderr.contains("Recorded your reading of 3 sealed records"), r.stderr)
        XCTAssertNotEqual(try cli.head(), head)
        r = try cli.run("project", "update", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("audit", "access", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertEqual(lines.count, 1, r.stdout)
        XCTAssertTrue(lines[0].contains("\"purpose\":\"strategy_discussion\"") && lines[0].contains("\"agency\":\"police\"") && lines[0].contains("\"records\":3"), String(lines[0]))
        // The practice report lists the reading too.
        r = try cli.run("report", "practice", "--format", "json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let sections = try JSONParser.parse(Array(r.stdout.utf8))["sections"]?.arrayValue ?? []
        let readings = try XCTUnwrap(sections.first { $0["title"]?.stringValue?.hasPrefix("Readings of sealed details") == true }, r.stdout)
        let rows = readings["rows"]?.arrayValue ?? []
        XCTAssertEqual(rows.count, 1, "\(readings)")
        XCTAssertEqual(rows.first?["agency"]?.stringValue, "police")
        XCTAssertEqual(rows.first?["practitioner"]?.stringValue, "PC 0001")
        XCTAssertEqual(rows.first?["purpose"]?.stringValue, "strategy discussion")
        XCTAssertEqual(rows.first?["records read"]?.integerValue, 3)
        XCTAssertEqual(rows.first?["case"]?.stringValue, "C-2026-0001")
        // log show never opens a sealed record.
        r = try cli.run("log", "show", "6")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("sealed under the case's key"), r.stdout)
        for file in [cli.path("ledger.sqlite"), cli.path("ledger.sqlite-wal")] where FileManager.default.fileExists(atPath: file) {
            XCTAssertNil(try Data(contentsOf: URL(fileURLWithPath: file)).range(of: Data("synthetic-sealed".utf8)), file)
        }
    }

    static let oldCase = [
        #"{"type":"case.opened","case_id":"C-2018-0001","occurred_at":"2018-01-10T09:00:00Z","facts":{"birth_month":"2004-04","gender":"female","looked_after":false,"learning_disability":false,"borough":"TEST"},"details":{"narrative":"synthetic-old-case-note"}}"#,
        #"{"type":"case.closed","case_id":"C-2018-0001","occurred_at":"2019-02-01T09:00:00Z","facts":{"reason":"risk_reduced"},"details":{"narrative":"synthetic-old-case-closing"}}"#,
    ].joined(separator: "\n")

    func testErasureAtTheEndOfRetentionKeepsEveryFigureAndProof() throws {
        try cli.makeSealedLedger()
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("chair.key"), "--unprotected").status, 0)
        var r = try cli.run("keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("chair.key.pub"), "--agency", "partnership",
                            "--role", "mase_chair", "--practitioner", "Chair 0004")
        XCTAssertEqual(r.status, 0, r.stderr)
        // Without a retention period in the policy, nothing is destroyed.
        r = try cli.run(["import", "--key", cli.path("police.key"), "--agency-key", cli.path("agency-keys/police.key"), "--file", "-"], stdin: Data(Self.oldCase.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        var head = try cli.head()
        r = try cli.run("retention", "review", "--case", "C-2018-0001", "--decision", "destroyed", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("sets no retention period"), r.stderr)
        XCTAssertEqual(try cli.head(), head)
        // Retention runs from when the closing was recorded (today), not from the closing date
        // given (2019): a backdated closing does not shorten it (red-team finding F3).
        r = try cli.run("policy", "seal", "--key", cli.path("root.key"), "--agency-keys", cli.path("agency-keys"), "--every-case", "police,csc", "--retain-years", "6")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("retention", "review", "--case", "C-2018-0001", "--decision", "destroyed", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("keeps its records 6 years from then"), r.stderr)
        r = try cli.run("policy", "seal", "--key", cli.path("root.key"), "--agency-keys", cli.path("agency-keys"), "--every-case", "police,csc", "--retain-years", "0")
        XCTAssertEqual(r.status, 0, r.stderr)
        // Legal holds block it, each until its own lift (red-team finding F4), with what to do.
        for reason in ["litigation", "inquiry"] {
            r = try cli.run("retention", "hold", "--case", "C-2018-0001", "--reason", reason, "--key", cli.path("chair.key"))
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        r = try cli.run("retention", "hold", "--case", "C-2018-0001", "--reason", "inquiry", "--lift", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 0, r.stderr)
        head = try cli.head()
        r = try cli.run("retention", "review", "--case", "C-2018-0001", "--decision", "destroyed", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("a legal hold is in force on case C-2018-0001"), r.stderr)
        r = try cli.run("retention", "hold", "--case", "C-2018-0001", "--reason", "police-investigation", "--lift", "--key", cli.path("chair.key"))
        XCTAssertNotEqual(r.status, 0, "a hold never placed cannot be lifted")
        XCTAssertTrue(r.stderr.contains("no legal hold for police_investigation is in force"), r.stderr)
        XCTAssertEqual(try cli.head(), head)
        r = try cli.run("retention", "hold", "--case", "C-2018-0001", "--reason", "litigation", "--lift", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub")).status, 0)
        let before = try figures(try cli.run("report", "mase", "--from", "2018-01-01", "--to", "2026-12-01", "--format", "json").stdout)
        let cipher = try DatabaseQueue(path: cli.path("ledger.sqlite")).read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM details JOIN events USING (seq) WHERE case_id = 'C-2018-0001'")
        }
        XCTAssertEqual(cipher.count, 2)
        r = try cli.run("retention", "review", "--case", "C-2018-0001", "--decision", "destroyed", "--key", cli.path("chair.key"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Erased C-2018-0001's details: its keys and 2 details records are gone from the file and its write-ahead log"), r.stdout)
        // Verify passes, the figures are the same, the details read "erased" and are nowhere in the file or its WAL.
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(try cli.run("project", "update", "--trust-file", cli.path("root.key.pub")).status, 0)
        XCTAssertEqual(try figures(try cli.run("report", "mase", "--from", "2018-01-01", "--to", "2026-12-01", "--format", "json").stdout), before)
        r = try cli.run("case", "show", "C-2018-0001", "--details")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.components(separatedBy: "(erased on ").count - 1, 2, r.stdout)
        for file in [cli.path("ledger.sqlite"), cli.path("ledger.sqlite-wal")] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for c in cipher { XCTAssertNil(bytes.range(of: c.subdata(in: 30..<60)), file) }
        }
    }

    /// The issue's examples: under a policy with `identifiers`, ids and references that could
    /// identify someone are refused by `record` and, written straight into the file, by `verify`.
    func testIdentifyingIdsAndReferencesAreRefusedUnderThePolicy() throws {
        try cli.makeLedger()
        var r = try cli.run("policy", "identifiers", "--key", cli.path("root.key"), "--boroughs", "TEST,BOROUGH-A")
        XCTAssertEqual(r.status, 0, r.stderr)
        let head = try cli.head()
        for (args, says) in [
            (["record", "case-open", "--case", "Alice-Example-DOB-2012-04-03", "--birth-month", "2012-04", "--gender", "female", "--borough", "TEST"], "is not a case id of this partnership"),
            (["record", "case-open", "--case", "C-2026-0099", "--birth-month", "2012-04", "--gender", "female", "--borough", "14-Acacia-Avenue.SM1-2AB"], "is not one of the partnership's borough codes"),
            (["record", "link", "--case", "C-0001", "--to", "person-of-concern", "--ref", "POI-John-Smith-DOB-1990-01-01"], "is not a reference of this partnership"),
            (["record", "link", "--case", "C-0001", "--to", "person-of-concern", "--ref", "POI-JOHN-1990"], "is not a reference of this partnership"),
        ] {
            r = try cli.run(args + ["--key", cli.path("police.key")])
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(says) && r.stderr.contains("goes in the details") || r.stderr.contains("borough codes"), r.stderr)
        }
        XCTAssertEqual(try cli.head(), head, "nothing was recorded")
        for (args, _) in [(["record", "case-open", "--case", "C-2026-0099", "--birth-month", "2012-04", "--gender", "female", "--borough", "BOROUGH-A"], 0),
                          (["record", "link", "--case", "C-0001", "--to", "person-of-concern", "--ref", "POI-0042"], 0),
                          (["record", "link", "--case", "C-0001", "--to", "location", "--ref", "MASE-2026-11-A3"], 0)] {
            r = try cli.run(args + ["--key", cli.path("police.key")])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        // An enrolled practitioner writing one straight into the file: verify refuses it.
        let insider = try Insider(keyFile: cli.path("police.key"), agency: "police", practitioner: "PC 0001")
        let w = try insider.insert(into: cli.ledger, type: "case.opened", caseID: "Alice-Example-2012", facts: [
            "birth_month": "2012-04", "gender": "female", "looked_after": false, "learning_disability": false, "borough": "TEST"])
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--json")
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stdout.contains("\"seq\":\(w.seq)") && r.stdout.contains("invalid_facts"), r.stdout)
    }
}

extension CLI {
    /// A copy of the ledger file named `name` in the test's folder, changed by `body` in one
    /// write transaction (as someone with the file would change it).
    func changedCopy(_ name: String, _ body: (Database) throws -> Void) throws -> String {
        let copy = path(name)
        try DatabaseQueue(path: ledger).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        let q = try DatabaseQueue(path: copy)
        try q.write(body)
        try q.close()
        return copy
    }

    /// A small sealed ledger made by the commands a partnership would use.
    func makeSealedLedger() throws {
        for k in ["root", "police", "csc", "teacher"] {
            XCTAssertEqual(try run("keys", "generate", "--out", path("\(k).key"), "--unprotected").status, 0)
        }
        var r = try run("init", "--root-key", path("root.key"), "--partnership", "Test Partnership", "--origin", "test.example/ledger")
        XCTAssertEqual(r.status, 0, r.stderr)
        for (k, agency, name) in [("police", "police", "PC 0001"), ("csc", "csc", "SW 0002"), ("teacher", "education", "DSL 0003")] {
            r = try run("keys", "enrol", "--key", path("root.key"), "--public", path("\(k).key.pub"), "--agency", agency,
                            "--role", "practitioner", "--practitioner", name)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        try FileManager.default.createDirectory(atPath: path("agency-keys"), withIntermediateDirectories: true)
        r = try run("policy", "seal", "--key", path("root.key"), "--agency-keys", path("agency-keys"), "--every-case", "police,csc", "--unprotected")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("case details are sealed from now on"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("agency-keys/education.key")))
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path("agency-keys/education.key"))[.posixPermissions] as? Int, 0o600)
    }
}

/// `policy rewrap`: after a policy adds an agency to every case, copies of the case keys it
/// lacks are added by an agency that holds them, and only by an enrolled key.
final class RewrapTests: XCTestCase {
    var cli: CLI!
    override func setUpWithError() throws { cli = try CLI() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func testAnAgencyAddedToEveryCaseGetsCopiesOfExistingCaseKeys() throws {
        try cli.makeSealedLedger()
        let keys = { (agency: String) in self.cli.path("agency-keys/\(agency).key") }
        var r = try cli.run(["import", "--key", cli.path("police.key"), "--agency-key", keys("police"), "--file", "-"],
                            stdin: Data([PrivacyTests.opened, PrivacyTests.contact.replacingOccurrences(of: "synthetic-sealed-school-note", with: "synthetic-sealed-police-note")].joined(separator: "\n").utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("policy", "seal", "--key", cli.path("root.key"), "--agency-keys", cli.path("agency-keys"), "--every-case", "police,csc,education")
        XCTAssertEqual(r.status, 0, r.stderr)
        // education is entitled now, but holds no copy of the old case's key: told what to do.
        let head = try cli.head()
        r = try cli.run(["append", "--key", cli.path("teacher.key"), "--agency-key", keys("education")], stdin: Data(PrivacyTests.contact.utf8))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("education is entitled to case C-2026-0001 but holds no copy of its key yet") && r.stderr.contains("policy rewrap"), r.stderr)
        XCTAssertEqual(try cli.head(), head)
        // Only an enrolled key wraps, and only with its agency's own key.
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("stranger.key"), "--unprotected").status, 0)
        r = try cli.run("policy", "rewrap", "--key", cli.path("stranger.key"), "--agency-key", keys("police"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("is not enrolled") && r.stderr.contains("nothing was changed"), r.stderr)
        r = try cli.run("policy", "rewrap", "--key", cli.path("police.key"), "--agency-key", cli.path("stranger.key"))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("is no agency's key"), r.stderr)
        // education holds no copy to wrap from.
        r = try cli.run("policy", "rewrap", "--key", cli.path("teacher.key"), "--agency-key", keys("education"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Wrote 0 wrapped copies") && r.stdout.contains("C-2026-0001"), r.stdout)
        r = try cli.run("policy", "rewrap", "--key", cli.path("police.key"), "--agency-key", keys("police"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Wrote 1 wrapped copy of case keys for 1 case."), r.stdout)
        r = try cli.run("policy", "rewrap", "--key", cli.path("police.key"), "--agency-key", keys("police"))
        XCTAssertTrue(r.stdout.contains("Wrote 0 wrapped copies"), "a second run adds nothing: \(r.stdout)")
        XCTAssertEqual(try cli.head(), head, "no event is recorded")
        // education now records and reads the case.
        r = try cli.run(["append", "--key", cli.path("teacher.key"), "--agency-key", keys("education")], stdin: Data(PrivacyTests.contact.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub")).status, 0)
        r = try cli.run("case", "show", "C-2026-0001", "--details", "--purpose", "case-work", "--reader-key", cli.path("teacher.key"), "--agency-key", keys("education"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("synthetic-sealed-opening-note") && r.stdout.contains("synthetic-sealed-police-note"), r.stdout)
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }
}
