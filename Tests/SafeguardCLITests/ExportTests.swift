import Foundation
import GRDB
import XCTest

/// `safeguard export --facts-only` (issue 18): an auditor's copy with every signed entry and
/// the tree, no details record, that verifies with the root public key and the checkpoint.
final class ExportTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws { cli = try CLI.withCheckpointKey() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func testAFactsOnlyCopyVerifiesAndHoldsNoDetails() throws {
        let root = cli.path("p/keys/root.key.pub"), copy = cli.path("audit/copy.sqlite")
        try FileManager.default.createDirectory(atPath: cli.path("audit"), withIntermediateDirectories: true)
        // No checkpoint yet: nothing to export up to.
        var r = try cli.run("export", "--facts-only", "--out", copy)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("run 'safeguard checkpoint' first"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: copy))
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: root).status, 0)
        r = try cli.run("export", "--out", copy)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("give --facts-only"), r.stderr)

        r = try cli.run("export", "--facts-only", "--out", copy)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("facts only (no details)"), r.stdout)
        for file in [copy, copy + ".checkpoint"] {
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int, 0o600, file)
        }
        // Every entry, no details; the source has them (the demo's narratives).
        let source = try DatabaseQueue(path: cli.path("p/ledger.sqlite"))
        let target = try DatabaseQueue(path: copy)
        let counts = try source.read { db in (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events")!, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM details")!) }
        XCTAssertGreaterThan(counts.1, 0)
        XCTAssertEqual(try target.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events") }, counts.0)
        XCTAssertEqual(try target.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM details") }, 0)
        let narrative = try source.read { try Data.fetchOne($0, sql: "SELECT body FROM details LIMIT 1") }!
        let bytes = try Data(contentsOf: URL(fileURLWithPath: copy))
        XCTAssertNil(bytes.range(of: narrative.prefix(40)), "no details' bytes anywhere in the copy")
        try target.close()

        // The auditor: root public key, the checkpoint and the log's key; details withheld.
        r = try cli.run("verify", "--ledger", copy, "--details-withheld", "--trust-file", root, "--checkpoint", copy + ".checkpoint", "--log-key", cli.path("log.vkey"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        r = try cli.run("verify", "--ledger", copy, "--trust-file", root)
        XCTAssertNotEqual(r.status, 0, "without --details-withheld a missing record is a failure: \(r.stdout)")
        // A second export to the same place is refused; the first is untouched.
        r = try cli.run("export", "--facts-only", "--out", copy)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("already exists"), r.stderr)
    }
}
