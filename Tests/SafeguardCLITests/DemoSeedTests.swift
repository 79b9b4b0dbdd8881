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
    }

    func testRefusesANonEmptyFolder() throws {
        try FileManager.default.createDirectory(atPath: cli.path("full"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: cli.path("full/x"), contents: Data("x".utf8))
        let r = try cli.run("demo", "seed", "--dir", cli.path("full"), "--events", "10")
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("not empty"), r.stderr)
    }
}
