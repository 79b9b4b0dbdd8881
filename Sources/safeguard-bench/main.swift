import Foundation
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
let args = CommandLine.arguments.dropFirst()
guard args.count == 2, ["fold", "fold-in-memory", "tree"].contains(args.first!) else {
    FileHandle.standardError.write(Data("usage: safeguard-bench fold|fold-in-memory|tree LEDGER.sqlite\n".utf8))
    exit(2)
}
let ledgerPath = args.last!
if args.first == "tree" {
    do {
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
    } catch {
        FileHandle.standardError.write(Data("safeguard-bench: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
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
