import Foundation
import SafeguardCore
import TestSupport
import XCTest

/// One rules engine: the practice report (read models, verified entries) and `case next`
/// (the ledger, read directly) give the same exceptions for every case on every day, because
/// both are the catalogue's `CasePractice` over what was known on that day.
final class PracticeRulesTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws { cli = try CLI() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func json(_ s: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], s)
    }

    /// A property test on the synthetic ledger: for random days and cases, the report's
    /// exceptions for a case are exactly the case's exceptions from `case next --on`, and
    /// every step `case next` calls overdue is among them.
    func testTheReportAndCaseNextAgreeOnEveryDayAndCase() throws {
        let seeded = try cli.run("demo", "seed", "--dir", cli.path("d"), "--events", "3000", "--seed", "11", "--end", "2026-06-01T00:00:00Z")
        XCTAssertEqual(seeded.status, 0, seeded.stderr)
        let ledger = ["--ledger", cli.path("d/ledger.sqlite")]
        let built = try cli.run(["project", "rebuild"] + ledger + ["--trust-file", cli.path("d/keys/root.key.pub")])
        XCTAssertEqual(built.status, 0, built.stderr)
        var rng = SeededGenerator(seed: 20261205)
        var compared = 0, withExceptions = 0
        for _ in 0..<6 {
            // A day between the seed's first months and a week after its end.
            let day = String(Timestamp(seconds: Timestamp(rfc3339: "2025-08-01T12:00:00Z")!.seconds + Int64(Int.random(in: 0...310, using: &rng)) * 86_400).description.prefix(10))
            let report = try cli.run(["report", "practice"] + ledger + ["--on", day, "--format", "json"])
            XCTAssertEqual(report.status, 0, report.stderr)
            let sections = try XCTUnwrap(try json(report.stdout)["sections"] as? [[String: Any]])
            // Working days overdue is a JSON number, or null when there is no deadline.
            let rows = try XCTUnwrap(sections.first { ($0["title"] as? String) == "Exceptions" }?["rows"] as? [[String: Any]])
            var byCase: [String: [String]] = [:]
            for r in rows {
                let overdue = (r["working days overdue"] as? Int).map(String.init) ?? ""
                byCase[r["case"] as! String, default: []].append([r["rule"] as! String, r["what is missing"] as! String, r["since"] as! String, overdue].joined(separator: " | "))
            }
            // Some cases with exceptions that day, and some picked from every case id the seed made.
            let listed = byCase.keys.sorted()
            var cases = Set((0..<3).compactMap { _ in listed.isEmpty ? nil : listed[Int.random(in: 0..<listed.count, using: &rng)] })
            for _ in 0..<3 { cases.insert(String(format: "C-0000-%04d", Int.random(in: 1...400, using: &rng))) }
            for c in cases.sorted() {
                let next = try cli.run(["case", "next", c, "--on", day, "--json"] + ledger)
                if next.status != 0 {
                    XCTAssertTrue(next.stderr.contains("no case \(c)"), next.stderr)
                    XCTAssertNil(byCase[c], "the report lists \(c), which case next does not know")
                    continue
                }
                let o = try json(next.stdout)
                let exceptions = try XCTUnwrap(o["exceptions"] as? [[String: Any]]).map { e in
                    [e["rule"] as! String, e["what"] as! String, e["since"] as! String, (e["overdue_working_days"] as? Int).map(String.init) ?? ""].joined(separator: " | ")
                }
                XCTAssertEqual(exceptions.sorted(), (byCase[c] ?? []).sorted(), "case \(c) on \(day)")
                for step in try XCTUnwrap(o["next_steps"] as? [[String: Any]]) where step["overdue_working_days"] != nil {
                    XCTAssertTrue(exceptions.contains { $0.hasPrefix("\(step["rule"] as! String) | \(step["what"] as! String) |") }, "overdue step of \(c) on \(day) not an exception: \(step)")
                }
                compared += 1
                if !exceptions.isEmpty { withExceptions += 1 }
            }
        }
        XCTAssertGreaterThan(compared, 20)
        XCTAssertGreaterThan(withExceptions, 10, "the comparison must cover cases with exceptions")
    }
}
