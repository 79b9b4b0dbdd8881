import Foundation
import XCTest

/// The main flows through the real executable: help, append, log, head, verify, and
/// concurrent appenders from several processes.
final class CLITests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: cli.dir)
    }

    func testHelpOnEveryCommand() throws {
        for cmd in [[], ["init"], ["keys"], ["keys", "generate"], ["keys", "enrol"], ["keys", "revoke"], ["keys", "list"], ["append"],
                    ["import"], ["log"], ["log", "list"], ["log", "show"], ["head"], ["verify"], ["types"]] {
            let r = try cli.run(cmd + ["--help"])
            XCTAssertEqual(r.status, 0, "\(cmd): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("USAGE"), "\(cmd): \(r.stdout)")
        }
        let root = try cli.run("--help")
        XCTAssertTrue(root.stdout.contains("Exit codes"), root.stdout)
    }

    func testAppendLogShowVerify() throws {
        XCTAssertEqual(try cli.run(["append", "--key", cli.path("police.key")], stdin: Data(CLI.contact("C-0007").utf8)).status, 0)
        var r = try cli.run("log", "--case", "C-0007", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 2, "case.opened and the contact")
        XCTAssertTrue(r.stdout.contains(#""practitioner":"PC 0001""#), r.stdout)
        r = try cli.run("log", "--type", "governance.*")
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 5, "header and 4 governance events: \(r.stdout)")
        r = try cli.run("log", "show", "\(CLI.firstFree)")
        XCTAssertTrue(r.stdout.contains(#""case_id":"C-0007""#), r.stdout)
        r = try cli.run("head", "--json")
        XCTAssertTrue(r.stdout.contains(#""size":9"#), r.stdout)
        r = try cli.run("verify", "--trust", try cli.rootPublicKey(), "--json")
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains(#""events":9"#) && r.stdout.contains(#""ok":true"#), r.stdout)
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertTrue(r.stdout.hasPrefix("OK: 9 events verified"), r.stdout)
    }

    func testVerifyWithTheWrongRootKeyFails() throws {
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("other.key"), "--unprotected").status, 0)
        let r = try cli.run("verify", "--trust-file", cli.path("other.key.pub"), "--json")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains(#""code":"untrusted_root""#) && r.stdout.contains(#""seq":0"#), r.stdout)
    }

    func testVerifyNamesTheTamperedEvent() throws {
        for _ in 0..<3 { XCTAssertEqual(try cli.run(["append", "--key", cli.path("csc.key")], stdin: Data(CLI.contact().utf8)).status, 0) }
        let py = """
            import sqlite3,sys
            c=sqlite3.connect(sys.argv[1])
            c.execute('DROP TRIGGER events_append_only_update')
            e=c.execute('SELECT envelope FROM events WHERE seq=9').fetchone()[0]
            c.execute('UPDATE events SET envelope=? WHERE seq=9',(bytes(e).replace(b'"A2"',b'"S7"'),))
            c.commit()
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", py, cli.ledger]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let r = try cli.run("verify", "--trust", try cli.rootPublicKey())
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("FAILED: seq 9 (event "), r.stdout)
        XCTAssertTrue(r.stdout.contains("signature does not verify"), r.stdout)
    }

    /// Several processes appending at once produce one unbroken chain with every event.
    func testConcurrentAppendersFromSeveralProcesses() throws {
        let processes = 4, each = 12
        let script = """
            for i in $(seq 1 \(each)); do
              echo '\(CLI.contact("C-CONC"))' | "$SG" append --key "$KEY" >/dev/null || exit 1
            done
            """
        var procs: [Process] = []
        for n in 0..<processes {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script]
            var env = cli.env
            env["SG"] = CLI.executable.path
            env["KEY"] = cli.path(n % 2 == 0 ? "police.key" : "csc.key")
            p.environment = env
            try p.run()
            procs.append(p)
        }
        // A reader verifying while the writers work never sees a half-written event.
        var verifiedWhileWriting = 0
        while procs.contains(where: { $0.isRunning }) {
            let v = try cli.run("verify", "--trust", try cli.rootPublicKey(), "--json")
            XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
            verifiedWhileWriting += 1
        }
        for p in procs { XCTAssertEqual(p.terminationStatus, 0) }
        let r = try cli.run("verify", "--trust", try cli.rootPublicKey(), "--json")
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains(#""events":\#(CLI.firstFree + processes * each)"#), r.stdout)
        let log = try cli.run("log", "--case", "C-CONC", "--json")
        XCTAssertEqual(log.stdout.split(separator: "\n").count, processes * each + 1, "the case's opening and every append")
        XCTAssertGreaterThan(verifiedWhileWriting, 0)
    }
}
