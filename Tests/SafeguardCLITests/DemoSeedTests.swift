import Foundation
import XCTest

/// `demo seed` makes a ledger that verifies, covers the toolkit's families, and is the same
/// byte for byte for the same seed and end time. The 100,000-event run is behind
/// SAFEGUARD_SEED_EVENTS (e.g. SAFEGUARD_SEED_EVENTS=100000 tools/test) to keep CI short.
final class DemoSeedTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws { cli = try CLI() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    var events: Int { Int(ProcessInfo.processInfo.environment["SAFEGUARD_SEED_EVENTS"] ?? "") ?? 4000 }

    func seed(_ dir: String, seed: Int = 7) throws -> CLI.Result {
        try cli.run("demo", "seed", "--dir", cli.path(dir), "--events", "\(events)", "--seed", "\(seed)", "--end", "2026-06-01T00:00:00Z", "--json")
    }

    func testSeededLedgerVerifiesAndIsDeterministic() throws {
        let a = try seed("a")
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains(#""events":\#(events + 9)"#), a.stdout)
        let v = try cli.run("verify", "--ledger", cli.path("a/ledger.sqlite"), "--trust-file", cli.path("a/keys/root.key.pub"), "--json")
        XCTAssertEqual(v.status, 0, v.stdout)
        let b = try seed("b")
        XCTAssertEqual(a.stdout.replacingOccurrences(of: #""ledger":"[^"]*","#, with: "", options: .regularExpression)
                           .replacingOccurrences(of: #","seconds":[0-9]+"#, with: "", options: .regularExpression),
                       b.stdout.replacingOccurrences(of: #""ledger":"[^"]*","#, with: "", options: .regularExpression)
                           .replacingOccurrences(of: #","seconds":[0-9]+"#, with: "", options: .regularExpression),
                       "same seed and end: same head hash")
        let c = try seed("c", seed: 8)
        XCTAssertNotEqual(a.stdout.components(separatedBy: "head_hash")[1].prefix(70), c.stdout.components(separatedBy: "head_hash")[1].prefix(70))

        let log = try cli.run("log", "--ledger", cli.path("a/ledger.sqlite"), "--json")
        for t in ["case.opened", "contact.recorded", "screening.cse_tool", "referral.mash_written", "decision.mash", "decision.strategy",
                  "sharing.shared", "missing.started", "missing.returned", "link.recorded", "disruption.recorded", "referral.mase",
                  "meeting.mase", "action.set", "acknowledgement.recorded", "case.closed"] {
            XCTAssertTrue(log.stdout.contains(#""type":"\#(t)""#), "no \(t) in the synthetic ledger")
        }
        XCTAssertFalse(log.stdout.contains("@"), "no e-mail-like strings in synthetic data")
        // Event ids look random: people name events by their first 8 hex digits.
        let ids = log.stdout.split(separator: "\n").compactMap { $0.firstMatch(of: /"event_id":"([0-9a-f]{8})/).map { String($0.1) } }
        XCTAssertEqual(Set(ids).count, ids.count, "event ids share their first 8 hex digits")
    }

    /// Regression: with this --end, a case's two escalations once shared the first 8 hex digits
    /// of their ids, the generator took the second's resolution for the first's, and the case's
    /// closing was refused (no --despite with an escalation open), so `demo seed` failed.
    func testEveryStoryIsRecordable() throws {
        for end in ["2026-12-06T03:40:00Z", "2026-12-06T02:09:00Z"] {
            let r = try cli.run("demo", "seed", "--dir", cli.path("end-\(end.prefix(13))"), "--events", "20000", "--seed", "1", "--end", end)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
    }

    /// What `tools/demo` shows: on a year of synthetic records, the MASE report for the month
    /// since the last panel has a figure in every statistic, and every rule R1–R15 has
    /// exceptions, as on the demo (20,000 events; the seed and end are fixed, so it is the
    /// same ledger on every run).
    func testDemoHasFiguresForEveryStatisticAndRule() throws {
        let r = try cli.run("demo", "seed", "--dir", cli.path("demo"), "--events", "20000", "--seed", "1", "--end", "2026-12-05T12:00:00Z")
        XCTAssertEqual(r.status, 0, r.stderr)
        let ledger = cli.path("demo/ledger.sqlite")
        let p = try cli.run("project", "rebuild", "--ledger", ledger, "--trust-file", cli.path("demo/keys/root.key.pub"))
        XCTAssertEqual(p.status, 0, p.stderr)
        let m = try cli.run("report", "mase", "--ledger", ledger, "--to", "2026-12-05", "--format", "json")
        XCTAssertEqual(m.status, 0, m.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(m.stdout.utf8)) as? [String: Any])
        let title = try XCTUnwrap(report["title"] as? String)
        XCTAssertTrue(title.contains("Wed 11 Nov 2026") || title.contains("Thu 12 Nov 2026"), "the month since the November panel: \(title)")
        let sections = try XCTUnwrap(report["sections"] as? [[String: Any]])
        XCTAssertEqual(sections.count, 17)
        for section in sections {
            let name = section["title"] as? String ?? "?"
            if name.hasPrefix("16.") { continue }  // by agency: some agencies never have to act (checked below)
            // Counts are JSON numbers; text is a string.
            let rows = (section["rows"] as? [[String: Any]] ?? []).map { $0.mapValues { ($0 as? Int).map(String.init) ?? ($0 as? String) ?? "" } }
            XCTAssertFalse(rows.isEmpty, "\(name): no rows")
            // Every figure of the fixed tables is non-zero; every numeric column of the others adds up to more than 0.
            let fixed = ["2.", "3.", "6.", "11.", "14.", "15."].contains { name.hasPrefix($0) }
            for column in Set(rows.flatMap(\.keys)) {
                let values = rows.compactMap { $0[column] }.filter { !$0.isEmpty }
                guard !values.isEmpty, values.allSatisfy({ Int($0) != nil }) else { continue }
                if fixed {
                    for (i, v) in values.enumerated() { XCTAssertGreaterThan(Int(v)!, 0, "\(name): \(column) in row \(i + 1) is 0: \(rows[i])") }
                } else {
                    XCTAssertGreaterThan(values.reduce(0) { $0 + Int($1)! }, 0, "\(name): \(column) is 0 throughout")
                }
            }
        }
        let rules = sections.first { ($0["title"] as? String ?? "").hasPrefix("11.") }?["rows"] as? [[String: Any]] ?? []
        XCTAssertEqual(rules.compactMap { $0["rule"] as? String }, (1...15).map { "R\($0)" })
        // 16: the same cases per rule as 11, each under at least one agency to act (or any).
        let byAgency = sections.first { ($0["title"] as? String ?? "").hasPrefix("16.") }?["rows"] as? [[String: Any]] ?? []
        XCTAssertEqual(byAgency.map { $0["cases"] as? Int }, rules.map { $0["cases"] as? Int })
        for row in byAgency {
            let perAgency = row.filter { !["rule", "cases"].contains($0.key) }.values.compactMap { $0 as? Int }
            XCTAssertGreaterThanOrEqual(perAgency.reduce(0, +), row["cases"] as? Int ?? 0, "\(row)")
            XCTAssertLessThanOrEqual(perAgency.max() ?? 0, row["cases"] as? Int ?? 0, "\(row)")
        }
        // 17: twelve months, the last cut at 5 December; its exceptions are the cases with any today.
        let months = sections.first { ($0["title"] as? String ?? "").hasPrefix("17.") }?["rows"] as? [[String: Any]] ?? []
        XCTAssertEqual(months.map { $0["month"] as? String }.last, "2026-12 (1-5)")
        XCTAssertEqual(months.count, 12)
        let today = months.last?["cases with practice exceptions at the month's end"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(today, rules.compactMap { $0["cases"] as? Int }.max() ?? 0)
        XCTAssertLessThanOrEqual(today, rules.compactMap { $0["cases"] as? Int }.reduce(0, +))
        let referrals = Set((sections[0]["rows"] as? [[String: Any]] ?? []).compactMap { $0["referral"] as? String })
        XCTAssertEqual(referrals, ["referral.mash_written", "referral.mash_telephone", "referral.mase", "referral.ewo", "referral.rhi_provider", "referral.adult_social_care"])
        // The page and the wide CSV hold the same figures as the JSON, section by section.
        let pagePath = cli.path("demo/mase.html")
        XCTAssertEqual(try cli.run("report", "mase", "--ledger", ledger, "--to", "2026-12-05", "--format", "html", "--out", pagePath).status, 0)
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        let wide = try cli.run("report", "mase", "--ledger", ledger, "--to", "2026-12-05", "--format", "csv-wide").stdout
        func unescape(_ s: String) -> String {
            s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
                .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
        }
        let tables = page.components(separatedBy: "<tbody>").dropFirst().map { part in
            part.components(separatedBy: "</tbody>")[0].matches(of: /<tr>(.*?)<\/tr>/).map { row in
                String(row.1).matches(of: /<td[^>]*>(.*?)<\/td>/).map { unescape(String($0.1)) }
            }
        }
        XCTAssertEqual(tables.count, sections.count)
        for (section, table) in zip(sections, tables) {
            let title = section["title"] as? String ?? "?"
            let block = try XCTUnwrap(wide.components(separatedBy: "\n\n").first { $0.hasPrefix(title.contains(",") ? "\"" + title : title) }, title)
            let columns = block.split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let rows = (section["rows"] as? [[String: Any]] ?? []).map { r in
                columns.map { c in (r[c] as? Int).map(String.init) ?? (r[c] as? String) ?? "" }
            }
            XCTAssertEqual(table, rows.isEmpty ? [["none"]] : rows, "the page's table of \(title)")
            XCTAssertEqual(block.split(separator: "\n").count - 2, rows.count, "the wide CSV's rows of \(title)")
        }
        let outcomes = Set((sections[9]["rows"] as? [[String: Any]] ?? []).compactMap { $0["decision"] as? String })
        XCTAssertEqual(outcomes, ["decision.mash", "decision.nfa", "decision.strategy", "decision.early_help", "decision.s17"])
    }

    func testRefusesANonEmptyFolder() throws {
        try FileManager.default.createDirectory(atPath: cli.path("full"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: cli.path("full/x"), contents: Data("x".utf8))
        let r = try cli.run("demo", "seed", "--dir", cli.path("full"), "--events", "10")
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("not empty"), r.stderr)
    }
}
