import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

/// `safeguard checkpoint` and `head` through the executable.
final class CheckpointCLITests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws { cli = try CLI.withCheckpointKey() }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func testACheckpointIsASignedNoteOfTheTreeHead() throws {
        let vkey = try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey")
        XCTAssertEqual(vkey.status, 0, vkey.stderr)
        let verifier = try XCTUnwrap(NoteVerifier(verifierKey: vkey.stdout.trimmingCharacters(in: .newlines)), vkey.stdout)
        XCTAssertEqual(verifier.name, "example.org/synthetic-ledger")
        let signed = try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("cp1.note"))
        XCTAssertEqual(signed.status, 0, signed.stderr)
        let checkpoint = try Checkpoint.open(Array(signed.stdout.utf8), log: verifier).checkpoint
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: cli.path("cp1.note"))), Data(signed.stdout.utf8))
        // head and verify report the same tree head.
        let head = try cli.run("head", "--json")
        XCTAssertTrue(head.stdout.contains(#""tree_root":"\#(Base64.encode(checkpoint.root))""#), head.stdout)
        XCTAssertTrue(head.stdout.contains(#""size":\#(checkpoint.size)"#), head.stdout)
        let verify = try cli.run("verify", "--trust-file", cli.path("p/keys/root.key.pub"))
        XCTAssertTrue(verify.stdout.contains("Merkle tree root: \(Base64.encode(checkpoint.root)) (size \(checkpoint.size))"), verify.stdout)
        // Unchanged log: the same checkpoint, and a note on standard error.
        let again = try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"))
        XCTAssertEqual(again.stdout, signed.stdout)
        XCTAssertTrue(again.stderr.contains("it is signed again, unchanged"), again.stderr)
        // Reports name the checkpoint of the prefix they were built from.
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("p/keys/root.key.pub")).status, 0)
        let report = try cli.run("report", "mase")
        XCTAssertTrue(report.stdout.contains("checkpoint: \(checkpoint.origin) \(checkpoint.size) \(Base64.encode(checkpoint.root))"), report.stdout)
        // Refused without a key file, with a clear one-line error.
        let missing = try cli.run("checkpoint", "--key", cli.path("nope.key"))
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
    }

    /// Proofs checked offline, and a log cut short or rewritten after a checkpoint was kept.
    func testProofsAndCheckpointsHoldTheLogToAccount() throws {
        let vkey = try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout
        try vkey.write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        let first = try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("cp1.note"))
        XCTAssertEqual(first.status, 0, first.stderr)
        let opened = try cli.run("record", "case-open", "--key", cli.path("p/keys/police.key"), "--case", "C-PROOF-1", "--birth-month", "2012-01",
                                 "--gender", "male", "--borough", "B", "--at", "2026-06-01T00:00:00Z", "--json")
        XCTAssertEqual(opened.status, 0, opened.stderr)
        let event = try XCTUnwrap(opened.stdout.range(of: #"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"#, options: .regularExpression).map { String(opened.stdout[$0]) })
        // Not covered by a checkpoint yet: a clear refusal.
        var r = try cli.run("prove", "inclusion", "--event", event)
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("run 'safeguard checkpoint' first"), r.stderr)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("cp2.note")).status, 0)

        r = try cli.run("prove", "inclusion", "--event", event)
        XCTAssertEqual(r.status, 0, r.stderr)
        try r.stdout.write(toFile: cli.path("inc.tlog-proof"), atomically: true, encoding: .utf8)
        r = try cli.run("check-proof", cli.path("inc.tlog-proof"), "--log-key", cli.path("log.vkey"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("OK: event \(event) (case.opened, recorded "), r.stdout)
        // The same proof with one hash changed does not hold.
        var lines = try String(contentsOfFile: cli.path("inc.tlog-proof"), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let hashLine = try XCTUnwrap(lines.firstIndex { $0.count == 44 && $0.hasSuffix("=") })
        lines[hashLine] = (lines[hashLine].first == "A" ? "B" : "A") + lines[hashLine].dropFirst()
        try lines.joined(separator: "\n").write(toFile: cli.path("bad.tlog-proof"), atomically: true, encoding: .utf8)
        r = try cli.run("check-proof", cli.path("bad.tlog-proof"), "--log-key", cli.path("log.vkey"))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("NOT in the log"), r.stderr)

        let size1 = try String(contentsOfFile: cli.path("cp1.note"), encoding: .utf8).split(separator: "\n")[1]
        r = try cli.run("prove", "consistency", "--from", String(size1))
        XCTAssertEqual(r.status, 0, r.stderr)
        try r.stdout.write(toFile: cli.path("cons.txt"), atomically: true, encoding: .utf8)
        r = try cli.run("check-proof", cli.path("cons.txt"), "--log-key", cli.path("log.vkey"), "--old", cli.path("cp1.note"))
        XCTAssertEqual(r.status, 0, r.stderr)
        // Against a checkpoint of another size, the proof does not hold.
        r = try cli.run("check-proof", cli.path("cons.txt"), "--log-key", cli.path("log.vkey"), "--old", cli.path("cp2.note"))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)

        // verify --checkpoint: fine now; then the last event is cut off (with its tree nodes,
        // so the chain and tree alone still verify) and the kept checkpoint shows it.
        let root = cli.path("p/keys/root.key.pub")
        r = try cli.run("verify", "--trust-file", root, "--checkpoint", cli.path("cp2.note"), "--log-key", cli.path("log.vkey"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("the log still holds your checkpoint"), r.stdout)
        let size2 = Int64(try String(contentsOfFile: cli.path("cp2.note"), encoding: .utf8).split(separator: "\n")[1])!
        try Tamper.asInsider(cli.path("p/ledger.sqlite")) { db in
            try db.execute(sql: "DELETE FROM events WHERE seq >= ?", arguments: [size2 - 1])
            try db.execute(sql: "DELETE FROM details WHERE seq >= ?", arguments: [size2 - 1])
            try db.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > ?", arguments: [size2 - 1])
        }
        XCTAssertEqual(try cli.run("verify", "--trust-file", root).status, 0, "the shortened chain alone verifies")
        r = try cli.run("verify", "--trust-file", root, "--checkpoint", cli.path("cp2.note"), "--log-key", cli.path("log.vkey"))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("TRUNCATED"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }

    /// A witness cosigns checkpoints that extend the last one it cosigned, answers a request
    /// that does not start there with the size it last cosigned (tlog-witness's 409), refuses a
    /// proof that fails without accusing anyone, and writes evidence only when the log has
    /// signed two trees of one size.
    func testAWitnessCosignsOnlyConsistentCheckpoints() throws {
        let logKey = cli.path("log.vkey")
        try (try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout).write(toFile: logKey, atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("w.key"), "--unprotected").status, 0)
        let witness = ["--key", cli.path("w.key"), "--name", "inspectorate.example/w1", "--log-key", logKey, "--state", cli.path("w.state")]
        let wvkey = try cli.run(["witness", "add-checkpoint", cli.path("none")] + witness + ["--vkey"]).stdout.trimmingCharacters(in: .newlines)
        XCTAssertTrue(wvkey.hasPrefix("inspectorate.example/w1+"), wvkey)

        // First contact: old size 0.
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("cp1.note")).status, 0)
        let size1 = Int64(try String(contentsOfFile: cli.path("cp1.note"), encoding: .utf8).split(separator: "\n")[1])!
        try cli.run("prove", "consistency", "--from", "0").stdout.write(toFile: cli.path("r0"), atomically: true, encoding: .utf8)
        var r = try cli.run(["witness", "add-checkpoint", cli.path("r0")] + witness)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("\u{2014} inspectorate.example/w1 "), r.stdout)
        // The cosigned checkpoint satisfies verify --checkpoint --witness.
        try (try String(contentsOfFile: cli.path("cp1.note"), encoding: .utf8) + r.stdout).write(toFile: cli.path("cp1.cosigned"), atomically: true, encoding: .utf8)
        r = try cli.run("verify", "--trust-file", cli.path("p/keys/root.key.pub"), "--checkpoint", cli.path("cp1.cosigned"), "--log-key", logKey, "--witness", wvkey)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("cosigned by inspectorate.example/w1"), r.stdout)
        r = try cli.run("verify", "--trust-file", cli.path("p/keys/root.key.pub"), "--checkpoint", cli.path("cp1.note"), "--log-key", logKey, "--witness", wvkey)
        XCTAssertEqual(r.status, 1, "no cosignature on the bare checkpoint: " + r.stdout + r.stderr)

        // The log grows; the witness cosigns the extension, and refuses the same request again.
        XCTAssertEqual(try cli.run("record", "case-open", "--key", cli.path("p/keys/police.key"), "--case", "C-W-1", "--birth-month", "2012-01",
                                   "--gender", "male", "--borough", "B", "--at", "2026-06-01T00:00:00Z").status, 0)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub")).status, 0)
        try cli.run("prove", "consistency", "--from", String(size1)).stdout.write(toFile: cli.path("r1"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run(["witness", "add-checkpoint", cli.path("r1")] + witness).status, 0)
        // The same request again is stale (tlog-witness's 409): the size last cosigned on
        // standard output, nothing cosigned, no accusation.
        let size2 = size1 + 1
        r = try cli.run(["witness", "add-checkpoint", cli.path("r1")] + witness + ["--evidence", cli.path("stale.json")])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertEqual(r.stdout, "\(size2)\n")
        XCTAssertTrue(r.stderr.contains("you last cosigned") && r.stderr.contains("nothing was cosigned"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("stale.json")))
        // So is an older checkpoint the log signed honestly before, presented again.
        r = try cli.run(["witness", "add-checkpoint", cli.path("r0")] + witness + ["--evidence", cli.path("older.json")])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertEqual(r.stdout, "\(size2)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("older.json")))

        // A proof that does not verify: refused, and it proves nothing (no evidence).
        XCTAssertEqual(try cli.run("record", "case-open", "--key", cli.path("p/keys/police.key"), "--case", "C-W-2", "--birth-month", "2012-01",
                                   "--gender", "male", "--borough", "B", "--at", "2026-06-01T00:00:00Z").status, 0)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub")).status, 0)
        var lines = try cli.run("prove", "consistency", "--from", String(size2)).stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let hashLine = try XCTUnwrap(lines.firstIndex { $0.count == 44 && $0.hasSuffix("=") })
        lines[hashLine] = (lines[hashLine].first == "A" ? "B" : "A") + lines[hashLine].dropFirst()
        try lines.joined(separator: "\n").write(toFile: cli.path("rbad"), atomically: true, encoding: .utf8)
        r = try cli.run(["witness", "add-checkpoint", cli.path("rbad")] + witness + ["--evidence", cli.path("badproof.json")])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("does not verify") && r.stderr.contains("no evidence was written"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.path("badproof.json")))

        // Another history under the same origin and key, of the size the witness last cosigned:
        // two trees of one size, both signed. Refused, with evidence anyone can check, whatever
        // size the request starts at.
        XCTAssertEqual(try cli.run("demo", "seed", "--dir", cli.path("fork"), "--events", "62", "--seed", "9", "--end", "2026-06-01T00:00:00Z").status, 0)
        try cli.signDirectly(ledger: cli.path("fork/ledger.sqlite"), key: cli.path("cp.key"))
        for (from, evidence) in [(String(size2), "evidence.json"), ("0", "evidence0.json")] {
            r = try cli.run("prove", "consistency", "--ledger", cli.path("fork/ledger.sqlite"), "--from", from)
            XCTAssertEqual(r.status, 0, r.stderr)
            try r.stdout.write(toFile: cli.path("rfork"), atomically: true, encoding: .utf8)
            XCTAssertTrue(r.stdout.contains("\n\(size2)\n"), "the fork has the size last cosigned: " + r.stdout)
            r = try cli.run(["witness", "add-checkpoint", cli.path("rfork")] + witness + ["--evidence", cli.path(evidence)])
            XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("NOT COSIGNED: the log signed two different trees of \(size2) events"), r.stderr)
            r = try cli.run("check-proof", cli.path(evidence), "--log-key", logKey)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.hasPrefix("MISBEHAVIOUR PROVEN"), r.stdout)
        }
    }

    /// The operator rewrites history and re-signs it (another ledger under the same origin and
    /// checkpoint key): verify --checkpoint with the checkpoint kept from before catches it,
    /// and the evidence it writes proves two trees of one size.
    func testARewrittenAndReSignedHistoryIsCaught() throws {
        let logKey = cli.path("log.vkey")
        try (try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout).write(toFile: logKey, atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("kept.note")).status, 0)
        XCTAssertEqual(try cli.run("demo", "seed", "--dir", cli.path("fork"), "--events", "61", "--seed", "11", "--end", "2026-06-01T00:00:00Z").status, 0)
        try cli.signDirectly(ledger: cli.path("fork/ledger.sqlite"), key: cli.path("cp.key"))
        let r = try cli.run("verify", "--ledger", cli.path("fork/ledger.sqlite"), "--trust-file", cli.path("fork/keys/root.key.pub"),
                            "--checkpoint", cli.path("kept.note"), "--log-key", logKey, "--evidence", cli.path("rewritten.json"))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("REWRITTEN") && r.stderr.contains("Evidence written"), r.stderr)
        let check = try cli.run("check-proof", cli.path("rewritten.json"), "--log-key", logKey)
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.hasPrefix("MISBEHAVIOUR PROVEN: the log example.org/synthetic-ledger signed two different trees"), check.stdout)
    }

    /// An evidence bundle for a case checks on its own; a changed record, another root key, a
    /// record of another case or a bundle without the genesis do not.
    func testAnEvidenceBundleChecksStandalone() throws {
        try (try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout).write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        var r = try cli.run("evidence", "C-0000-0001", "--out", cli.path("b"))
        XCTAssertEqual(r.status, 3, "no checkpoint yet")
        XCTAssertTrue(r.stderr.contains("run 'safeguard checkpoint' first"), r.stderr)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub")).status, 0)
        r = try cli.run("log", "list", "--json")
        let caseID = try XCTUnwrap(r.stdout.range(of: #""case_id":"[^"]+""#, options: .regularExpression).map { String(r.stdout[$0].dropFirst(11).dropLast()) }, r.stdout)
        r = try cli.run("evidence", caseID, "--out", cli.path("b"))
        XCTAssertEqual(r.status, 0, r.stderr)
        let check = ["evidence", "check", cli.path("b"), "--trust-file", cli.path("p/keys/root.key.pub"), "--log-key", cli.path("log.vkey")]
        r = try cli.run(check)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("OK: case \(caseID): "), r.stdout)
        XCTAssertTrue(try String(contentsOfFile: cli.path("b/index.md"), encoding: .utf8).contains("case.opened"))

        let lines = try String(contentsOfFile: cli.path("b/entries.jsonl"), encoding: .utf8).split(separator: "\n").map(String.init)
        func bundle(_ name: String, _ body: [String]) throws -> [String] {
            try FileManager.default.createDirectory(atPath: cli.path(name), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: cli.path("b/checkpoint.note"), toPath: cli.path(name + "/checkpoint.note"))
            try (body.joined(separator: "\n") + "\n").write(toFile: cli.path(name + "/entries.jsonl"), atomically: true, encoding: .utf8)
            return ["evidence", "check", cli.path(name), "--trust-file", cli.path("p/keys/root.key.pub"), "--log-key", cli.path("log.vkey")]
        }
        // A changed record: one base64 character of the last entry.
        var changed = lines
        let at = changed[changed.count - 1].index(changed[changed.count - 1].firstRange(of: #""entry":""#)!.upperBound, offsetBy: 40)
        let c = changed[changed.count - 1][at]
        changed[changed.count - 1].replaceSubrange(at...at, with: c == "A" ? "B" : "A")
        r = try cli.run(try bundle("changed", changed))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("not in the checkpointed log"), r.stderr)
        // Without the genesis.
        r = try cli.run(try bundle("nogenesis", Array(lines.dropFirst())))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        // Two lines swapped: out of seq order.
        var swapped = lines
        swapped.swapAt(swapped.count - 1, swapped.count - 2)
        r = try cli.run(try bundle("swapped", swapped))
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("not in increasing seq order"), r.stderr)
        // Another partnership's root key.
        r = try cli.run(["evidence", "check", cli.path("b"), "--trust", "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=", "--log-key", cli.path("log.vkey")])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("not the trusted one"), r.stderr)
    }

    /// The same case's bundle with its details and with facts only: both check, with the same
    /// entries and proofs; changed details are refused; withheld details produced later check.
    func testAnEvidenceBundleChecksWithAndWithoutDetails() throws {
        try (try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout).write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub")).status, 0)
        // A case with a record whose details are not empty.
        var r = try cli.run("log", "list", "--json")
        let withDetails = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.contains(#""case_id""#) && !$0.contains(#""details":{}"#) && $0.contains(#""details":"#) })
        let caseID = try XCTUnwrap(withDetails.firstMatch(of: /"case_id":"([^"]+)"/)?.1).description
        let detailsText = try XCTUnwrap(withDetails.firstMatch(of: /"details":(\{[^}]*\})/)?.1).description
        func check(_ dir: String) throws -> CLI.Result {
            try cli.run("evidence", "check", cli.path(dir), "--trust-file", cli.path("p/keys/root.key.pub"), "--log-key", cli.path("log.vkey"))
        }
        r = try cli.run("evidence", caseID, "--out", cli.path("full"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("with their details"), r.stdout)
        r = try cli.run("evidence", caseID, "--out", cli.path("facts"), "--facts-only")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("details withheld"), r.stdout)

        r = try check("full")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("Details: all") && r.stdout.contains("match the digests"), r.stdout)
        r = try check("facts")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("OK: case \(caseID): "), r.stdout)
        XCTAssertTrue(r.stdout.contains("Details: withheld from "), r.stdout)

        let full = try String(contentsOfFile: cli.path("full/entries.jsonl"), encoding: .utf8).split(separator: "\n").map { try EvidenceBundle.Item(line: Array($0.utf8)) }
        let facts = try String(contentsOfFile: cli.path("facts/entries.jsonl"), encoding: .utf8).split(separator: "\n").map { try EvidenceBundle.Item(line: Array($0.utf8)) }
        XCTAssertEqual(facts, full.map(\.withoutDetails), "the same entries and proofs, without the details")
        XCTAssertTrue(full.allSatisfy { $0.details != nil })
        let detailsBody = Array(detailsText.utf8)
        XCTAssertTrue(full.contains { $0.details?.body == detailsBody })
        XCTAssertTrue(try String(contentsOfFile: cli.path("full/index.md"), encoding: .utf8).contains(detailsText))
        for file in ["entries.jsonl", "index.md"] {
            let text = try String(contentsOfFile: cli.path("facts/\(file)"), encoding: .utf8)
            XCTAssertFalse(text.contains(detailsText) || text.contains(Base64.encode(detailsBody)), "facts/\(file) holds the details")
        }

        func bundle(_ name: String, _ items: [EvidenceBundle.Item]) throws {
            try FileManager.default.createDirectory(atPath: cli.path(name), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: cli.path("full/checkpoint.note"), toPath: cli.path(name + "/checkpoint.note"))
            try Data(items.flatMap { $0.line + [0x0A] }).write(to: URL(fileURLWithPath: cli.path(name + "/entries.jsonl")))
        }
        // Changed details (one character), and the same details under another salt: refused.
        let at = try XCTUnwrap(full.firstIndex { $0.details?.body == detailsBody })
        var changed = full
        let d = full[at].details!
        var body = d.body
        let letter = try XCTUnwrap(body.lastIndex { (UInt8(ascii: "a")...UInt8(ascii: "y")).contains($0) })
        body[letter] += 1
        changed[at] = EvidenceBundle.Item(seq: full[at].seq, entry: full[at].entry, proof: full[at].proof, details: SealedDetails(salt: d.salt, body: body))
        try bundle("changed", changed)
        r = try check("changed")
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("not the ones its record commits to"), r.stderr)
        var resalted = full
        resalted[at] = EvidenceBundle.Item(seq: full[at].seq, entry: full[at].entry, proof: full[at].proof, details: SealedDetails(salt: [UInt8](repeating: 7, count: 32), body: d.body))
        try bundle("resalted", resalted)
        XCTAssertEqual(try check("resalted").status, 1)
        // Lines as written: a blank line, or a last line without its newline, is refused.
        try bundle("blank", full)
        try (String(decoding: try Data(contentsOf: URL(fileURLWithPath: cli.path("blank/entries.jsonl"))), as: UTF8.self) + "\n")
            .write(toFile: cli.path("blank/entries.jsonl"), atomically: true, encoding: .utf8)
        r = try check("blank")
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("blank line"), r.stderr)
        try bundle("cut", full)
        try Data(full.flatMap { $0.line + [0x0A] }.dropLast()).write(to: URL(fileURLWithPath: cli.path("cut/entries.jsonl")))
        XCTAssertEqual(try check("cut").status, 1)
        // The facts-only bundle with one record's details produced later: checks, and says so.
        var later = facts
        later[at] = full[at]
        try bundle("later", later)
        r = try check("later")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("1 shown, each matching the digest"), r.stdout)
    }
}
