import Foundation
import GRDB
import XCTest

/// Faults and load through the real executable (docs/RELIABILITY.md): appends killed with
/// SIGKILL at random moments, several writers with readers at once, and a writer that gives up
/// waiting for a lock. Sizes come from the environment, so that `tools/reliability` runs the
/// full trials and `swift test` a quick version; figures go to $SAFEGUARD_RELIABILITY_OUT.
final class ReliabilityTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    static func setting(_ name: String, _ quick: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? quick
    }

    /// Appends a line to $SAFEGUARD_RELIABILITY_OUT/NAME.txt, when set (tools/reliability reads them).
    static func record(_ name: String, _ line: String) {
        guard let dir = ProcessInfo.processInfo.environment["SAFEGUARD_RELIABILITY_OUT"], !dir.isEmpty else { return }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let url = URL(fileURLWithPath: dir).appendingPathComponent(name + ".txt")
        if let h = try? FileHandle(forWritingTo: url) {
            h.seekToEndOfFile(); h.write(Data((line + "\n").utf8)); try? h.close()
        } else {
            try? Data((line + "\n").utf8).write(to: url)
        }
    }

    /// The event ids in the ledger, through `log list --json`.
    func eventIDs() throws -> Set<String> {
        let r = try cli.run("log", "list", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        return Set(r.stdout.matches(of: /"event_id":"([0-9a-f-]{36})","seq"/).map { String($0.1) })
    }

    func contact(_ id: String) -> String {
        #"{"type":"contact.recorded","case_id":"C-CONC","occurred_at":"2026-03-02T09:00:00Z","event_id":"\#(id)","facts":{"contact_type":"phone","indicators":["A2"]},"details":{"narrative":"synthetic"}}"#
    }

    /// Appends and imports killed with SIGKILL at random moments: after each, the ledger opens
    /// and verifies, holds every acknowledged event, and holds each batch whole or not at all.
    func testKilledAppendsLoseNothingAcknowledgedAndLeaveNoHalfBatch() throws {
        let trials = Self.setting("SAFEGUARD_CRASH_TRIALS", 16)
        var generator = SystemRandomNumberGenerator()
        var expected = try eventIDs()
        var outcomes = (acknowledged: 0, killedAbsent: 0, killedPresent: 0)
        // The latest moment to kill, per kind, adapted as trials go so that kills land around
        // the commit: shorter after a run that finished first, longer after one killed early.
        var bound: [Int: Double] = [1: 150_000, 40: 300_000]
        for trial in 0..<trials {
            let batch = trial % 2 == 0 ? 1 : 40
            let ids = (0..<batch).map { _ in UUID().uuidString.lowercased() }
            let input = Data(ids.map(contact).joined(separator: "\n").utf8)
            let p = Process()
            p.executableURL = CLI.executable
            p.arguments = batch == 1 ? ["append", "--key", cli.path("police.key")] : ["import", "--key", cli.path("csc.key"), "--file", "-"]
            p.environment = cli.env
            let inURL = cli.dir.appendingPathComponent("crash-in"), outURL = cli.dir.appendingPathComponent("crash-out")
            try input.write(to: inURL)
            FileManager.default.createFile(atPath: outURL.path, contents: nil)
            p.standardInput = try FileHandle(forReadingFrom: inURL)
            p.standardOutput = try FileHandle(forWritingTo: outURL)
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 0...UInt32(bound[batch]!), using: &generator))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let printed = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
            let acknowledged = p.terminationReason == .exit && p.terminationStatus == 0 && printed.contains(batch == 1 ? "Appended" : "Imported")

            // The ledger opens and verifies after every kill.
            let v = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
            XCTAssertEqual(v.status, 0, "trial \(trial): \(v.stdout) \(v.stderr)")
            let now = try eventIDs()
            let present = ids.filter(now.contains).count
            XCTAssertTrue(present == 0 || present == batch, "trial \(trial): \(present) of a batch of \(batch) present")
            if acknowledged { XCTAssertEqual(present, batch, "trial \(trial): an acknowledged append is missing") }
            XCTAssertEqual(now.subtracting(ids), expected, "trial \(trial): events other than this batch's changed")
            if present == batch { expected.formUnion(ids) }
            if acknowledged { outcomes.acknowledged += 1 } else if present == 0 { outcomes.killedAbsent += 1 } else { outcomes.killedPresent += 1 }
            bound[batch] = min(2_000_000, max(5_000, bound[batch]! * (acknowledged ? 0.8 : present == 0 ? 1.15 : 1.0)))
        }
        let v = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--json")
        XCTAssertTrue(v.stdout.contains(#""events":\#(expected.count)"#), v.stdout)
        Self.record("crash", "\(trials) trials (single appends and 40-event imports, SIGKILL at a random moment): \(trials) times the ledger verified with every acknowledged event and no half batch; "
                    + "\(outcomes.acknowledged) finished before the kill, \(outcomes.killedPresent) killed after committing (present, not acknowledged), \(outcomes.killedAbsent) killed before (absent)")
    }

    /// N writer processes × M appends with `verify` and `project update` readers running all
    /// along: one gapless chain of N×M events, no lock error shown to anyone, readers never
    /// see a half-written event.
    func testWritersAndReadersAtOnce() throws {
        let processes = Self.setting("SAFEGUARD_CONCURRENT_WRITERS", 4), each = Self.setting("SAFEGUARD_CONCURRENT_APPENDS", 10)
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub")).status, 0)
        let script = """
            for i in $(seq 1 \(each)); do
              echo '\(CLI.contact("C-CONC"))' | "$SG" append --key "$KEY" >/dev/null 2>>"$ERR" || exit 1
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
            env["ERR"] = cli.path("writer-\(n).err")
            p.environment = env
            try p.run()
            procs.append(p)
        }
        var verifies = 0, updates = 0
        while procs.contains(where: { $0.isRunning }) {
            let v = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
            XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
            let u = try cli.run("project", "update", "--trust-file", cli.path("root.key.pub"))
            XCTAssertEqual(u.status, 0, u.stdout + u.stderr)
            verifies += 1; updates += 1
        }
        var errors = ""
        for (n, p) in procs.enumerated() {
            XCTAssertEqual(p.terminationStatus, 0, "writer \(n)")
            errors += (try? String(contentsOfFile: cli.path("writer-\(n).err"), encoding: .utf8)) ?? ""
        }
        XCTAssertEqual(errors, "", "no writer saw an error (a lock included)")
        let r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--json")
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains(#""events":\#(CLI.firstFree + processes * each)"#), r.stdout)
        let log = try cli.run("log", "--case", "C-CONC", "--json")
        XCTAssertEqual(log.stdout.split(separator: "\n").count, processes * each + 1, "the case's opening and every append")
        let seqs = log.stdout.matches(of: /"seq":(\d+),"signature"/).map { Int($0.1)! }
        XCTAssertEqual(Set(seqs).count, seqs.count)
        XCTAssertGreaterThan(verifies, 0)
        let final = try cli.run("project", "update", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(final.status, 0, final.stderr)
        Self.record("concurrency", "\(processes) writer processes × \(each) appends = \(processes * each) events, with \(verifies) verify and \(updates) project update runs meanwhile: "
                    + "one gapless chain of \(CLI.firstFree + processes * each) events, 0 writer errors, 0 reader failures")
    }

    /// A writer that cannot get the lock within SAFEGUARD_LOCK_TIMEOUT gives up with one clear
    /// line and exit 4, and writes nothing.
    func testAWriterGivesUpClearlyWhenTheLockIsHeldTooLong() throws {
        let before = try cli.head()
        let holder = try DatabaseQueue(path: cli.ledger)
        try holder.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            let started = Date()
            let r = try cli.run(["append", "--key", cli.path("police.key")], stdin: Data(CLI.contact("C-CONC").utf8), env: ["SAFEGUARD_LOCK_TIMEOUT": "1"])
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.9, "it waited for the lock first")
            XCTAssertEqual(r.status, 4, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("stayed locked by other writers") && r.stderr.contains("nothing was appended"), r.stderr)
            try db.execute(sql: "ROLLBACK")
        }
        try holder.close()
        XCTAssertEqual(try cli.head(), before)
        let bad = try cli.run(["append", "--key", cli.path("police.key")], stdin: Data(CLI.contact("C-CONC").utf8), env: ["SAFEGUARD_LOCK_TIMEOUT": "soon"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("SAFEGUARD_LOCK_TIMEOUT must be a number of seconds"), bad.stderr)
    }
}
