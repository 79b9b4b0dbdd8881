import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension ProjectionEngine {
    /// Cases worked on together: enough to keep every core busy, few enough that a window of
    /// them (and their events) stays small whatever the log's length.
    static let passBatch = 128

    /// For each chosen case, in case-id order: `transform` of its rules as known on each of
    /// `days` it was known on (nil for a day it was not), handed to `collect` on the calling
    /// thread (which reads the next cases while the threads work on the last). The read models list which entries each case's events are and their entry
    /// hashes; each is read from the ledger and checked to be that entry (nothing written into
    /// the file since, or never verified, is read). They are read and the rules worked out on every core,
    /// each thread with its own read-only connection to the ledger; memory is bounded by a
    /// window of batches, not by the log.
    func mapCasePractice<T: Sendable>(knownOn days: [Day?], chosen: Chosen, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                                      _ transform: @escaping @Sendable (Int, CasePractice) -> T,
                                      collect: (String, [T?]) throws -> Void) throws {
        let policy = try policyAtHead()
        let partnership = try partnershipFacts(knownOn: days)
        let last = days.contains(nil) ? nil : days.compactMap { $0 }.max()
        let workers = max(1, threads)
        // One connection per thread working (the first is the engine's own): the workers, and
        // the calling thread, which joins them when it has read the next cases.
        var extra: [Ledger] = []
        for _ in 0..<workers { extra.append(try Ledger.open(at: ledger.path, readOnly: true)) }
        let pool = Locked<[Ledger]>([ledger] + extra)
        typealias Case = (id: String, wanted: [(seq: Int64, entryHash: String)])
        typealias Done = Result<[(String, [T?])], any Error>

        @Sendable func work(_ batch: [Case]) -> Done {
            let connection = pool.withLock { $0.removeLast() }
            defer { pool.withLock { $0.append(connection) } }
            return Result {
                try batch.map { c in
                    let events = try connection.envelopes(c.wanted).map(CaseEvent.init)
                    return (c.id, days.indices.map { i -> T? in
                        let practice = CasePractice(c.id, events: events, partnership: partnership[i], policy: policy)
                        return practice.isKnown ? transform(i, practice) : nil
                    })
                }
            }
        }

        try read(chosen) { db in
            let filter = "case_id IS NOT NULL AND (?1 IS NULL OR recorded_day <= ?1)" + chosen.and("case_id")
            let total = readProgress == nil ? 0 : try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_events WHERE " + filter, arguments: [last?.description]) ?? 0
            var done: Int64 = 0
            let rows = try Row.fetchCursor(db, sql: "SELECT case_id, seq, entry_hash FROM audit_events WHERE \(filter) ORDER BY case_id, seq", arguments: [last?.description])
            var window: [[Case]] = [[]]
            var current: Case?
            // The window being worked on while the next is read: its batches, results and workers.
            var running: (batches: [[Case]], results: Locked<[Int: Done]>, pass: SharedWork)?
            func finish() throws {
                guard let r = running else { return }
                running = nil
                r.pass.wait()
                let all = r.results.withLock { $0 }
                for i in r.batches.indices {
                    for (id, values) in try all[i]!.get() { try collect(id, values) }
                    done += Int64(r.batches[i].reduce(0) { $0 + $1.wanted.count })
                    readProgress?(done, total)
                }
            }
            func flush() throws {
                let batches = window.filter { !$0.isEmpty }
                window = [[]]
                try finish()
                guard !batches.isEmpty else { return }
                let results = Locked<[Int: Done]>([:])
                running = (batches, results, SharedWork(count: batches.count, helpers: workers, chunk: 1) { range in
                    for i in range {
                        let r = work(batches[i])
                        results.withLock { $0[i] = r }
                    }
                })
            }
            func close() throws {
                guard let c = current else { return }
                window[window.count - 1].append(c)
                current = nil
                if window[window.count - 1].count >= Self.passBatch {
                    if window.count >= 2 * workers { try flush() } else { window.append([]) }
                }
            }
            while let r = try rows.next() {
                let id: String = r[0]
                if id != current?.id {
                    try close()
                    current = (id, [])
                }
                current!.wanted.append((r[1], r[2]))
            }
            try close()
            try flush()
            try finish()
        }
    }
}

extension ProjectionEngine {
    /// `ledger.envelopes(wanted)`, in order, read and decoded on every core.
    func envelopesOnEveryCore(_ wanted: [(seq: Int64, entryHash: String)]) throws -> [Envelope] {
        let chunk = 4096, chunks = (wanted.count + chunk - 1) / chunk
        let threads = min(chunks, ProcessInfo.processInfo.activeProcessorCount)
        guard threads > 1 else { return try ledger.envelopes(wanted) }
        var connections = [ledger]
        for _ in 1..<threads { connections.append(try Ledger.open(at: ledger.path, readOnly: true)) }
        let pool = Locked(connections), results = Locked<[Int: Result<[Envelope], any Error>]>([:])
        SharedWork(count: chunks, helpers: threads - 1, chunk: 1) { range in
            let connection = pool.withLock { $0.removeLast() }
            defer { pool.withLock { $0.append(connection) } }
            for i in range {
                let r = Result { try connection.envelopes(Array(wanted[i * chunk..<min(wanted.count, (i + 1) * chunk)])) }
                results.withLock { $0[i] = r }
            }
        }.wait()
        let all = results.withLock { $0 }
        return try (0..<chunks).flatMap { try all[$0]!.get() }
    }
}

/// A value shared between threads, behind a lock.
final class Locked<Value>: @unchecked Sendable {  // every access holds the lock
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
