import Foundation
import GRDB
import GRDBSQLite
import Projections
import SafeguardCore
import SafeguardStore

/// Benchmarks of the parts of safeguard whose speed matters, on an existing ledger (make one
/// with `safeguard demo seed`). Prints one line per figure; `tools/bench` drives it.
///
///   safeguard-bench fold LEDGER      the projections rebuilt WITHOUT verification, into a
///                                    scratch file: where the fold's time goes
///   safeguard-bench tree LEDGER      the Merkle tree in the file: the root and proofs at the
///                                    full size, in milliseconds each (format 2 or later)
///   safeguard-bench limits LEDGER    the machine's limits, with the same libraries: Ed25519
///                                    verifications and signatures per second (one core and
///                                    all), SHA-256 MB/s, and SQLite's raw scan of the events
///   safeguard-bench append LEDGER KEY N   N single durable appends to a copy of LEDGER,
///                                    signed with KEY: latency p50/p99 in ms, appends/s
///   safeguard-bench walk LEDGER      where a verification's time goes, per event, on one core:
///                                    each entry's own work (decode, hashes), the sequential
///                                    walk (links, keys, rules, tree) and the Ed25519 checks,
///                                    over the first 100,000 entries held in memory
///   safeguard-bench decode LEDGER    every stored envelope decoded both ways, timed (µs each):
///                                    straight from the bytes (Envelope(canonical:)) and through
///                                    a JSON tree (the general path); any difference fails
///   safeguard-bench since LEDGER KEY N   re-verification of N new events: a copy of LEDGER is
///                                    verified with its state kept, N events signed with KEY
///                                    are appended, then timed: verify --state (ms), and
///                                    verify --since-checkpoint from a checkpoint of the rest
///   safeguard-bench load URL KEYDIR CLIENTS EVENTS CASE ACKS
///                                    CLIENTS threads, each signing with KEYDIR/pN.key and sending
///                                    EVENTS contacts about CASE to the log service at URL, one
///                                    at a time: appends/s, p50/p99 latency; each acknowledged
///                                    event id is written to ACKS (for the kill test)
let args = CommandLine.arguments.dropFirst()
if args.first == "load" {
    let argv = Array(args)
    guard argv.count == 7, let clients = Int(argv[3]), let events = Int(argv[4]), clients > 0, events > 0 else {
        FileHandle.standardError.write(Data("usage: safeguard-bench load URL KEYDIR CLIENTS EVENTS CASE ACKS\n".utf8))
        exit(2)
    }
    LoadTest.run(server: argv[1], keys: argv[2], clients: clients, events: events, caseID: argv[5], acks: argv[6])
}
guard (args.count == 2 && ["fold", "fold-in-memory", "tree", "limits", "walk", "decode"].contains(args.first!)) || (args.count == 4 && ["append", "since"].contains(args.first!)) else {
    FileHandle.standardError.write(Data("usage: safeguard-bench fold|fold-in-memory|tree|limits|walk LEDGER.sqlite, append LEDGER.sqlite KEY N, or since LEDGER.sqlite KEY N\n".utf8))
    exit(2)
}
let ledgerPath = args.count >= 3 ? Array(args)[1] : args.last!
let cores = ProcessInfo.processInfo.activeProcessorCount

/// Runs one benchmark and exits: 0 when it ran, 1 with the error on stderr when it failed.
func finish(_ body: () throws -> Void) -> Never {
    do { try body() } catch {
        FileHandle.standardError.write(Data("safeguard-bench: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

if args.first == "since" {
    let argv = Array(args)
    guard let count = Int(argv[3]), count > 0 else { exit(2) }
    finish {
        // A copy, verified in full with its state kept (as an auditor's first run), then
        // `count` new events appended to it: what the auditor's next run has to check.
        let copy = NSTemporaryDirectory() + "safeguard-bench-since-\(getpid()).sqlite"
        let statePath = copy + ".state"
        defer { for f in [copy, statePath] { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: f + suffix) } } }
        try DatabaseQueue(path: ledgerPath).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        let anchor = try KeyFiles.readPublic((ledgerPath as NSString).deletingLastPathComponent + "/keys/root.key.pub")
        var ledger = try Ledger.open(at: copy, readOnly: false)
        var t = Date()
        let update = try AuditState.Update(creating: statePath)
        let first = try ledger.verify(from: .none, trustAnchor: anchor, threads: cores, onEntry: { try update.add($0, $1) })
        let summary = first.summary
        update.finish(tree: first.tree, cases: first.cases)
        try AuditState.create(statePath, update, rootKey: anchor, origin: summary.origin)
        print("state_create_s \(String(format: "%.1f", Date().timeIntervalSince(t)))")
        print("state_bytes \((try FileManager.default.attributesOfItem(atPath: statePath)[.size] as? Int) ?? 0)")
        let old = summary.events
        let oldRoot = try ledger.treeRoot(size: old).root
        let key = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: argv[2]))), passphrase: { nil })
        guard let caseID = try DatabaseQueue(path: copy).read({ try String.fetchOne($0, sql: "SELECT case_id FROM events WHERE type = 'case.opened' ORDER BY seq DESC LIMIT 1") })
        else { throw CocoaError(.featureUnsupported) }
        let drafts = (0..<count).map { _ in
            EventDraft(type: "contact.recorded", caseID: caseID, occurredAt: Timestamp(seconds: Int64(Date().timeIntervalSince1970) - 60),
                       facts: ["contact_type": "phone", "indicators": ["A2"]], details: ["narrative": "synthetic benchmark contact"])
        }
        try ledger.append(drafts, signer: key, clock: { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }, newID: { Sodium.uuid() })
        ledger = try Ledger.open(at: copy, readOnly: true)
        t = Date()
        let state = try AuditState.open(statePath)
        let e = try ledger.verify(from: .state(state), trustAnchor: anchor, threads: cores)
        print("since_new_events \(e.summary.events - e.from)")
        print("since_state_ms \(String(format: "%.1f", Date().timeIntervalSince(t) * 1000))")
        t = Date()
        let c = try ledger.verify(from: .checkpoint(size: old, root: oldRoot), trustAnchor: anchor, threads: cores)
        precondition(c.summary.treeRoot == e.summary.treeRoot)
        print("since_checkpoint_ms \(String(format: "%.1f", Date().timeIntervalSince(t) * 1000))")
    }
}

