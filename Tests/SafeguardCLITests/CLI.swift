import Foundation
import GRDB
import TestSupport
import SafeguardCore
import XCTest

/// Runs the built `safeguard` executable as a person or a script would.
struct CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// `.build/<config>/safeguard`, next to the test bundle (or $SAFEGUARD_BIN).
    static let executable: URL = {
        if let env = ProcessInfo.processInfo.environment["SAFEGUARD_BIN"] { return URL(fileURLWithPath: env) }
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("safeguard")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.appendingPathComponent("safeguard")
    }()

    let dir: URL
    var env: [String: String]

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safeguard-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var e = ProcessInfo.processInfo.environment
        e["SAFEGUARD_LEDGER"] = dir.appendingPathComponent("ledger.sqlite").path
        // The read models go to the test's own folder, not the user's.
        e["SAFEGUARD_HOME"] = dir.appendingPathComponent("home").path
        e.removeValue(forKey: "SAFEGUARD_PROJECTIONS")
        e.removeValue(forKey: "SAFEGUARD_PASSPHRASE")
        env = e
    }

    var ledger: String { env["SAFEGUARD_LEDGER"]! }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Mounts a 4 MB tmpfs at `name` in the test folder and fills it to within `leaving`
    /// bytes of full; `body` runs with the mount's path, and the mount is removed after.
    /// Skips the test where mounting is not allowed (CI runs as root).
    func withSmallDisk(_ name: String = "small", before fill: (String) throws -> Void = { _ in }, leaving: Int,
                       _ body: (String) throws -> Void) throws {
        let mount = path(name)
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        func tool(_ path: String, _ args: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: path)
            p.arguments = args
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        guard try tool("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount]) == 0 else {
            throw XCTSkip("mounting a small tmpfs needs root (CI runs as root); not run here")
        }
        defer { _ = try? tool("/bin/umount", [mount]) }
        try fill(mount)
        let free = try FileManager.default.attributesOfFileSystem(forPath: mount)[.systemFreeSize] as! Int
        FileManager.default.createFile(atPath: mount + "/fill", contents: Data(count: max(0, free - leaving)))
        try body(mount)
    }

    /// Runs `safeguard args…` with `stdin` (no terminal), in the test folder.
    @discardableResult
    func run(_ args: [String], stdin: Data = Data(), env extra: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = args
        p.currentDirectoryURL = dir
        p.environment = env.merging(extra) { $1 }
        // Files, not pipes: nothing to drain concurrently, and any input size works.
        let tag = UUID().uuidString
        let inURL = dir.appendingPathComponent(".in-\(tag)"), outURL = dir.appendingPathComponent(".out-\(tag)"),
            errURL = dir.appendingPathComponent(".err-\(tag)")
        try stdin.write(to: inURL)
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { for u in [inURL, outURL, errURL] { try? FileManager.default.removeItem(at: u) } }
        p.standardInput = try FileHandle(forReadingFrom: inURL)
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `safeguard args…` under GNU time (`/usr/bin/time`, from Debian's `time` package)
    /// and measures its peak memory: the exit status and its maximum resident set size in KiB.
    /// GNU time forks from its own small process, so the figure is the command's alone (a child
    /// spawned straight from the test process would count the test's memory too). Nil when
    /// GNU time is not installed.
    func runMeasured(_ args: [String]) throws -> (status: Int32, maxRSSKiB: Int)? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        let report = dir.appendingPathComponent(".time-\(UUID().uuidString)").path
        p.arguments = ["-f", "%M", "-o", report, Self.executable.path] + args
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: report) }
        let text = try String(contentsOfFile: report, encoding: .utf8)
        guard let kib = text.split(separator: "\n").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else { return nil }
        return (p.terminationStatus, kib)
    }

    func run(_ args: String..., stdin: String = "", env extra: [String: String] = [:]) throws -> Result {
        try run(args, stdin: Data(stdin.utf8), env: extra)
    }

    /// Size and head hash, for asserting that a refused command changed nothing.
    func head() throws -> String {
        let r = try run("head", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    /// A ledger with a root key, a police practitioner and a CSC practitioner (unprotected keys).
    func makeLedger() throws {
        for k in ["root", "police", "csc"] {
            let r = try run("keys", "generate", "--out", path("\(k).key"), "--unprotected")
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        var r = try run("init", "--root-key", path("root.key"), "--partnership", "Test Partnership", "--origin", "test.example/ledger")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run("keys", "enrol", "--key", path("root.key"), "--public", path("police.key.pub"), "--agency", "police",
                    "--role", "practitioner", "--practitioner", "PC 0001")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run("keys", "enrol", "--key", path("root.key"), "--public", path("csc.key.pub"), "--agency", "csc",
                    "--role", "practitioner", "--practitioner", "SW 0002")
        XCTAssertEqual(r.status, 0, r.stderr)
        // The cases the tests record about: seq 4-7; the tests' own events start at seq 8.
        let cases = Self.openedCases.map(Self.caseOpened).joined(separator: "\n")
        r = try run(["import", "--key", path("police.key"), "--file", "-"], stdin: Data(cases.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    static let openedCases = ["C-0001", "C-0007", "C-CONC", "C-1"]
    static let firstFree = 8

    static func caseOpened(_ caseID: String) -> String {
        #"{"type":"case.opened","case_id":"\#(caseID)","occurred_at":"2026-03-01T09:00:00Z","facts":{"birth_month":"2011-04","gender":"female","looked_after":false,"learning_disability":false,"borough":"TEST"}}"#
    }

    /// A copy of the ledger named `name`, changed by `body` as an insider with write access
    /// could (past the triggers and CHECK constraints, which are put back afterwards).
    func tamperedCopy(_ name: String, _ body: (Database) throws -> Void) throws -> String {
        let copy = path(name)
        try DatabaseQueue(path: ledger).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        try Tamper.asInsider(copy, body)
        return copy
    }

    /// Copies of the ledger with a row where re-verification (`--state`, `--since-checkpoint`),
    /// which reads by `seq` from where it left off, would not look, each with the failure code
    /// it must give: an event at seq -1 and a details record at seq -7 (CHECK constraints
    /// switched off), and an event with a NULL seq in an `events` table rebuilt without its
    /// INTEGER PRIMARY KEY. A full verification finds each of them.
    func copiesWithRowsOutOfSight() throws -> [(path: String, code: String)] {
        let copy = { (seq: String, id: String) in
            "SELECT \(seq), '\(id)', type, case_id, agency, key_id, occurred_at, recorded_at, prev_hash, envelope, signature, entry_hash FROM events WHERE seq = 3"
        }
        return [
            (try tamperedCopy("negative-seq.sqlite") { db in
                try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
                try db.execute(sql: "INSERT INTO events " + copy("-1", "deadbeef-0000-4000-8000-000000000001"))
            }, "out_of_order"),
            (try tamperedCopy("negative-details.sqlite") { db in
                try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
                try db.execute(sql: "INSERT INTO details SELECT -7, salt, body FROM details WHERE seq = 3")
            }, "details_mismatch"),
            (try tamperedCopy("null-seq.sqlite") { db in
                try db.execute(sql: "CREATE TABLE rebuilt AS SELECT * FROM events; DROP TABLE events; ALTER TABLE rebuilt RENAME TO events")
                try db.execute(sql: "INSERT INTO events " + copy("NULL", "deadbeef-0000-4000-8000-000000000002"))
            }, "altered_table"),
        ]
    }

    func rootPublicKey() throws -> String {
        try String(contentsOfFile: path("root.key.pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func contact(_ caseID: String = "C-0001", extra: String = "", details: String = "") -> String {
        #"{"type":"contact.recorded","case_id":"\#(caseID)","occurred_at":"2026-03-02T09:15:00Z","facts":{"contact_type":"face_to_face","indicators":["A2"]\#(extra)},"details":{"narrative":"synthetic"\#(details)}}"#
    }
}

extension CLI {
    /// A CLI with a synthetic partnership seeded at p/ (`demo seed`, ending on 1 June 2026) as
    /// $SAFEGUARD_LEDGER, and clock jumps allowed: what the tests record is recorded months
    /// after the synthetic log ends.
    static func withDemoLedger(events: Int, seed: Int) throws -> CLI {
        var cli = try CLI()
        let r = try cli.run("demo", "seed", "--dir", cli.path("p"), "--events", String(events), "--seed", String(seed), "--end", "2026-06-01T00:00:00Z")
        XCTAssertEqual(r.status, 0, r.stderr)
        cli.env["SAFEGUARD_LEDGER"] = cli.path("p/ledger.sqlite")
        cli.env["SAFEGUARD_ALLOW_CLOCK_JUMP"] = "1"
        return cli
    }

    /// A CLI with a seeded demo ledger at p/ledger.sqlite (as $SAFEGUARD_LEDGER), an unprotected
    /// checkpoint key at cp.key and the log's verifier key at log.vkey: what the transparency
    /// tests start from.
    static func withCheckpointKey(events: Int = 60, sealed: Bool = false) throws -> CLI {
        var cli = try CLI()
        let r = try cli.run(["demo", "seed", "--dir", cli.path("p"), "--events", String(events), "--seed", "4", "--end", "2026-06-01T00:00:00Z"] + (sealed ? ["--sealed"] : []))
        XCTAssertEqual(r.status, 0, r.stderr)
        cli.env["SAFEGUARD_LEDGER"] = cli.path("p/ledger.sqlite")
        // The synthetic log ends on 1 June; what the tests record now is recorded months later.
        cli.env["SAFEGUARD_ALLOW_CLOCK_JUMP"] = "1"
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("cp.key"), "--unprotected").status, 0)
        try (try cli.run("checkpoint", "--key", cli.path("cp.key"), "--vkey").stdout).write(toFile: cli.path("log.vkey"), atomically: true, encoding: .utf8)
        try cli.nameCheckpointKey(cli.path("cp.key"), root: cli.path("p/keys/root.key"))
        return cli
    }

    /// Names `key` as the log's checkpoint key (signed by `root`), so that `checkpoint` signs
    /// with it; its first checkpoint then needs the root public key (`checkpointArgs`).
    func nameCheckpointKey(_ key: String, root: String) throws {
        let r = try run("keys", "set-log-key", "--key", root, "--public", key + ".pub")
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// `checkpoint --key KEY --trust-file ROOT …`: the root public key is needed the first time
    /// a key signs for a log (later it must match the signer's own state).
    func checkpoint(_ key: String, root: String, _ extra: String...) throws -> Result {
        try run(["checkpoint", "--key", key, "--trust-file", root] + extra)
    }

    /// A checkpoint of the ledger at `ledgerPath` signed with the checkpoint key at `key`
    /// directly, past `safeguard checkpoint` and its checks, and kept in that file's table:
    /// what a dishonest operator holding the key does to show two histories. Returns the note.
    @discardableResult
    func signDirectly(ledger ledgerPath: String, key: String, origin: String = "example.org/synthetic-ledger") throws -> String {
        let head = try run("head", "--ledger", ledgerPath, "--json").stdout
        let size = Int64(try XCTUnwrap(head.firstMatch(of: /"size":(\d+)/)).1)!
        let root = Base64.decode(String(try XCTUnwrap(head.firstMatch(of: /"tree_root":"([^"]+)"/)).1))!
        let signer = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: key))), passphrase: { nil })
        let note = try XCTUnwrap(Checkpoint(origin: origin, size: size, root: root)).sign(name: origin, key: signer)
        try DatabaseQueue(path: ledgerPath).write { db in
            try db.execute(sql: "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, '2026-06-01T00:00:00Z')",
                           arguments: [size, Data(root), Data(note)])
        }
        return String(decoding: note, as: UTF8.self)
    }
}
