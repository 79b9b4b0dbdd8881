import Foundation
import XCTest

/// Each kind of bad input gets one clear line on stderr, a non-zero exit code, and leaves the
/// ledger exactly as it was.
final class BadInputTests: XCTestCase {
    var cli: CLI!
    var before = ""

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
        before = try cli.head()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: cli.dir)
    }

    /// Runs an append of `input` with `key` and checks it is refused with `status` and a
    /// one-line error mentioning `mentions`, and that the ledger is unchanged.
    func assertRefused(_ args: [String], stdin: Data = Data(), status: Int32 = 3, mentions: String,
                       env: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try cli.run(args, stdin: stdin, env: env)
        XCTAssertEqual(r.status, status, "stdout: \(r.stdout) stderr: \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line, got: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "\(r.stderr) should mention \(mentions)", file: file, line: line)
        XCTAssertEqual(try cli.head(), before, "the ledger changed", file: file, line: line)
    }

    var appendPolice: [String] { ["append", "--key", cli.path("police.key")] }

    func testValidAppendWorks() throws {
        let r = try cli.run(appendPolice, stdin: Data(CLI.contact().utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("seq \(CLI.firstFree)"), r.stdout)
        XCTAssertNotEqual(try cli.head(), before)
    }

    func testMalformedJSON() throws {
        try assertRefused(appendPolice, stdin: Data(#"{"type":"contact.recorded","#.utf8), mentions: "not valid JSON")
        try assertRefused(appendPolice, stdin: Data("not json at all".utf8), mentions: "not valid JSON")
        try assertRefused(appendPolice, stdin: Data(), mentions: "no event given")
        try assertRefused(appendPolice, stdin: Data((CLI.contact() + "{}").utf8), mentions: "after the JSON value")
    }

    func testUnknownEventType() throws {
        try assertRefused(appendPolice, stdin: Data(CLI.contact().replacingOccurrences(of: "contact.recorded", with: "contact.teleported").utf8),
                          mentions: "not a known event type")
    }

    func testMissingRequiredFields() throws {
        try assertRefused(appendPolice, stdin: Data(#"{"case_id":"C-1","occurred_at":"2026-03-02T09:15:00Z","facts":{}}"#.utf8), mentions: "type: is missing")
        try assertRefused(appendPolice, stdin: Data(#"{"type":"contact.recorded","occurred_at":"2026-03-02T09:15:00Z","facts":{}}"#.utf8), mentions: "case_id: is missing")
        try assertRefused(appendPolice, stdin: Data(#"{"type":"contact.recorded","case_id":"C-1","facts":{}}"#.utf8), mentions: "occurred_at: is missing")
        try assertRefused(appendPolice, stdin: Data(#"{"type":"contact.recorded","case_id":"C-1","occurred_at":"2026-03-02T09:15:00Z"}"#.utf8), mentions: "facts: is missing")
    }

    func testWronglyTypedAndHostileValues() throws {
        try assertRefused(appendPolice, stdin: Data(CLI.contact(extra: #","score":1.5"#).utf8), mentions: "decimal number")
        try assertRefused(appendPolice, stdin: Data(CLI.contact(extra: #","x":null"#).utf8), mentions: "null")
        try assertRefused(appendPolice, stdin: Data(CLI.contact(extra: #","n":123456789012345678901234567890"#).utf8), mentions: "outside")
        try assertRefused(appendPolice, stdin: Data(CLI.contact("C-1'; DROP TABLE events;--").utf8), mentions: "case_id")
        try assertRefused(appendPolice, stdin: Data(CLI.contact().replacingOccurrences(of: "2026-03-02T09:15:00Z", with: "yesterday").utf8), mentions: "occurred_at")
        try assertRefused(appendPolice, stdin: Data(CLI.contact().replacingOccurrences(of: "2026-03-02T09:15:00Z", with: "2026-02-30T09:15:00Z").utf8), mentions: "occurred_at")
        try assertRefused(appendPolice, stdin: Data(CLI.contact().replacingOccurrences(of: "2026-03-02T09:15:00Z", with: "9999-12-31T23:59:59Z").utf8), mentions: "later than recorded_at")
        // 00:30 at +01:00 on 1 January 1900 is 1899 in UTC, outside the envelope's range.
        try assertRefused(appendPolice, stdin: Data(CLI.contact().replacingOccurrences(of: "2026-03-02T09:15:00Z", with: "1900-01-01T00:30:00+01:00").utf8), mentions: "occurred_at")
        try assertRefused(appendPolice, stdin: Data(CLI.contact(extra: #","k":"a\u0000b","k":"dup""#).utf8), mentions: "duplicate")
        try assertRefused(appendPolice, stdin: Data(#"{"type":"contact.recorded","case_id":"C-1","occurred_at":"2026-03-02T09:15:00Z","facts":[],"details":{}}"#.utf8), mentions: "facts: must be an object")
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        try assertRefused(appendPolice, stdin: Data(CLI.contact(extra: #","deep":\#(deep)"#).utf8), mentions: "nested deeper")
    }

    func testNonUTF8Input() throws {
        var bytes = Array(CLI.contact().utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "y"))!  // inside "synthetic"
        bytes[at] = 0xff
        try assertRefused(appendPolice, stdin: Data(bytes), mentions: "UTF-8")
    }

    func testOversizedEvent() throws {
        let big = String(repeating: "x", count: (1 << 20) + 10)
        try assertRefused(appendPolice, stdin: Data(CLI.contact(details: #","blob":"\#(big)""#).utf8), mentions: "larger than 1 MiB")
        // Just under the input limit: the details are kept beside the envelope (format 2), which
        // holds only their digest and stays small, so the event is recorded.
        let nearly = String(repeating: "y", count: (1 << 20) - 300)
        let r = try cli.run(appendPolice, stdin: Data(CLI.contact(details: #","blob":"\#(nearly)""#).utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        let lastSeq = try XCTUnwrap(try cli.head().firstMatch(of: /"last_seq":(\d+)/)?.1)
        let shown = try cli.run("log", "show", "--json", String(lastSeq))
        XCTAssertLessThan(shown.stdout.count, 1 << 20 + 2_000)
        XCTAssertTrue(shown.stdout.contains(nearly))
    }

    func testWrongPassphraseAndMissingPassphrase() throws {
        var r = try cli.run(["keys", "generate", "--out", cli.path("sealed.key")], env: ["SAFEGUARD_PASSPHRASE": "correct horse"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run(["keys", "enrol", "--key", cli.path("root.key"), "--public", cli.path("sealed.key.pub"), "--agency", "health",
                         "--role", "practitioner", "--practitioner", "Nurse 0003"])
        XCTAssertEqual(r.status, 0, r.stderr)
        before = try cli.head()
        let args = ["append", "--key", cli.path("sealed.key")]
        try assertRefused(args, stdin: Data(CLI.contact().utf8), mentions: "wrong passphrase", env: ["SAFEGUARD_PASSPHRASE": "wrong horse"])
        try assertRefused(args, stdin: Data(CLI.contact().utf8), mentions: "SAFEGUARD_PASSPHRASE")
        r = try cli.run(args, stdin: Data(CLI.contact().utf8), env: ["SAFEGUARD_PASSPHRASE": "correct horse"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testUnenrolledKey() throws {
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("stranger.key"), "--unprotected").status, 0)
        try assertRefused(["append", "--key", cli.path("stranger.key")], stdin: Data(CLI.contact().utf8), mentions: "not enrolled")
    }

    func testRevokedKey() throws {
        let list = try cli.run("keys", "list", "--json")
        let police = try XCTUnwrap(list.stdout.split(separator: "\n").first { $0.contains("\"police\"") })
        let keyID = try XCTUnwrap(police.range(of: #""key_id":"([0-9a-f]{32})""#, options: .regularExpression).map { String(police[$0].dropFirst(10).dropLast()) })
        let r = try cli.run("keys", "revoke", "--key", cli.path("root.key"), "--key-id", keyID, "--reason", "compromised")
        XCTAssertEqual(r.status, 0, r.stderr)
        before = try cli.head()
        try assertRefused(appendPolice, stdin: Data(CLI.contact().utf8), mentions: "revoked")
        let v = try cli.run("verify", "--trust", try cli.rootPublicKey())
        XCTAssertEqual(v.status, 0, v.stdout)
        XCTAssertTrue(v.stdout.contains("1 revoked"), v.stdout)
    }

    func testAgencyNotAllowedThatType() throws {
        try assertRefused(appendPolice, stdin: Data(CLI.contact().replacingOccurrences(of: "contact.recorded", with: "referral.mase").utf8),
                          mentions: "may not record referral.mase")
    }

    func testKeyFileReadableByOthers() throws {
        chmod(cli.path("police.key"), 0o644)
        try assertRefused(appendPolice, stdin: Data(CLI.contact().utf8), mentions: "chmod 600")
    }

    func testPathThatIsNotALedger() throws {
        let junk = cli.path("notes.txt")
        try Data("not a database, just some text that is long enough to not be empty".utf8).write(to: URL(fileURLWithPath: junk))
        try assertRefused(appendPolice, stdin: Data(CLI.contact().utf8), status: 4, mentions: "not a safeguard ledger", env: ["SAFEGUARD_LEDGER": junk])
        let other = cli.path("other.sqlite")
        XCTAssertEqual(sqliteCreate(other), 0)
        try assertRefused(appendPolice, stdin: Data(CLI.contact().utf8), status: 4, mentions: "not a safeguard ledger", env: ["SAFEGUARD_LEDGER": other])
        try assertRefused(["verify", "--trust", try cli.rootPublicKey()], status: 4, mentions: "not a safeguard ledger", env: ["SAFEGUARD_LEDGER": cli.dir.path])
        try assertRefused(appendPolice, stdin: Data(CLI.contact().utf8), status: 4, mentions: "no ledger at", env: ["SAFEGUARD_LEDGER": cli.path("missing.sqlite")])
    }

    func testReadOnlyLedger() throws {
        chmod(cli.ledger, 0o444)
        defer { chmod(cli.ledger, 0o644) }
        try assertRefused(appendPolice, stdin: Data(CLI.contact().utf8), status: 4, mentions: "read-only")
        let v = try cli.run("verify", "--trust", try cli.rootPublicKey())
        XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
    }

    func testUsageErrorsExitTwo() throws {
        for args in [["append"], ["verify"], ["verify", "--trust", "not-a-key"], ["init", "--root-key", "x"], ["frobnicate"],
                     ["keys", "revoke", "--key", "k", "--key-id", "XYZ", "--reason", "compromised"]] {
            let r = try cli.run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty)
        }
        XCTAssertEqual(try cli.head(), before)
    }

    func testInitNeverOverwrites() throws {
        try assertRefused(["init", "--root-key", cli.path("root.key"), "--partnership", "Again", "--origin", "test.example/other"],
                          status: 4, mentions: "already exists")
    }

    func testImportIsAllOrNothingAndReportsEveryBadLine() throws {
        let good = CLI.contact()
        let forbidden = CLI.contact().replacingOccurrences(of: "contact.recorded", with: "referral.mase")
        let unknownCode = CLI.contact().replacingOccurrences(of: #"["A2"]"#, with: #"["A42"]"#)
        var lines = Array(repeating: good, count: 60)
        lines[36] = forbidden
        lines[51] = unknownCode
        lines[44] = "{not json"
        try lines.joined(separator: "\n").write(toFile: cli.path("batch.jsonl"), atomically: true, encoding: .utf8)
        let r = try cli.run("import", "--key", cli.path("police.key"), "--file", cli.path("batch.jsonl"))
        XCTAssertEqual(r.status, 3, r.stderr)
        let errors = r.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(errors.count, 4, r.stderr)
        XCTAssertTrue(errors[0].hasPrefix("error: line 37: ") && errors[0].contains("may not record referral.mase"), errors[0])
        XCTAssertTrue(errors[1].hasPrefix("error: line 45: ") && errors[1].contains("not valid JSON"), errors[1])
        XCTAssertTrue(errors[2].hasPrefix("error: line 52: ") && errors[2].contains("A42"), errors[2])
        XCTAssertEqual(errors[3], "error: 3 of 60 events refused; nothing was appended")
        XCTAssertEqual(try cli.head(), before, "nothing appended")
        try (good + "\n\n" + good + "\n").write(toFile: cli.path("ok.jsonl"), atomically: true, encoding: .utf8)
        let ok = try cli.run("import", "--key", cli.path("police.key"), "--file", cli.path("ok.jsonl"))
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("Imported 2 events"), ok.stdout)
    }

    /// Regression (found by the bad-input matrix): lines that are not JSON among good ones used
    /// to leave the good ones appended while saying "nothing was appended".
    func testImportWithAnUnreadableLineAppendsNothing() throws {
        let lines = [CLI.contact(), "{oops", CLI.contact(), String(CLI.contact().prefix(30))].joined(separator: "\n")
        let r = try cli.run(["import", "--key", cli.path("police.key"), "--file", "-"], stdin: Data(lines.utf8))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("line 2:") && r.stderr.contains("line 4:") && r.stderr.contains("nothing was appended"), r.stderr)
        XCTAssertEqual(try cli.head(), before, "the good lines were appended")
    }

    /// The import is streamed through two threads in chunks (Ledger.importDrafts): a file and
    /// standard input of more lines than a chunk both land whole, in order, and verify; an event
    /// id given twice in one file is refused, though the first is not yet committed when the
    /// second comes.
    func testLargeImportStreamsInOrderAndRefusesAnEventIDGivenTwice() throws {
        let lines = (0..<700).map { CLI.contact(details: ",\"note\":\"line \($0)\"") }
        try lines.joined(separator: "\n").write(toFile: cli.path("many.jsonl"), atomically: true, encoding: .utf8)
        let r = try cli.run("import", "--key", cli.path("police.key"), "--file", cli.path("many.jsonl"), "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let stdin = try cli.run(["import", "--key", cli.path("police.key"), "--file", "-", "--json"], stdin: Data(lines.prefix(300).joined(separator: "\n").utf8))
        XCTAssertEqual(stdin.status, 0, stdin.stderr)
        XCTAssertTrue(stdin.stdout.contains("\"appended\":300"), stdin.stdout)
        XCTAssertTrue(r.stdout.contains("\"first_seq\":8,") && r.stdout.contains("\"last_seq\":707}"), r.stdout)
        XCTAssertTrue(stdin.stdout.contains("\"first_seq\":708,") && stdin.stdout.contains("\"last_seq\":1007}"), stdin.stdout)
        XCTAssertEqual(try cli.run("verify", "--trust", try cli.rootPublicKey()).status, 0)
        before = try cli.head()
        let id = #""event_id":"6f1c2a9e-0b7d-4c3e-9a51-2d8f4e6b7c11","facts""#
        var twice = Array(lines.prefix(400))
        twice[10] = twice[10].replacingOccurrences(of: #""facts""#, with: id)
        twice[390] = twice[390].replacingOccurrences(of: #""facts""#, with: id)
        try twice.joined(separator: "\n").write(toFile: cli.path("twice.jsonl"), atomically: true, encoding: .utf8)
        let dup = try cli.run("import", "--key", cli.path("police.key"), "--file", cli.path("twice.jsonl"))
        XCTAssertEqual(dup.status, 3, dup.stderr)
        XCTAssertTrue(dup.stderr.contains("line 391:") && dup.stderr.contains("1 of 400 events refused; nothing was appended"), dup.stderr)
        XCTAssertEqual(try cli.head(), before, "nothing appended")
    }

    /// Red team: input that cannot be read twice (a pipe, here /dev/stdin) is read once, whole.
    /// Read as a stream, a refusal made the check of every line read only the rest of the pipe,
    /// which could commit the lines after the first megabyte and exit 0.
    func testImportFromAPipeWithARefusedLineAppendsNothing() throws {
        let lines = ["{not json"] + Array(repeating: CLI.contact(details: ",\"padding\":\"" + String(repeating: "x", count: 200) + "\""), count: 5000)
        let input = Data(lines.joined(separator: "\n").utf8)
        XCTAssertGreaterThan(input.count, 1 << 20)
        let r = try cli.run(["import", "--key", cli.path("police.key"), "--file", "/dev/stdin"], stdin: input)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: line 1: ") && r.stderr.contains("1 of 5001 events refused; nothing was appended"), r.stderr)
        XCTAssertEqual(try cli.head(), before, "nothing appended")
        let good = try cli.run(["import", "--key", cli.path("police.key"), "--file", "/dev/stdin", "--json"], stdin: Data(lines.dropFirst().joined(separator: "\n").utf8))
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(good.stdout.contains("\"appended\":5000"), good.stdout)
    }

    /// A reason that refuses every line alike (here an unknown code) lists the first 100 lines
    /// and counts the rest, rather than printing thousands of the same line.
    func testImportListsAtMostAHundredRefusedLines() throws {
        let bad = CLI.contact().replacingOccurrences(of: #"["A2"]"#, with: #"["A42"]"#)
        try Array(repeating: bad, count: 150).joined(separator: "\n").write(toFile: cli.path("bad.jsonl"), atomically: true, encoding: .utf8)
        let r = try cli.run("import", "--key", cli.path("police.key"), "--file", cli.path("bad.jsonl"))
        XCTAssertEqual(r.status, 3, r.stderr)
        let errors = r.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(errors.count, 102, r.stderr)
        XCTAssertTrue(errors[99].hasPrefix("error: line 100: ") && errors[99].contains("A42"), errors[99])
        XCTAssertEqual(errors[100], "error: ... and 50 more lines refused (the first 100 are listed)")
        XCTAssertEqual(errors[101], "error: 150 of 150 events refused; nothing was appended")
        XCTAssertEqual(try cli.head(), before, "nothing appended")
    }

    func testDuplicateEventIDRefused() throws {
        let withID = CLI.contact().replacingOccurrences(of: #""facts""#, with: #""event_id":"6f1c2a9e-0b7d-4c3e-9a51-2d8f4e6b7c10","facts""#)
        XCTAssertEqual(try cli.run(appendPolice, stdin: Data(withID.utf8)).status, 0)
        before = try cli.head()
        try assertRefused(appendPolice, stdin: Data(withID.utf8), mentions: "already in the ledger")
    }

    /// Creates an empty SQLite database that is not a ledger, with the sqlite3 library only.
    private func sqliteCreate(_ path: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()", path]
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
