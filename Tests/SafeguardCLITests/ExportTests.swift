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

    /// The privacy issue's auditor: a sealed ledger's facts-only copy verifies with the root
    /// public key, the checkpoint and the log's key alone, and holds no ciphertext or case key.
    func testASealedLedgersFactsOnlyCopyVerifiesWithTheRootKeyAlone() throws {
        let c = try CLI.withCheckpointKey(events: 300, sealed: true)
        defer { try? FileManager.default.removeItem(at: c.dir) }
        let root = c.path("p/keys/root.key.pub"), copy = c.path("copy.sqlite")
        XCTAssertEqual(try c.checkpoint(c.path("cp.key"), root: root).status, 0)
        var r = try c.run("export", "--facts-only", "--out", copy)
        XCTAssertEqual(r.status, 0, r.stderr)
        let sealed = try DatabaseQueue(path: c.path("p/ledger.sqlite")).read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM details WHERE substr(body, 1, 1) = x'01' LIMIT 20")
        }
        XCTAssertEqual(sealed.count, 20)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: copy))
        for body in sealed { XCTAssertNil(bytes.range(of: body.subdata(in: 30..<60)), "no ciphertext in the copy") }
        let keys = try DatabaseQueue(path: copy).read { db in try db.tableExists("case_keys") ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM case_keys") ?? 0 : 0 }
        XCTAssertEqual(keys, 0, "no wrapped case key in the copy")
        r = try c.run("verify", "--ledger", copy, "--details-withheld", "--trust-file", root, "--checkpoint", copy + ".checkpoint", "--log-key", c.path("log.vkey"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }
}
