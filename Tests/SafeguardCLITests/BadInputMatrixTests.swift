import Foundation
import XCTest

/// The bad-input matrix of docs/RELIABILITY.md: every command that reads input, given
/// malformed, truncated, oversized, non-UTF-8, wrongly typed and hostile input. Each must give
/// one line on stderr starting "error:", exit 1-4 (never a crash), and leave the ledger's size,
/// head hash, tree root and read models as they were.
final class BadInputMatrixTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("cp.key"), "--unprotected").status, 0)
        try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout.write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        try cli.nameCheckpointKey(cli.path("cp.key"), root: cli.path("root.key"))
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("root.key.pub"), "--out", cli.path("cp.note")).status, 0)
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub")).status, 0)
        let seq4 = try cli.run("log", "show", "4", "--json").stdout
        let id = try XCTUnwrap(seq4.firstMatch(of: /"event_id":"([0-9a-f-]{36})","seq"/)?.1)
        try cli.run("prove", "inclusion", "--event", String(id)).stdout.write(toFile: cli.path("incl.proof"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run("evidence", "C-0001", "--out", cli.path("bundle")).status, 0)
        try write("garbage", Array("this is not what you think it is\n".utf8))
        try write("big", [UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 100))
        try write("nonutf8", [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a])
        let key = try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key")))
        try write("half.key", Array(key.prefix(key.count / 2)), mode: 0o600)
        try write("garbage.key", Array("{\"format\":\"something-else\"}\n".utf8), mode: 0o600)
        try write("big.key", [UInt8](repeating: 0x20, count: 8192), mode: 0o600)
        try write("nonutf8.key", [0xff, 0xfe, 0x00, 0x7b], mode: 0o600)
        try write("nonutf8.pub", [0xff, 0xfe, 0x41, 0x0a])
        let note = try Data(contentsOf: URL(fileURLWithPath: cli.path("cp.note")))
        try write("cut.note", Array(note.prefix(note.count - 20)))
        var bent = [UInt8](note); bent[2] = 0xff
        try write("nonutf8.note", bent)
        let proof = try Data(contentsOf: URL(fileURLWithPath: cli.path("incl.proof")))
        try write("cut.proof", Array(proof.prefix(proof.count / 2)))
        var bentProof = [UInt8](proof); bentProof[bentProof.count / 2] = 0xff
        try write("nonutf8.proof", bentProof)
        let ledgerBytes = try Data(contentsOf: URL(fileURLWithPath: cli.ledger))
        try write("cut.sqlite", Array(ledgerBytes.prefix(8192)))
        for (name, body) in [("cut-bundle", { (b: [UInt8]) in Array(b.prefix(b.count - 30)) }), ("garbage-bundle", { (_: [UInt8]) in Array("{}\n".utf8) })] {
            try FileManager.default.createDirectory(atPath: cli.path(name), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: cli.path("bundle/checkpoint.note"), toPath: cli.path(name + "/checkpoint.note"))
            try write(name + "/entries.jsonl", body([UInt8](try Data(contentsOf: URL(fileURLWithPath: cli.path("bundle/entries.jsonl"))))))
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: cli.path(name)))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: cli.path(name))
    }

    /// Everything a refused command must leave as it was: the log's head and tree, the signed
    /// checkpoints, and the read models' state.
    func state() throws -> String {
        try cli.head() + cli.run("project", "status").stdout
    }

    struct Case {
        let category: String
        let args: [String]
        var stdin: [UInt8] = []
    }

    func cases() -> [Case] {
        let police = ["--key", cli.path("police.key")]
        let contact = CLI.contact("C-0001")
        let root = ["--trust-file", cli.path("root.key.pub")]
        let logKey = ["--log-key", cli.path("log.vkey")]
        func replaced(_ old: String, _ new: String) -> [UInt8] { Array(contact.replacingOccurrences(of: old, with: new).utf8) }
        var c: [Case] = []
        func add(_ category: String, _ args: [String], _ stdin: [UInt8] = []) { c.append(Case(category: category, args: args, stdin: stdin)) }

        // Malformed.
        for input in ["{", "not json", "[]", "{}", #"{"type":1}"#, "\u{0}"] { add("malformed", ["append"] + police, Array(input.utf8)) }
        add("malformed", ["import", "--file", "-"] + police, Array((contact + "\n{oops\n" + contact + "\n").utf8))
        add("malformed", ["append", "--key", cli.path("garbage.key")], Array(contact.utf8))
        add("malformed", ["keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("garbage"), "--agency", "police", "--role", "practitioner", "--practitioner", "PC 9"])
        add("malformed", ["verify", "--trust", "not-base64!"])
        add("malformed", ["verify"] + root + ["--checkpoint", cli.path("garbage")] + logKey)
        add("malformed", ["check-proof", cli.path("garbage")] + logKey)
        add("malformed", ["check-proof", cli.path("incl.proof"), "--log-key", "abc"])
        add("malformed", ["witness", "add-checkpoint", cli.path("garbage"), "--key", cli.path("cp.key"), "--name", "w.example/w", "--state", cli.path("w.state")] + logKey)
        add("malformed", ["evidence", "check", cli.path("garbage-bundle")] + root + logKey)
        add("malformed", ["prove", "inclusion", "--event", "not-a-uuid"])
        add("malformed", ["log", "show", "abc"])
        add("malformed", ["record", "contact"] + police + ["--case", "C-0001", "--how", "phone", "--indicator", "ZZ9"])
        add("malformed", ["project", "rebuild", "--trust", "garbage"])
        add("malformed", ["report", "mase", "--from", "yesterday"])
        // Truncated.
        add("truncated", ["append"] + police, Array(contact.utf8.prefix(contact.utf8.count / 2)))
        add("truncated", ["import", "--file", "-"] + police, Array((contact + "\n" + contact.prefix(40)).utf8))
        add("truncated", ["append", "--key", cli.path("half.key")], Array(contact.utf8))
        add("truncated", ["verify"] + root + ["--checkpoint", cli.path("cut.note")] + logKey)
        add("truncated", ["check-proof", cli.path("cut.proof")] + logKey)
        add("truncated", ["evidence", "check", cli.path("cut-bundle")] + root + logKey)
        add("truncated", ["verify", "--ledger", cli.path("cut.sqlite")] + root)
        add("truncated", ["log", "list", "--ledger", cli.path("cut.sqlite")])
        add("truncated", ["doctor", "--ledger", cli.path("cut.sqlite")])
        // Oversized.
        add("oversized", ["append"] + police, Array(CLI.contact(details: #","blob":"\#(String(repeating: "x", count: 2 << 20))""#).utf8))
        add("oversized", ["import", "--file", "-"] + police, Array((contact + "\n" + String(repeating: " ", count: 2 << 20) + contact + "\n").utf8))
        add("oversized", ["check-proof", cli.path("big")] + logKey)
        add("oversized", ["verify"] + root + ["--checkpoint", cli.path("big")] + logKey)
        add("oversized", ["append", "--key", cli.path("big.key")], Array(contact.utf8))
        add("oversized", ["keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("police.key.pub"), "--agency", "police", "--role", "practitioner",
                          "--practitioner", String(repeating: "P", count: 10_000)])
        add("oversized", ["log", "list", "--case", String(repeating: "C", count: 100)])
        add("oversized", ["record", "contact"] + police + ["--case", "C-0001", "--how", "phone", "--indicator", String(repeating: "A2,", count: 20_000) + "A2"])
        // Not UTF-8.
        add("non-UTF-8", ["append"] + police, Array(contact.utf8).map { $0 == UInt8(ascii: "y") ? 0xff : $0 })
        add("non-UTF-8", ["import", "--file", "-"] + police, Array(contact.utf8) + [0x0a] + Array(contact.utf8).map { $0 == UInt8(ascii: "y") ? 0xc3 : $0 })
        add("non-UTF-8", ["verify"] + root + ["--checkpoint", cli.path("nonutf8.note")] + logKey)
        add("non-UTF-8", ["check-proof", cli.path("nonutf8.proof")] + logKey)
        add("non-UTF-8", ["append", "--key", cli.path("nonutf8.key")], Array(contact.utf8))
        add("non-UTF-8", ["verify", "--trust-file", cli.path("nonutf8.pub")])
        add("non-UTF-8", ["check-proof", cli.path("nonutf8")] + logKey)
        // Wrongly typed.
        add("wrongly typed", ["append"] + police, replaced(#""indicators":["A2"]"#, #""indicators":"A2""#))
        add("wrongly typed", ["append"] + police, replaced(#""occurred_at":"2026-03-02T09:15:00Z""#, #""occurred_at":20260302"#))
        add("wrongly typed", ["append"] + police, replaced(#""contact_type":"face_to_face""#, #""contact_type":true"#))
        add("wrongly typed", ["log", "list", "--limit", "abc"])
        add("wrongly typed", ["log", "list", "--from", "x"])
        add("wrongly typed", ["prove", "consistency", "--from", "5", "--to", "2"])
        add("wrongly typed", ["verify"] + root + ["--checkpoint", cli.path("cp.note")] + logKey + ["--witness", "w.example/w+00000000+AAAA", "--quorum", "0"])
        add("wrongly typed", ["demo", "seed", "--dir", cli.path("demo"), "--events", "abc"])
        add("wrongly typed", ["keys", "revoke", "--key", cli.path("root.key"), "--key-id", String(repeating: "0", count: 32), "--reason", "bored"])
        add("wrongly typed", ["record", "case-open"] + police + ["--case", "C-NEW", "--birth-month", "April", "--gender", "female", "--borough", "B"])
        // Hostile.
        for sql in ["x' OR 1=1 --", "C-0001; DROP TABLE events", "C-0001\"", "%"] {
            add("hostile: SQL", ["log", "list", "--case", sql])
            add("hostile: SQL", ["case", "show", sql])
        }
        add("hostile: SQL", ["audit", "trail", "--case", "' UNION SELECT * FROM events --"])
        add("hostile: SQL", ["append"] + police, Array(CLI.contact("C-1'; DROP TABLE events;--").utf8))
        add("hostile: control characters", ["keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("police.key.pub"), "--agency", "police",
                                              "--role", "practitioner", "--practitioner", "PC\u{7}\u{1b}[2J"])
        add("hostile: control characters", ["append"] + police, Array(CLI.contact("C-\u{1b}[31m").utf8))
        add("hostile: control characters", ["log", "list", "--case", "C-0001\n2"])
        add("hostile: path", ["verify", "--ledger", "../../../../etc/passwd"] + root)
        add("hostile: path", ["append", "--key", "/dev/zero"], Array(contact.utf8))
        add("hostile: path", ["import", "--file", "/dev/zero"] + police)
        add("hostile: path", ["import", "--file", "/etc"] + police)
        add("hostile: path", ["check-proof", "/dev/zero"] + logKey)
        add("hostile: path", ["evidence", "C-0001", "--out", cli.path("bundle")])
        add("hostile: path", ["evidence", "C-0001", "--out", "/proc/no/such/dir"])
        add("hostile: path", ["keys", "generate", "--out", cli.path("police.key"), "--unprotected"])
        add("hostile: dates", ["append"] + police, replaced("2026-03-02T09:15:00Z", "0001-01-01T00:00:00Z"))
        add("hostile: dates", ["append"] + police, replaced("2026-03-02T09:15:00Z", "2026-12-31T23:59:60Z"))
        add("hostile: dates", ["append"] + police, replaced("2026-03-02T09:15:00Z", "2026-02-30T09:15:00Z"))
        add("hostile: dates", ["append"] + police, replaced("2026-03-02T09:15:00Z", "9999-12-31T23:59:59Z"))
        add("hostile: dates", ["record", "contact"] + police + ["--case", "C-0001", "--how", "phone", "--indicator", "A2", "--at", "+275760-09-13T00:00:00Z"])
        add("hostile: dates", ["report", "mase", "--from", "99999-01-01"])
        add("hostile: numbers", ["append"] + police, Array(CLI.contact(extra: #","n":1e400"#).utf8))
        add("hostile: numbers", ["append"] + police, Array(CLI.contact(extra: #","n":9223372036854775808"#).utf8))
        add("hostile: numbers", ["log", "list", "--limit", "99999999999999999999"])
        add("hostile: numbers", ["prove", "consistency", "--from", "9223372036854775807"])
        add("hostile: numbers", ["demo", "seed", "--dir", cli.path("demo"), "--events", "1000000000000"])
        add("hostile: numbers", ["log", "show", "99999999999999999999999"])
        return c
    }

    func testEveryBadInputIsRefusedWithOneLineAndNothingChanged() throws {
        let before = try state()
        var tried: [String: Int] = [:], refused: [String: Int] = [:]
        for c in cases() {
            let r = try cli.run(c.args, stdin: Data(c.stdin))
            let what = "\(c.category): \(c.args.joined(separator: " ").prefix(160))"
            tried[c.category, default: 0] += 1
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
            // import reports each bad line, then how many were refused: one line each.
            let oneLineEach = c.args.first == "import" ? lines.allSatisfy { $0.hasPrefix("error: ") } : lines.count == 1
            let ok = (1...4).contains(r.status) && !lines.isEmpty && oneLineEach && r.stderr.hasPrefix("error: ")
            XCTAssertTrue(ok, "\(what) -> exit \(r.status), stderr: \(r.stderr.prefix(400)) stdout: \(r.stdout.prefix(200))")
            let unchanged = try state() == before
            XCTAssertTrue(unchanged, "\(what) changed the ledger")
            if ok && unchanged { refused[c.category, default: 0] += 1 }
        }
        let total = tried.values.reduce(0, +), good = refused.values.reduce(0, +)
        ReliabilityTests.record("bad-input", "\(good) of \(total) bad inputs refused with one line, exit 1-4 and nothing changed: "
                                + tried.keys.sorted().map { "\($0) \(refused[$0, default: 0])/\(tried[$0]!)" }.joined(separator: ", "))
        XCTAssertEqual(good, total)
    }
}
