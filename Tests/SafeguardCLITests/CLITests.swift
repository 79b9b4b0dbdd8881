import Foundation
import XCTest

/// The main flows through the real executable: help, append, log, head, verify (concurrent
/// writers and readers are in ReliabilityTests).
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

    /// `--version` names the formats this build writes and the built-in policy's version.
    func testVersion() throws {
        let r = try cli.run("--version")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("safeguard ") && r.stdout.contains("ledger file format 5") && r.stdout.contains("toolkit policy version 3"), r.stdout)
    }

    /// Bash completion, as a shell runs it: the enumerated values of record flags in the flag's
    /// own spelling, and file names for key files.
    func testShellCompletionOffersValuesAndFiles() throws {
        let script = try cli.run("--generate-completion-script", "bash")
        XCTAssertEqual(script.status, 0, script.stderr)
        let scriptPath = cli.path("completion.bash")
        try script.stdout.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: cli.path("officer.key"), contents: Data())
        func complete(_ words: [String], current: String = "") throws -> [String] {
            let all = ["safeguard"] + words + [current]
            let quoted = all.map { "'\($0)'" }.joined(separator: " ")
            let body = """
                source '\(scriptPath)'
                cd '\(cli.dir.path)'
                COMP_WORDS=(\(quoted)); COMP_CWORD=\(all.count - 1)
                _safeguard safeguard '\(current)' '\(words.last ?? "")'
                printf '%s\\n' "${COMPREPLY[@]}"
                """
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", body]
            var env = cli.env
            env["PATH"] = CLI.executable.deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        XCTAssertEqual(try complete(["record", "contact", "--how"]), ["face-to-face", "phone", "online", "about-child"])
        XCTAssertEqual(Set(try complete(["record", "share", "--lawful-basis"])),
                       ["uk-gdpr-6-1-e-public-task", "uk-gdpr-6-1-c-legal-obligation", "dpa-2018-part3-sch8-para4-law-enforcement"])
        XCTAssertEqual(try complete(["record", "referral", "--to"]), ["mash", "mase", "ewo", "adult-social-care", "rhi-provider"])
        XCTAssertTrue(try complete(["record", "decision", "--outcome"]).contains("strategy-discussion"))
        XCTAssertTrue(try complete(["record", "share", "--consent"]).contains("not-sought:risk-of-harm-to-child"))
        XCTAssertTrue(try complete(["record", "share", "--with"]).contains("police"))
        XCTAssertTrue(try complete(["record", "screening", "--level"]).contains("significant"))
        XCTAssertEqual(try complete(["record", "contact", "--key"], current: "offi"), ["officer.key"])
    }

    /// Long work shows progress with its total on a terminal (here a pseudo-terminal from
    /// `script`), then clears the line; on a pipe it shows none.
    func testProgressOnATerminalOnly() throws {
        let lines = (0..<2_100).map { i in
            #"{"type":"contact.recorded","case_id":"C-0001","occurred_at":"2026-03-02T09:00:00Z","facts":{"contact_type":"phone","indicators":[],"vulnerabilities":[]},"details":{"note":"\#(i)"}}"#
        }
        try lines.joined(separator: "\n").write(toFile: cli.path("batch.jsonl"), atomically: true, encoding: .utf8)
        func onTerminal(_ args: [String]) throws -> String {
            let command = ([CLI.executable.path] + args).map { "'\($0)'" }.joined(separator: " ") + " >/dev/null"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            p.arguments = ["-qec", command, "/dev/null"]
            var env = cli.env
            env["SAFEGUARD_PROGRESS_AFTER"] = "0"
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            p.standardInput = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, String(decoding: data, as: UTF8.self))
            return String(decoding: data, as: UTF8.self)
        }
        let imported = try onTerminal(["import", "--key", cli.path("police.key"), "--file", cli.path("batch.jsonl")])
        XCTAssertTrue(imported.contains("imported ") && imported.contains(" of 2,100 ("), imported)
        XCTAssertTrue(imported.hasSuffix("\r\u{1B}[K"), "the progress line is cleared: \(imported.debugDescription)")
        let verified = try onTerminal(["verify", "--trust-file", cli.path("root.key.pub")])
        XCTAssertTrue(verified.contains("verified ") && verified.contains(" of 2,108 ("), verified)
        let rebuilt = try onTerminal(["project", "rebuild", "--trust-file", cli.path("root.key.pub")])
        XCTAssertTrue(rebuilt.contains("verified and folded ") && rebuilt.contains(" of 2,108 ("), rebuilt)
        let report = try onTerminal(["report", "practice"])
        XCTAssertTrue(report.contains("read ") && report.contains(" of 2,104 ("), report)
        // On a pipe: no progress at all.
        let piped = try cli.run(["report", "practice"], env: ["SAFEGUARD_PROGRESS_AFTER": "0"])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.stderr, "")
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
            t=c.execute("SELECT sql FROM sqlite_master WHERE name='events_append_only_update'").fetchone()[0]
            c.execute('DROP TRIGGER events_append_only_update')
            e=c.execute('SELECT envelope FROM events WHERE seq=9').fetchone()[0]
            c.execute('UPDATE events SET envelope=? WHERE seq=9',(bytes(e).replace(b'"A2"',b'"S7"'),))
            c.execute(t)
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
}