/// Runs `body` `count` times on each of `threads` threads at once; returns operations per second.
func rate(threads: Int, count: Int, _ body: @escaping @Sendable () -> Void) -> Double {
    let started = Date()
    DispatchQueue.concurrentPerform(iterations: threads) { _ in for _ in 0..<count { body() } }
    return Double(threads * count) / Date().timeIntervalSince(started)
}

if args.first == "limits" {
    let key = { var s = [UInt8](repeating: 7, count: 32); return SigningKey(seed: SecretBytes(consuming: &s)) }()
    // A message the size of a typical stored envelope.
    let message = [UInt8](repeating: 0x61, count: 560)
    let signature = key.sign(message)
    let publicKey = key.publicKey
    // Each rate is the median of 3 rounds of about half a second: one short round is at the
    // mercy of the machine's other tenants.
    let n = 8000
    func median(_ body: () -> Double) -> Int { Int([body(), body(), body()].sorted()[1]) }
    print("cores \(cores)")
    print("ed25519_verify_per_s_1core \(median { rate(threads: 1, count: n) { _ = publicKey.verify(signature: signature, message: message) } })")
    print("ed25519_verify_per_s_all \(median { rate(threads: cores, count: n) { _ = publicKey.verify(signature: signature, message: message) } })")
    print("ed25519_sign_per_s_1core \(median { rate(threads: 1, count: 3 * n) { _ = key.sign(message) } })")
    print("ed25519_sign_per_s_all \(median { rate(threads: cores, count: 3 * n) { _ = key.sign(message) } })")
    let block = [UInt8](repeating: 0x5a, count: 1 << 20)
    let t = Date()
    for _ in 0..<256 { _ = SHA256.hash(block) }
    print("sha256_mb_per_s_1core \(Int(256 / Date().timeIntervalSince(t)))")
    // SQLite alone: every row's stored bytes stepped through, nothing decoded.
    finish {
        let queue = try DatabaseQueue(path: ledgerPath, configuration: { var c = Configuration(); c.readonly = true; return c }())
        let (rows, seconds) = try queue.read { db -> (Int, Double) in
            let statement = try db.makeStatement(sql: "SELECT seq, envelope, signature, entry_hash FROM events ORDER BY seq")
            let handle = statement.sqliteStatement
            let started = Date()
            var rows = 0, bytes = 0
            while sqlite3_step(handle) == SQLITE_ROW {
                bytes &+= Int(sqlite3_column_bytes(handle, 1)) &+ Int(sqlite3_column_bytes(handle, 2))
                rows += 1
            }
            _ = bytes
            return (rows, Date().timeIntervalSince(started))
        }
        print("sqlite_scan_rows_per_s_1core \(Int(Double(rows) / seconds))")
    }
}
if args.first == "append" {
    let argv = Array(args)
    guard let count = Int(argv[3]), count > 0 else { exit(2) }
    finish {
        let copy = NSTemporaryDirectory() + "safeguard-bench-append-\(getpid()).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) } }
        try DatabaseQueue(path: ledgerPath).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        let ledger = try Ledger.open(at: copy, readOnly: false)
        let key = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: argv[2]))), passphrase: { nil })
        // The latest case opened: open, so a contact on it is accepted.
        guard let caseID = try DatabaseQueue(path: copy).read({ try String.fetchOne($0, sql: "SELECT case_id FROM events WHERE type = 'case.opened' ORDER BY seq DESC LIMIT 1") })
        else { throw CocoaError(.featureUnsupported) }
        var latencies: [Double] = []
        let started = Date()
        for _ in 0..<count {
            let draft = EventDraft(type: "contact.recorded", caseID: caseID, occurredAt: Timestamp(seconds: Int64(Date().timeIntervalSince1970) - 60),
                                   facts: ["contact_type": "phone", "indicators": ["A2"]], details: ["narrative": "synthetic benchmark contact"])
            let t = Date()
            try ledger.append([draft], signer: key, clock: { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }, newID: { Sodium.uuid() })
            latencies.append(Date().timeIntervalSince(t) * 1000)
        }
        let total = Date().timeIntervalSince(started)
        latencies.sort()
        func pct(_ p: Double) -> String { String(format: "%.2f", latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) }
        print("appends \(count)")
        print("append_p50_ms \(pct(0.5))")
        print("append_p99_ms \(pct(0.99))")
        print("appends_per_s \(Int(Double(count) / total))")
    }
}
if args.first == "decode" {
    finish {
        let queue = try DatabaseQueue(path: ledgerPath, configuration: { var c = Configuration(); c.readonly = true; return c }())
        let envelopes = try queue.read { db in try Data.fetchAll(db, sql: "SELECT envelope FROM events ORDER BY seq").map { [UInt8]($0) } }
        var t = Date()
        var fast: [Envelope?] = []
        fast.reserveCapacity(envelopes.count)
        for e in envelopes { fast.append(Envelope(canonical: e)) }
        let fastSeconds = Date().timeIntervalSince(t)
        t = Date()
        var general: [Envelope?] = []
        general.reserveCapacity(envelopes.count)
        for e in envelopes { general.append(try? Envelope(json: JSONParser.parse(e, mode: .canonical))) }
        let generalSeconds = Date().timeIntervalSince(t)
        var taken = 0
        for (a, b) in zip(fast, general) where a != nil {
            taken += 1
            guard a == b else { throw CocoaError(.coderInvalidValue) }
        }
        print("envelopes \(envelopes.count)")
        print("fast_taken \(taken)")
        print("fast_us \(String(format: "%.2f", fastSeconds * 1e6 / Double(envelopes.count)))")
        print("general_us \(String(format: "%.2f", generalSeconds * 1e6 / Double(envelopes.count)))")
    }
}
if args.first == "tree" {
    finish {
        let ledger = try Ledger.open(at: ledgerPath, readOnly: true)
        let n = try ledger.head()?.size ?? 0
        func ms(_ runs: Int, _ body: (Int) throws -> Void) rethrows -> Double {
            let t = Date()
            for i in 0..<runs { try body(i) }
            return Date().timeIntervalSince(t) * 1000 / Double(runs)
        }
        var rng = SystemRandomNumberGenerator()
        print("events \(n)")
        print("tree_root_ms \(String(format: "%.3f", try ms(100) { _ in _ = try ledger.treeRoot(size: n) }))")
        print("inclusion_proof_ms \(String(format: "%.3f", try ms(1000) { _ in _ = try ledger.inclusionProof(seq: Int64.random(in: 0..<n, using: &rng), size: n) }))")
        print("consistency_proof_ms \(String(format: "%.3f", try ms(1000) { _ in _ = try ledger.consistencyProof(old: Int64.random(in: 1...n, using: &rng), new: n) }))")
    }
}
do {
    let scratch = NSTemporaryDirectory() + "safeguard-bench-\(getpid()).projections.sqlite"
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratch + suffix) } }
    let engine = try ProjectionEngine(ledger: try Ledger.open(at: ledgerPath, readOnly: true), path: scratch)
    if args.first == "fold" {
        // Resident memory as the fold goes, to show it does not grow with the log.
        let rss = { () -> Int in
            let fields = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
            return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576 : 0
        }
        var samples: [String] = []
        _ = try engine.rebuildUnverifiedForBenchmark { n in if n % 200_000 == 0 { samples.append("\(n / 1000)k:\(rss())MB") } }
        print("resident_memory \(samples.joined(separator: " "))")
    } else {
        var events: [(StoredEntry, Envelope)] = []
        try engine.ledger.forEachUnverified { events.append(($0, $1)) }
        _ = try engine.rebuildForBenchmark(events)
    }
    let t = engine.timings
    let apply = t.foldTotal
    func rate(_ s: Double) -> Int { s > 0 ? Int(Double(t.events) / s) : 0 }
    print("events \(t.events)")
    print("rebuild_unverified_s \(String(format: "%.3f", t.total)) (\(rate(t.total)) events/s)")
    print("fold_apply_s \(String(format: "%.3f", apply)) (\(rate(apply)) events/s; "
          + t.fold.keys.sorted().map { "\($0) \(String(format: "%.3f", t.fold[$0]!))" }.joined(separator: ", ") + ")")
    print("fold_finish_s \(String(format: "%.3f", t.finish)) (indexes \(String(format: "%.3f", t.indexes)), "
          + t.finishing.keys.sorted().map { "\($0) \(String(format: "%.3f", t.finishing[$0]!))" }.joined(separator: ", ")
          + ", digests \(String(format: "%.3f", t.digests)))")
    print("fold_total_s \(String(format: "%.3f", apply + t.finish)) (\(rate(apply + t.finish)) events/s)")
    print("read_parse_s \(String(format: "%.3f", t.total - apply - t.finish))")
} catch {
    FileHandle.standardError.write(Data("safeguard-bench: \(error)\n".utf8))
    exit(1)
}
