import Foundation
import XCTest

/// project rebuild/update/status, case list/show and the audit reports through the executable.
final class ProjectTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI.withDemoLedger(events: 1500, seed: 3)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    /// `report mase --format html --out FILE`: the page is written whole, and says where; a
    /// folder that cannot be written to is one line and exit 3, with nothing left behind.
    func testTheMASEPageIsWrittenToAFile() throws {
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("p/keys/root.key.pub")).status, 0)
        let page = cli.path("mase.html")
        var r = try cli.run("report", "mase", "--format", "html", "--out", page)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("Wrote \(page) ("), r.stdout)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: page)[.posixPermissions] as? Int, 0o600, "the owner's only, whatever the umask")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cli.dir.path).filter { $0.hasSuffix(".partial") }, [], "nothing left beside it")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"), String(html.suffix(40)))
        XCTAssertTrue(html.contains("<svg role=\"img\""), "charts")
        r = try cli.run("report", "mase", "--format", "html", "--out", cli.path("no/such/folder/mase.html"))
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot write") && r.stderr.contains("choose a folder"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("no")))
    }

    /// `report trend`: months as asked, each a row; a bad --months is a usage error.
    func testTheTrend() throws {
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("p/keys/root.key.pub")).status, 0)
        var r = try cli.run("report", "trend", "--months", "6", "--to", "2026-06-01", "--format", "json")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(#""month":"2026-01","referrals":"#) && r.stdout.contains(#""month":"2026-06 (1)","referrals":0"#), r.stdout)
        r = try cli.run("report", "trend", "--months", "0")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--months must be from 1 to 120"), r.stderr)
    }

    /// --borough, --age-band, --gender and --agency on every report: a filtered report counts
    /// the children it names (the MASE report's children by gender add up to the whole); a
    /// value no case or policy knows is one line that lists what is, exit 3.
    func testFiltersOnEveryReport() throws {
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("p/keys/root.key.pub")).status, 0)
        func json(_ args: String...) throws -> [String: Any] {
            let r = try cli.run(args + ["--to", "2026-06-01", "--format", "json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        func activity(_ report: [String: Any]) -> [String: Int] {
            let sections = report["sections"] as? [[String: Any]] ?? []
            let rows = sections.first { ($0["title"] as? String)?.hasPrefix("5.") == true }?["rows"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["group"] as! String, $0["children"] as! Int) })
        }
        let whole = activity(try json("report", "mase", "--from", "2026-05-01"))
        var sum = 0
        for gender in ["female", "male", "non-binary", "not-known"] {
            let part = try json("report", "mase", "--from", "2026-05-01", "--gender", gender)
            XCTAssertTrue((part["title"] as? String)?.hasSuffix("(children of gender \(gender.replacingOccurrences(of: "-", with: " ")))") == true, "\(part["title"] ?? "")")
            let counts = activity(part)
            let mine = "gender: " + gender.replacingOccurrences(of: "-", with: " ")
            XCTAssertEqual(counts[mine], whole[mine], gender)
            XCTAssertEqual(counts.keys.filter { $0.hasPrefix("gender: ") }, counts[mine] == nil ? [] : [mine], "only \(gender)")
            sum += counts[mine] ?? 0
        }
        XCTAssertEqual(sum, whole.filter { $0.key.hasPrefix("gender: ") }.values.reduce(0, +))
        XCTAssertGreaterThan(sum, 0)
        for report in [["report", "practice", "--on", "2026-06-01"], ["report", "trend", "--months", "3", "--to", "2026-06-01"], ["report", "mase", "--to", "2026-06-01"]] {
            let r = try cli.run(report + ["--borough", "BOROUGH-A", "--age-band", "13-15", "--agency", "police", "--format", "md"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("children in borough BOROUGH-A, aged 13-15 at the end, known to police"), r.stdout)
        }
        for (args, message) in [(["--borough", "Nowhere"], "--borough: no case records borough \"Nowhere\"; the cases record BOROUGH-A, BOROUGH-B, BOROUGH-C"),
                                (["--agency", "fire"], "--agency: \"fire\" is not an agency"), (["--gender", "boy"], "--gender: \"boy\" is not a gender a case records; choose one of female, male, non-binary, not-known")] {
            let r = try cli.run(["report", "mase"] + args)
            XCTAssertEqual(r.status, 3, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
        }
        let r = try cli.run("report", "trend", "--age-band", "teen")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("under-13") && r.stderr.contains("18+"), r.stderr)
    }

    func testRebuildUpdateStatusAndReports() throws {
        var r = try cli.run("case", "list")
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("project rebuild"), r.stderr)
        r = try cli.run("project", "rebuild", "--trust-file", cli.path("p/keys/root.key.pub"), "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(#""events":1509"#) && r.stdout.contains(#""behind":0"#), r.stdout)
        let digests = r.stdout
        // Record one more event; status says one behind; update catches up; a second rebuild gives the same digests.
        let closed = try cli.run("record", "case-open", "--case", "C-NEW-1", "--birth-month", "2012-01", "--gender", "male", "--borough", "B",
                                 "--key", cli.path("p/keys/police.key"), "--at", "2026-06-01T00:00:00Z")
        XCTAssertEqual(closed.status, 0, closed.stderr)
        r = try cli.run("project", "status", "--json")
        XCTAssertTrue(r.stdout.contains(#""behind":1"#), r.stdout)
        r = try cli.run("project", "update", "--trust-file", cli.path("p/keys/root.key.pub"), "--json")
        XCTAssertTrue(r.stdout.contains(#""events":1510"#) && r.stdout.contains(#""behind":0"#), r.stdout)
        let updated = r.stdout
        r = try cli.run("project", "rebuild", "--trust-file", cli.path("p/keys/root.key.pub"), "--json")
        XCTAssertEqual(r.stdout, updated, "rebuild and update agree")
        XCTAssertNotEqual(updated, digests)

        r = try cli.run("case", "list", "--status", "all")
        XCTAssertTrue(r.stdout.hasPrefix("Built from the log at size 1510, head "), r.stdout)
        XCTAssertTrue(r.stdout.contains("C-NEW-1"), r.stdout)
        r = try cli.run("case", "show", "C-NEW-1")
        XCTAssertTrue(r.stdout.contains("Case C-NEW-1: open, stage opened") && r.stdout.contains("case.opened"), r.stdout)
        r = try cli.run("audit", "trail", "--case", "C-NEW-1", "--json")
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, r.stdout)
        XCTAssertTrue(r.stdout.contains(#""practitioner":"DC 0001 (synthetic)""#), r.stdout)
        r = try cli.run("audit", "sharing")
        XCTAssertTrue(r.stdout.contains("[shared]") && r.stdout.contains("basis uk_gdpr_6_1_e_public_task"), r.stdout)
        r = try cli.run("project", "rebuild", "--trust-file", cli.path("p/keys/police.key.pub"))
        XCTAssertEqual(r.status, 1, "a log that does not verify against the trusted key is not projected: \(r.stdout) \(r.stderr)")
    }
}
