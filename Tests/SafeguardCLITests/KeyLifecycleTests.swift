import Foundation
import GRDB
import SafeguardCore
import TestSupport
import XCTest

/// Keys over their life, through the executable: protected at rest by default, rotated with
/// the history still verifying, and a stolen key revoked as of the moment it was taken.
final class KeyLifecycleTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func append(_ key: String, env: [String: String] = [:]) throws -> CLI.Result {
        try cli.run(["append", "--key", cli.path(key)], stdin: Data(CLI.contact("C-0001").utf8), env: env)
    }

    func keyID(_ name: String) throws -> String {
        try KeyFile.inspect(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path(name))))).publicKey.keyID
    }

    /// A new key is passphrase-protected (Argon2id + XChaCha20-Poly1305) and mode 0600 by
    /// default; the old one is revoked as rotated; events signed before still verify.
    func testRotationKeepsTheHistoryValid() throws {
        let pass = ["SAFEGUARD_PASSPHRASE": "synthetic passphrase 1"]
        XCTAssertEqual(try cli.run(["keys", "generate", "--out", cli.path("police2.key")], env: pass).status, 0)
        let file = try String(contentsOfFile: cli.path("police2.key"), encoding: .utf8)
        XCTAssertTrue(file.contains(#""protection":"argon2id13+xchacha20poly1305""#) && !file.contains(#""seed""#), file)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: cli.path("police2.key"))[.posixPermissions] as? Int, 0o600)
        XCTAssertEqual(try append("police.key").status, 0)  // seq 8, the old key
        // PC 0001 has a live key: a second one is refused unless it replaces that one.
        let oldID = try keyID("police.key")
        let second = try cli.run("keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("police2.key.pub"), "--agency", "police",
                                 "--role", "practitioner", "--practitioner", "PC 0001")
        XCTAssertEqual(second.status, 3, second.stderr)
        XCTAssertTrue(second.stderr.contains("already has a live key") && second.stderr.contains("--replaces \(oldID)"), second.stderr)
        XCTAssertEqual(try cli.run("keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("police2.key.pub"), "--agency", "police",
                                   "--role", "practitioner", "--practitioner", "PC 0001", "--replaces", oldID).status, 0)
        XCTAssertEqual(try cli.run("keys", "revoke", "--key", cli.path("root.key"), "--key-id", try keyID("police.key"), "--reason", "rotated").status, 0)
        let old = try append("police.key")
        XCTAssertEqual(old.status, 3, old.stderr)
        XCTAssertTrue(old.stderr.contains("was revoked at sequence number 10"), old.stderr)
        XCTAssertEqual(try append("police2.key", env: pass).status, 0)
        let wrong = try append("police2.key", env: ["SAFEGUARD_PASSPHRASE": "not it"])
        XCTAssertEqual(wrong.status, 3, wrong.stderr)
        let v = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--json")
        XCTAssertEqual(v.status, 0, v.stdout)
        XCTAssertTrue(v.stdout.contains(#""events":12"#) && v.stdout.contains(#""flagged":[]"#), v.stdout)
    }

    /// A key taken at seq S and used by the thief until the partnership revokes it "as
    /// compromised since S": events from S on still verify (they were validly signed) and are
    /// flagged for review; after the revocation the key signs nothing that verifies.
    func testAStolenKeyIsRevokedAsOfWhenItWasTakenAndItsEventsAreFlagged() throws {
        XCTAssertEqual(try append("police.key").status, 0)  // 8: the officer, before the theft
        XCTAssertEqual(try append("police.key").status, 0)  // 9: the thief
        XCTAssertEqual(try append("csc.key").status, 0)     // 10: someone else
        XCTAssertEqual(try append("police.key").status, 0)  // 11: the thief
        var r = try cli.run("keys", "revoke", "--key", cli.path("root.key"), "--key-id", try keyID("police.key"), "--reason", "rotated", "--compromised-since", "9")
        XCTAssertEqual(r.status, 2, "only with compromised or lost: \(r.stderr)")
        r = try cli.run("keys", "revoke", "--key", cli.path("root.key"), "--key-id", try keyID("police.key"), "--reason", "compromised", "--compromised-since", "13")
        XCTAssertEqual(r.status, 3, "not after the revocation itself: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("compromised_since"), r.stderr)
        r = try cli.run("keys", "revoke", "--key", cli.path("root.key"), "--key-id", try keyID("police.key"), "--reason", "compromised", "--compromised-since", "9")
        XCTAssertEqual(r.status, 0, r.stderr)  // 12
        XCTAssertTrue(r.stdout.contains("flagged"), r.stdout)
        XCTAssertEqual(try append("police.key").status, 3, "the thief can no longer append")

        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains("FLAGGED for review: 2 events"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  seq 9  ") && r.stdout.contains("  seq 11  ") && !r.stdout.contains("  seq 8  ") && !r.stdout.contains("  seq 10  "), r.stdout)
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--json")
        XCTAssertEqual(r.stdout.matches(of: /"compromised_since":9/).count, 2, r.stdout)
        r = try cli.run("keys", "list")
        XCTAssertTrue(r.stdout.contains("revoked at seq 12 (compromised, compromised since seq 9)"), r.stdout)

        // The thief writes past the tools, at the head, with the stolen key: verification fails there.
        let stolen = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key")))), passphrase: { nil })
        try Tamper.asInsider(cli.ledger) { db in
            let head = try Row.fetchOne(db, sql: "SELECT seq, entry_hash, envelope FROM events ORDER BY seq DESC LIMIT 1")!
            var e = try Envelope(json: JSONParser.parse([UInt8](try Data.fetchOne(db, sql: "SELECT envelope FROM events WHERE seq = 11")!), mode: .canonical))
            let sealed = try SealedDetails([:])
            e.seq = head[0] + 1; e.prevHash = [UInt8](head[1] as Data); e.eventID = "00000000-0000-4000-8000-00000000beef"; e.details = .committed(digest: sealed.digest)
            let entry = try Entry(signing: e, with: stolen)
            try db.execute(sql: "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", arguments: [
                e.seq, e.eventID, e.type, e.caseID, e.actor.agency, e.actor.keyID, e.occurredAt.description, e.recordedAt.description,
                Data(e.prevHash), Data(entry.canonical), Data(entry.signature), Data(entry.entryHash)])
            try db.execute(sql: "INSERT INTO details VALUES (?, ?, ?)", arguments: [e.seq, Data(sealed.salt), Data(sealed.body)])
        }
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--json")
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stdout.contains(#""code":"revoked_key""#) && r.stdout.contains(#""seq":13"#), r.stdout)
    }
}
