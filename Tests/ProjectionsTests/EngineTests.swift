import Foundation
import GRDB
@testable import Projections
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore
import TestSupport
import XCTest

/// The engine on a synthetic ledger: rebuild equals update, digests are deterministic, a
/// tampered log is refused.
final class EngineTests: XCTestCase {
    var dir: URL!
    var root: SigningKey!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safeguard-proj-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A synthetic ledger of `events` events, appended in batches like `demo seed`.
    func seeded(_ name: String, events: Int, seed: UInt64 = 5) throws -> Ledger {
        var s = [UInt8](repeating: 9, count: 32)
        root = SigningKey(seed: SecretBytes(consuming: &s))
        let start = Timestamp(rfc3339: "2026-01-01T00:00:00Z")!
        var t = start.seconds - 3600
        let tick = { () -> Timestamp in t += 1; return Timestamp(seconds: t) }
        var n = 0
        let id = { () -> String in n += 1; return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - String(n).count) + String(n) }
        var saltNumber = 0  // the same seed must give the same bytes, salts included
        let salt = { () -> [UInt8] in saltNumber += 1; return SHA256.hash(Array("test salt \(saltNumber)".utf8)) }
        let (ledger, _) = try Ledger.create(at: dir.appendingPathComponent(name).path, signer: root, drafts: [
            GovernanceDrafts.genesis(partnership: "P", origin: "p.example/l", root: root.publicKey, at: Timestamp(seconds: t)),
            GovernanceDrafts.policy(document: ToolkitPolicy.document, at: Timestamp(seconds: t)),
        ], practitioner: "root", clock: tick, newID: id, newSalt: salt)
        var keys: [String: SigningKey] = [:]
        for (i, agency) in ["police", "csc", "health", "education", "voluntary", "mash", "partnership"].enumerated() {
            var ks = [UInt8](repeating: UInt8(20 + i), count: 32)
            keys[agency] = SigningKey(seed: SecretBytes(consuming: &ks))
            try ledger.append([GovernanceDrafts.enrolment(of: keys[agency]!.publicKey, agency: agency, role: agency == "partnership" ? "mase_chair" : "practitioner",
                                                          practitioner: "\(agency) 1", at: Timestamp(seconds: t))], signer: root, clock: tick, newID: id, newSalt: salt)
        }
        var g = SyntheticPartnership(seed: seed, start: start, meanGapSeconds: 900)
        var done = 0
        while done < events {
            let items = (0..<min(1000, events - done)).map { _ in g.next() }
            var i = 0
            try ledger.append(items.map(\.draft), signers: items.map { keys[$0.agency]! }, clock: { defer { i += 1 }; return items[min(i, items.count - 1)].recordedAt }, newID: id, newSalt: salt)
            done += items.count
        }
        return ledger
    }

    func testRebuildEqualsUpdateAndDigestsAreDeterministic() throws {
        let ledger = try seeded("a.sqlite", events: 1500)
        let full = try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent("full.sqlite").path)
        let rebuilt = try full.rebuild(trustAnchor: root.publicKey)
        XCTAssertEqual(rebuilt.map(\.name), ["case_state", "audit", "activity"])
        XCTAssertTrue(rebuilt.allSatisfy { $0.events == 1509 && $0.behind == 0 })
        // A second rebuild gives the same digests.
        XCTAssertEqual(try full.rebuild(trustAnchor: root.publicKey).map(\.digest), rebuilt.map(\.digest))

        // Built in steps: the first 500 synthetic events, then update twice as the log grows.
        let ledger2 = try seeded("b.sqlite", events: 500)
        let stepwise = try ProjectionEngine(ledger: ledger2, path: dir.appendingPathComponent("step.sqlite").path)
        try stepwise.rebuild(trustAnchor: root.publicKey)
        XCTAssertEqual(try stepwise.update(trustAnchor: root.publicKey).first?.behind, 0)
        // Grow b to the same content as a: regenerate from the same seed and append the rest.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("b.sqlite"))
        let ledger3 = try seeded("b.sqlite", events: 1500)
        XCTAssertEqual(try ledger3.head(), try ledger.head())
        let grown = try ProjectionEngine(ledger: ledger3, path: dir.appendingPathComponent("step2.sqlite").path)
        try grown.rebuild(trustAnchor: root.publicKey)
        XCTAssertEqual(try grown.status().map(\.digest), rebuilt.map(\.digest))
    }

    func testUpdateCatchesUpIncrementally() throws {
        let ledger = try seeded("c.sqlite", events: 1200)
        let engine = try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent("inc.sqlite").path)
        // Build as if the log ended 700 events earlier: truncate a copy, rebuild, then point at the whole log.
        let copyPath = dir.appendingPathComponent("short.sqlite").path
        try DatabaseQueue(path: ledger.path).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copyPath]) }
        try Tamper.asInsider(copyPath) { db in
            try db.execute(sql: "DELETE FROM events WHERE seq >= 509")
            try db.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > 509")
            try db.execute(sql: "DELETE FROM details WHERE seq >= 509")
        }
        let partial = try ProjectionEngine(ledger: try Ledger.open(at: copyPath, readOnly: true), path: engine.path)
        XCTAssertEqual(try partial.rebuild(trustAnchor: root.publicKey).first?.events, 509)
        let caughtUp = try engine.update(trustAnchor: root.publicKey)
        XCTAssertTrue(caughtUp.allSatisfy { $0.events == 1209 && $0.behind == 0 })
        let fresh = try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent("fresh.sqlite").path)
        XCTAssertEqual(try fresh.rebuild(trustAnchor: root.publicKey).map(\.digest), caughtUp.map(\.digest), "update gives what rebuild gives")
    }

    func testAPolicyChangeGivesTheSameModelsByUpdateAsByRebuild() throws {
        let ledger = try seeded("pol.sqlite", events: 800)
        let engine = try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent("pol-u.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        var doc = ToolkitPolicy.document.objectValue!
        doc["version"] = 2
        var deadlines = doc["deadlines"]!.objectValue!
        deadlines["family_caf_working_days"] = 30
        doc["deadlines"] = .object(deadlines)
        let at = Timestamp(rfc3339: "2026-06-01T00:00:00Z")!
        try ledger.append([GovernanceDrafts.policy(document: .object(doc), at: at)], signer: root, clock: { at }, newID: { "00000000-0000-4000-8000-999999999999" })
        let updated = try engine.update(trustAnchor: root.publicKey)
        let fresh = try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent("pol-r.sqlite").path)
        XCTAssertEqual(try fresh.rebuild(trustAnchor: root.publicKey).map(\.digest), updated.map(\.digest))
        XCTAssertEqual(try engine.policyAtHead().deadlines.familyCAF, 30)
    }

    func testCasesLeavingTheCacheGiveTheSameModels() throws {
        let ledger = try seeded("cache.sqlite", events: 1500)
        let roomy = try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent("roomy.sqlite").path)
        let expected = try roomy.rebuild(trustAnchor: root.publicKey).map(\.digest)
        // A cache of 16 events: cases are written out and read back again and again, and their
        // next steps are worked out from the ledger at the end.
        let small = CaseStateProjection()
        small.cacheEvents = 16
        let tight = try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent("tight.sqlite").path,
                                         projections: [small, AuditProjection(), ActivityProjection()])
        XCTAssertEqual(try tight.rebuild(trustAnchor: root.publicKey).map(\.digest), expected)
        XCTAssertGreaterThan(small.casesReadBack, 50)
        XCTAssertEqual((roomy.projections[0] as! CaseStateProjection).casesReadBack, 0)
    }

    func testThePipelineKeepsOrderAndStopsOnEitherSidesError() throws {
        struct Stop: Error, Equatable { let at: Int }
        var seen: [Int] = []
        try Pipeline.run(produce: { sink in for i in 0..<10_000 { try sink(i) } }) { seen.append($0) }
        XCTAssertEqual(seen, Array(0..<10_000))
        // The producer fails: what came before is consumed, then its error.
        seen = []
        XCTAssertThrowsError(try Pipeline.run(produce: { sink in
            for i in 0..<3000 { try sink(i) }
            throw Stop(at: 3000)
        }) { seen.append($0) }) { XCTAssertEqual($0 as? Stop, Stop(at: 3000)) }
        XCTAssertEqual(seen.count, 3000)
        // The consumer fails: the producer is stopped (it would run forever) and has returned.
        let produced = Counter()
        XCTAssertThrowsError(try Pipeline.run(produce: { sink in
            var i = 0
            while true { try sink(i); i += 1; produced.add() }
        }) { if $0 == 5000 { throw Stop(at: $0) } }) { XCTAssertEqual($0 as? Stop, Stop(at: 5000)) }
        let after = produced.value
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(produced.value, after, "the producer has stopped")
        XCTAssertLessThan(after, 5000 + Pipeline.batchSize * (Pipeline.queuedBatches + 2))
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func add() { lock.lock(); n += 1; lock.unlock() }
        var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    }

    func testCSVNeutralisesFormulasAndQuotes() {
        let r = Report(title: "t", builtFrom: [("log size", "1")], sections: [.init("s", ["a", "b"], [["=1+1", "x,\"y\"\r"], ["-3", "@z"]])])
        let csv = r.render(.csv)
        XCTAssertTrue(csv.contains("s,1,a,'=1+1\n"), csv)
        XCTAssertTrue(csv.contains("s,1,b,\"x,\"\"y\"\"\r\"\n"), csv)
        XCTAssertTrue(csv.contains("s,2,a,-3\n"), "numbers stay numbers: \(csv)")
        XCTAssertTrue(csv.contains("s,2,b,'@z\n"), csv)
    }

    func testATamperedLogIsRefusedAndTheOldModelsKept() throws {
        let ledger = try seeded("d.sqlite", events: 300)
        let engine = try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent("t.sqlite").path)
        let before = try engine.rebuild(trustAnchor: root.publicKey)
        try Tamper.asInsider(ledger.path) { db in
            try db.execute(sql: "UPDATE events SET signature = zeroblob(64) WHERE seq = 100")
        }
        XCTAssertThrowsError(try engine.rebuild(trustAnchor: root.publicKey)) { error in
            XCTAssertEqual((error as? VerificationFailure)?.seq, 100, "\(error)")
        }
        XCTAssertEqual(try engine.status(), before, "nothing kept from the refused rebuild")
        var other = [UInt8](repeating: 1, count: 32)
        XCTAssertThrowsError(try engine.rebuild(trustAnchor: SigningKey(seed: SecretBytes(consuming: &other)).publicKey))
    }
}
