import Foundation
import SafeguardCore
import XCTest

/// `safeguard checkpoint` and `head` through the executable.
final class CheckpointCLITests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        let r = try cli.run("demo", "seed", "--dir", cli.path("p"), "--events", "60", "--seed", "4", "--end", "2026-06-01T00:00:00Z")
        XCTAssertEqual(r.status, 0, r.stderr)
        cli.env["SAFEGUARD_LEDGER"] = cli.path("p/ledger.sqlite")
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("cp.key"), "--unprotected").status, 0)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func testACheckpointIsASignedNoteOfTheTreeHead() throws {
        let vkey = try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey")
        XCTAssertEqual(vkey.status, 0, vkey.stderr)
        let verifier = try XCTUnwrap(NoteVerifier(verifierKey: vkey.stdout.trimmingCharacters(in: .newlines)), vkey.stdout)
        XCTAssertEqual(verifier.name, "example.org/synthetic-ledger")
        let signed = try cli.run("checkpoint", "--key", cli.path("cp.key"), "--out", cli.path("cp1.note"))
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
        let again = try cli.run("checkpoint", "--key", cli.path("cp.key"))
        XCTAssertEqual(again.stdout, signed.stdout)
        XCTAssertTrue(again.stderr.contains("nothing new was signed"), again.stderr)
        // Refused without a key file, with a clear one-line error.
        let missing = try cli.run("checkpoint", "--key", cli.path("nope.key"))
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
    }
}
