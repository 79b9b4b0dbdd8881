import Foundation
import GRDB
import SafeguardCore
import XCTest

/// Attacks found by an independent review of the transparency commands, kept as regression
/// tests: each must be refused, reported as such, or (where a file cannot show it) said.
final class TransparencyReviewTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws { cli = try CLI.withCheckpointKey() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func cpKey() throws -> SigningKey { try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("cp.key")))), passphrase: { nil }) }

    /// --witness A --witness A --quorum 2 is refused: a witness counts once.
    func testAWitnessNamedTwiceCountsOnce() throws {
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("w.key"), "--unprotected").status, 0)
        let witness = ["--key", cli.path("w.key"), "--name", "w1", "--log-key", cli.path("log.vkey"), "--state", cli.path("w.state")]
        let wvkey = try cli.run(["witness", "add-checkpoint", "x"] + witness + ["--vkey"]).stdout.trimmingCharacters(in: .newlines)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("cp1.note")).status, 0)
        try cli.run("prove", "consistency", "--from", "0").stdout.write(toFile: cli.path("r0"), atomically: true, encoding: .utf8)
        let line = try cli.run(["witness", "add-checkpoint", cli.path("r0")] + witness).stdout
        try (try String(contentsOfFile: cli.path("cp1.note"), encoding: .utf8) + line).write(toFile: cli.path("cp1.cosigned"), atomically: true, encoding: .utf8)
        let r = try cli.run("verify", "--trust-file", cli.path("p/keys/root.key.pub"), "--checkpoint", cli.path("cp1.cosigned"), "--log-key", cli.path("log.vkey"),
                            "--witness", wvkey, "--witness", wvkey, "--quorum", "2")
        XCTAssertNotEqual(r.status, 0, "quorum 2 met by ONE witness: " + r.stdout)
    }

    /// Two add-checkpoint runs at once on one state file, for two forks of one size: at most one is cosigned.
    func testConcurrentRequestsCannotGetTwoForksCosigned() throws {
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("w.key"), "--unprotected").status, 0)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub")).status, 0)
        try cli.run("prove", "consistency", "--from", "0").stdout.write(toFile: cli.path("ra"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run("demo", "seed", "--dir", cli.path("fork"), "--events", "61", "--seed", "11", "--end", "2026-06-01T00:00:00Z").status, 0)
        try cli.signDirectly(ledger: cli.path("fork/ledger.sqlite"), key: cli.path("cp.key"))
        try cli.run("prove", "consistency", "--ledger", cli.path("fork/ledger.sqlite"), "--from", "0").stdout.write(toFile: cli.path("rb"), atomically: true, encoding: .utf8)
        // The state says size 60 root A was cosigned; now two requests from 60 each for different forks at 61 would be the same;
        // simplest: first contact for both.
        var both = 0
        for i in 0..<10 {
            let st = cli.path("w\(i).state")
            let w = ["--key", cli.path("w.key"), "--name", "w1", "--log-key", cli.path("log.vkey"), "--state", st]
            final class Box: @unchecked Sendable { var r: [Int32] = [-1, -1]; let l = NSLock() }
            let box = Box()
            let c = cli!
            DispatchQueue.concurrentPerform(iterations: 2) { j in
                let s = (try? c.run(["witness", "add-checkpoint", c.path(j == 0 ? "ra" : "rb")] + w))?.status ?? -2
                box.l.lock(); box.r[j] = s; box.l.unlock()
            }
            if box.r == [0, 0] { both += 1 }
        }
        XCTAssertEqual(both, 0, "the witness cosigned two different trees of the same size")
    }

    /// An operator adds a huge row to checkpoints: verify --checkpoint --evidence still says REWRITTEN (exit 1).
    func testAPlantedCheckpointRowDoesNotHideARewrite() throws {
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("kept.note")).status, 0)
        XCTAssertEqual(try cli.run("demo", "seed", "--dir", cli.path("fork"), "--events", "61", "--seed", "11", "--end", "2026-06-01T00:00:00Z").status, 0)
        try cli.signDirectly(ledger: cli.path("fork/ledger.sqlite"), key: cli.path("cp.key"))
        try DatabaseQueue(path: cli.path("fork/ledger.sqlite")).write { db in
            try db.execute(sql: "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (1000000, zeroblob(32), x'00', '2026-01-01T00:00:00Z')")
        }
        let r = try cli.run("verify", "--ledger", cli.path("fork/ledger.sqlite"), "--trust-file", cli.path("fork/keys/root.key.pub"),
                            "--checkpoint", cli.path("kept.note"), "--log-key", cli.path("log.vkey"), "--evidence", cli.path("ev.json"))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("REWRITTEN"), r.stderr)
    }

    /// The operator rewrites history and drops tree_nodes, claiming an old format (user_version
    /// 1): the file is not a format 1 file (it holds the later tables), so verify refuses it,
    /// and --checkpoint finds the rewrite (exit 1).
    func testADroppedTreeDoesNotHideARewrite() throws {
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("kept.note")).status, 0)
        XCTAssertEqual(try cli.run("demo", "seed", "--dir", cli.path("fork"), "--events", "61", "--seed", "11", "--end", "2026-06-01T00:00:00Z").status, 0)
        try DatabaseQueue(path: cli.path("fork/ledger.sqlite")).writeWithoutTransaction { db in
            try db.execute(sql: "DROP TABLE tree_nodes; DROP TABLE IF EXISTS checkpoints; PRAGMA user_version = 1")
        }
        var r = try cli.run("verify", "--ledger", cli.path("fork/ledger.sqlite"), "--trust-file", cli.path("fork/keys/root.key.pub"), "--json")
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.contains(#""code":"unknown_schema_object""#) || r.stdout.contains(#""code":"altered_table""#), r.stdout)
        r = try cli.run("verify", "--ledger", cli.path("fork/ledger.sqlite"), "--trust-file", cli.path("fork/keys/root.key.pub"),
                        "--checkpoint", cli.path("kept.note"), "--log-key", cli.path("log.vkey"))
        XCTAssertEqual(r.status, 1, r.stderr)
    }

    /// A crafted checkpoints table (no CHECKs): 'safeguard checkpoint' refuses with one line, never a crash.
    func testACraftedCheckpointsTableIsRefusedNotCrashed() throws {
        try DatabaseQueue(path: cli.path("p/ledger.sqlite")).writeWithoutTransaction { db in
            try db.execute(sql: """
                DROP TABLE checkpoints;
                CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root BLOB, note BLOB, signed_at TEXT);
                INSERT INTO checkpoints VALUES (-5, zeroblob(32), x'00', '2026-01-01T00:00:00Z');
                """)
        }
        let r = try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"))
        XCTAssertTrue([1, 3, 4].contains(r.status), "crashed with \(r.status): \(r.stderr.suffix(300))")
        XCTAssertFalse(r.stderr.contains("crashed") || r.stderr.contains("Precondition"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }

    /// Anyone can delete case records from a bundle: it still checks, and says it cannot show completeness.
    func testABundleSaysItCannotShowCompleteness() throws {
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub")).status, 0)
        var r = try cli.run("log", "list", "--json")
        let caseIDs = r.stdout.matches(of: /"case_id":"([^"]+)"/).map { String($0.1) }
        let caseID = try XCTUnwrap(Dictionary(grouping: caseIDs, by: { $0 }).max { $0.value.count < $1.value.count }?.key)
        r = try cli.run("evidence", caseID, "--out", cli.path("b"))
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try String(contentsOfFile: cli.path("b/entries.jsonl"), encoding: .utf8).split(separator: "\n").map(String.init)
        // Keep genesis..governance and only the first case record.
        let items = try lines.map { try EvidenceBundle.Item(line: Array($0.utf8)) }
        var kept: [String] = []
        var caseKept = 0
        for (l, it) in zip(lines, items) {
            let n = Int(it.entry.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let t = try JSONParser.parse(Array(it.entry[4..<(4 + n)]), mode: .canonical)["type"]!.stringValue!
            if t.hasPrefix("governance.") { kept.append(l) } else if caseKept == 0 { kept.append(l); caseKept += 1 }
        }
        try FileManager.default.createDirectory(atPath: cli.path("b2"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cli.path("b/checkpoint.note"), toPath: cli.path("b2/checkpoint.note"))
        try (kept.joined(separator: "\n") + "\n").write(toFile: cli.path("b2/entries.jsonl"), atomically: true, encoding: .utf8)
        r = try cli.run("evidence", "check", cli.path("b2"), "--trust-file", cli.path("p/keys/root.key.pub"), "--log-key", cli.path("log.vkey"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("cannot show that it holds every record of the case"), r.stdout)
    }

    /// Evidence built from two honest checkpoints and a garbage proof is not called proof (exit 1).
    func testFabricatedEvidenceIsNotProof() throws {
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("a.note")).status, 0)
        XCTAssertEqual(try cli.run("record", "case-open", "--key", cli.path("p/keys/police.key"), "--case", "C-X-1", "--birth-month", "2012-01",
                                   "--gender", "male", "--borough", "B", "--at", "2026-06-01T00:00:00Z").status, 0)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("b.note")).status, 0)
        let e: [String: Any] = ["kind": "safeguard/tlog-misbehaviour@v1", "reason": "x", "old": 60, "proof": [],
                                "cosigned": try String(contentsOfFile: cli.path("a.note"), encoding: .utf8),
                                "presented": try String(contentsOfFile: cli.path("b.note"), encoding: .utf8)]
        try JSONSerialization.data(withJSONObject: e).write(to: URL(fileURLWithPath: cli.path("ev.json")))
        let r = try cli.run("check-proof", cli.path("ev.json"), "--log-key", cli.path("log.vkey"))
        XCTAssertNotEqual(r.status, 0)
    }

    /// An unsigned, self-contradicting entry in the log's tree: check-proof refuses to describe it.
    func testAnInclusionProofOfAMalformedEntryIsRefused() throws {
        let env = Array(#"{"event_id":"11111111-1111-4111-8111-111111111111","seq":5,"type":"case.closed"}"#.utf8)
        let entry = [0, 0, 0, UInt8(env.count)] + env + [UInt8](repeating: 0, count: 64) + Array("trailing".utf8)
        let tree = InMemoryTree(leafHashes: [Merkle.leafHash(entry)])
        let c = Checkpoint(origin: "example.org/synthetic-ledger", size: 1, root: tree.root())!
        let note = try c.sign(name: "example.org/synthetic-ledger", key: try cpKey())
        try Data(ProofText.Inclusion(extra: entry, index: 0, proof: [], checkpoint: note).text).write(to: URL(fileURLWithPath: cli.path("p.proof")))
        let r = try cli.run("check-proof", cli.path("p.proof"), "--log-key", cli.path("log.vkey"))
        XCTAssertNotEqual(r.status, 0)
    }

    /// The same checkpoint presented again with a junk proof is not called "two different trees".
    func testAJunkProofIsNotCalledTwoTrees() throws {
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("w.key"), "--unprotected").status, 0)
        let w = ["--key", cli.path("w.key"), "--name", "w1", "--log-key", cli.path("log.vkey"), "--state", cli.path("w.state")]
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub")).status, 0)
        let req = try cli.run("prove", "consistency", "--from", "0").stdout
        try req.write(toFile: cli.path("r0"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run(["witness", "add-checkpoint", cli.path("r0")] + w).status, 0)
        let junk = req.replacingOccurrences(of: "old 0\n", with: "old 69\n\(Base64.encode([UInt8](repeating: 1, count: 32)))\n")
        try junk.write(toFile: cli.path("r1"), atomically: true, encoding: .utf8)
        let r = try cli.run(["witness", "add-checkpoint", cli.path("r1")] + w + ["--evidence", cli.path("ev.json")])
        XCTAssertFalse(r.stderr.contains("two different trees"), r.stderr)
    }
}
