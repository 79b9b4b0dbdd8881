import Foundation
import GRDB
@testable import Projections
import SafeguardCatalogue
import SafeguardCore
@testable import SafeguardStore
import XCTest

/// Rebuild with every cache size, and update after every event or every few, must give the
/// same rows as a rebuild with room for every case: on hand-written histories (retractions,
/// holds, reopenings, policy changes) and on random histories; and events the catalogue
/// refuses when recording, written into the file directly, are refused by verification, so
/// no read model is built from them
/// (`SEEDS=16 STEPS=180` for a longer run; the default is 3 seeds of 140 steps).
final class EquivalenceTests: XCTestCase {
    var dir: URL!
    var ledger: Ledger!
    var root: SigningKey!
    var keys: [String: SigningKey] = [:]
    var n = 0
    var clock = Timestamp(rfc3339: "2026-03-02T08:00:00Z")!.seconds
    /// The last recording time: the log's time never goes back, however the histories jump about in occurrence.
    var lastRecorded: Int64 = 0
    var policyVersion: Int64 = ToolkitPolicy.version
    /// Engines kept up to date by `update` after every event: (label, engine).
    var followers: [(String, ProjectionEngine)] = []
    var periods: [String: Int] = [:]
    var ticks = 0

    func key(_ b: UInt8) -> SigningKey {
        var s = [UInt8](repeating: b, count: 32)
        return SigningKey(seed: SecretBytes(consuming: &s))
    }

    func id() -> String { n += 1; return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - String(n).count) + String(n) }

    @discardableResult
    func rec(_ agency: String, _ type: String, _ caseID: String?, _ at: String, _ facts: [String: JSONValue], late: Int64 = 600) throws -> String {
        let occurred = Timestamp(rfc3339: at)!
        let e = EventDraft(type: type, caseID: caseID, occurredAt: occurred, facts: facts, details: [:], eventID: id())
        let recorded = Timestamp(seconds: max(occurred.seconds + late, lastRecorded))
        try ledger.append([e], signer: agency == "root" ? root : keys[agency]!, clock: { recorded }, newID: { "unused" })
        lastRecorded = recorded.seconds
        try follow()
        return e.eventID!
    }

    func follow(all: Bool = false) throws {
        ticks += 1
        for (l, e) in followers where all || ticks % (periods[l] ?? 1) == 0 { try e.update(trustAnchor: root.publicKey) }
    }

    @discardableResult
    func open(_ c: String, _ at: String, agency: String = "police") throws -> String {
        try rec(agency, "case.opened", c, at, ["birth_month": "2011-06", "gender": "female", "looked_after": false, "learning_disability": false, "borough": "B1"])
    }

    @discardableResult
    func screen(_ c: String, _ at: String, _ marks: JSONValue, level: String, agency: String = "csc") throws -> String {
        try rec(agency, "screening.cse_tool", c, at, ["policy_version": .integer(policyVersion), "indicators": marks, "age_years": 14, "learning_disability": false,
                                                   "suggested_level": .string(level.isEmpty ? (marks.arrayValue!.first?["code"]?.stringValue == "A2" ? "medium" : "significant") : level),
                                                   "practitioner_level": .string(level.isEmpty ? (marks.arrayValue!.first?["code"]?.stringValue == "A2" ? "medium" : "significant") : level)])
    }

    func setPolicy(caf: Int64, at: String) throws {
        policyVersion += 1
        var doc = ToolkitPolicy.document.objectValue!
        doc["version"] = .integer(policyVersion)
        var deadlines = doc["deadlines"]!.objectValue!
        deadlines["family_caf_working_days"] = .integer(caf)
        deadlines["mash_referral_medium_working_days"] = .integer(caf / 3)
        doc["deadlines"] = .object(deadlines)
        let t = Timestamp(rfc3339: at)!
        let recorded = Timestamp(seconds: max(t.seconds, lastRecorded))
        try ledger.append([GovernanceDrafts.policy(document: .object(doc), at: t)], signer: root, clock: { recorded }, newID: { self.id() })
        lastRecorded = recorded.seconds
        try follow()
    }

    func hold(_ c: String, _ action: String, _ at: String) throws {
        try rec("partnership", "governance.legal_hold", nil, at, ["action": .string(action), "scope": "case", "case_ref": .string(c), "reason": "inquiry"])
    }

    @discardableResult
    func retract(_ agency: String, _ c: String, _ target: String, _ at: String) throws -> String {
        try rec(agency, "correction.recorded", c, at, ["corrects_event": .string(target), "kind": "retraction", "reason": "recorded_in_error"])
    }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safeguard-review-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        root = key(1)
        let t0 = Timestamp(seconds: clock)
        (ledger, _) = try Ledger.create(at: dir.appendingPathComponent("l.sqlite").path, signer: root, drafts: [
            GovernanceDrafts.genesis(partnership: "Review", origin: "review.example/l", root: root.publicKey, at: t0),
            GovernanceDrafts.policy(document: ToolkitPolicy.document, at: t0),
        ], practitioner: "root", clock: { t0 }, newID: id)
        for (i, a) in ["police", "csc", "health", "education", "mash", "partnership"].enumerated() {
            keys[a] = key(UInt8(10 + i))
            try ledger.append([GovernanceDrafts.enrolment(of: keys[a]!.publicKey, agency: a, role: a == "partnership" ? "mase_chair" : "practitioner",
                                                          practitioner: "\(a) worker", at: t0)], signer: root, clock: { t0 }, newID: id)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func engine(_ name: String, cache: Int?) throws -> ProjectionEngine {
        let cs = CaseStateProjection()
        if let cache { cs.cacheEvents = cache }
        return try ProjectionEngine(ledger: ledger, path: dir.appendingPathComponent(name).path, projections: [cs, AuditProjection(), ActivityProjection()])
    }

    /// Starts followers: rebuilt now and updated after every later event.
    func startFollowers() throws {
        for (label, cache, period) in [("follow-roomy", nil, 1), ("follow-1", 1, 1), ("follow-4", 4, 1), ("batch7-roomy", nil, 7), ("batch7-2", 2, 7), ("batch13-3", 3, 13), ("batch5-1", 1, 5)] as [(String, Int?, Int)] {
            periods[label] = period
            let e = try engine(label + ".sqlite", cache: cache)
            try e.rebuild(trustAnchor: root.publicKey)
            followers.append((label, e))
        }
    }

    func rows(_ e: ProjectionEngine) throws -> [String: [String]] {
        try e.read { db in
            var out: [String: [String]] = [:]
            for p in e.projections {
                for t in p.tables {
                    out[t.name] = try Row.fetchAll(db, sql: "SELECT * FROM \(t.name) ORDER BY \(t.orderBy)").map { $0.description }
                }
            }
            return out
        }
    }

    func diff(_ a: [String: [String]], _ b: [String: [String]]) -> String {
        var s = ""
        for t in a.keys.sorted() where a[t] != b[t] {
            let x = Set(a[t]!), y = Set(b[t] ?? [])
            s += "  table \(t):\n"
            for r in x.subtracting(y).sorted() { s += "    expected only: \(r)\n" }
            for r in y.subtracting(x).sorted() { s += "    got only:      \(r)\n" }
        }
        return s
    }

    /// Compares every way of building against a roomy rebuild; returns the mismatches.
    @discardableResult
    func check(_ label: String, caches: [Int] = [1, 2, 3, 5, 8, 16, 64]) throws -> [String] {
        let roomy = try engine("roomy-\(label).sqlite", cache: nil)
        let expected = try roomy.rebuild(trustAnchor: root.publicKey).map(\.digest)
        let expectedRows = try rows(roomy)
        // Determinism: the same rebuild twice.
        XCTAssertEqual(try roomy.rebuild(trustAnchor: root.publicKey).map(\.digest), expected)
        var problems: [String] = []
        try follow(all: true)
        for c in caches {
            let e = try engine("tight-\(label)-\(c).sqlite", cache: c)
            let got = try e.rebuild(trustAnchor: root.publicKey).map(\.digest)
            if got != expected { problems.append("rebuild cache \(c): \(zip(e.projections.map(\.name), zip(expected, got)).filter { $0.1.0 != $0.1.1 }.map(\.0))\n" + diff(expectedRows, try rows(e))) }
        }
        for (l, e) in followers {
            let got = try e.status().map(\.digest)
            if got != expected { problems.append("update \(l): \(zip(e.projections.map(\.name), zip(expected, got)).filter { $0.1.0 != $0.1.1 }.map(\.0))\n" + diff(expectedRows, try rows(e))) }
        }
        return problems
    }


    /// Appends a correctly signed, chain-linked event WITHOUT the catalogue's checks (what any
    /// enrolled key holder can produce with another tool, writing to the file directly).
    @discardableResult
    func appendRaw(_ agency: String, _ type: String, _ caseID: String?, _ at: String, _ facts: [String: JSONValue],
                   eventID: String? = nil, late: Int64 = 600) throws -> String {
        let state = try ledger.state()
        let occurred = Timestamp(rfc3339: at)!
        let eid = eventID ?? id()
        let draft = EventDraft(type: type, caseID: caseID, occurredAt: occurred, facts: facts, details: [:], eventID: eid)
        let signer = agency == "root" ? root! : keys[agency]!
        let sealed = try SealedDetails(draft.details)
        let recorded = Timestamp(seconds: max(occurred.seconds + late, lastRecorded))
        let env = try state.envelope(for: draft, sealed: sealed, signer: signer.publicKey, recordedAt: recorded, eventID: eid)
        lastRecorded = recorded.seconds
        let entry = try Entry(signing: env, with: signer)
        let row = StoredEntry(env, entry: entry, details: sealed)
        let q = try DatabaseQueue(path: ledger.path)
        try q.write { db in
            try db.execute(sql: "INSERT INTO events (seq, event_id, type, case_id, agency, key_id, occurred_at, recorded_at, prev_hash, envelope, signature, entry_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           arguments: [row.seq, row.eventID, row.type, row.caseID, row.agency, row.keyID, row.occurredAt, row.recordedAt,
                                       Data(row.prevHash), Data(row.envelope), Data(row.signature), Data(row.entryHash)])
            try db.execute(sql: "INSERT INTO details (seq, salt, body) VALUES (?, ?, ?)", arguments: [row.seq, Data(sealed.salt), Data(sealed.body)])
            try TreeStore.addLeaf(db, index: row.seq, hash: row.entryHash)
        }
        try q.close()
        return eid
    }

    /// A crafted event the catalogue refuses is refused by verification too, so no read model is
    /// built from it: a rebuild fails at its sequence number with `code`, and an update of read
    /// models built before it fails the same way and keeps them as they were.
    func assertRefused(at seq: Int64, _ code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let e = try engine("refused-\(seq).sqlite", cache: nil)
        XCTAssertThrowsError(try e.rebuild(trustAnchor: root.publicKey), file: file, line: line) { error in
            XCTAssertEqual((error as? VerificationFailure)?.seq, seq, "\(error)", file: file, line: line)
            XCTAssertEqual((error as? VerificationFailure)?.code, code, "\(error)", file: file, line: line)
        }
        for (label, follower) in followers {
            let before = try follower.status()
            XCTAssertThrowsError(try follower.update(trustAnchor: root.publicKey), label, file: file, line: line) { error in
                XCTAssertEqual((error as? VerificationFailure)?.code, code, "\(label): \(error)", file: file, line: line)
            }
            XCTAssertEqual(try follower.status().map(\.digest), before.map(\.digest), label, file: file, line: line)
        }
    }

    // MARK: scenarios

    /// Retractions, legal holds, a reopened case and policy changes, with small caches and updates.
    func testMixedScenario() throws {
        let o1 = try open("C-1", "2026-03-02T09:00:00Z")
        try screen("C-1", "2026-03-02T10:00:00Z", [["code": "A2"]], level: "medium", agency: "police")
        try open("C-2", "2026-03-02T09:00:00Z", agency: "csc")
        try startFollowers()
        try screen("C-2", "2026-03-02T11:00:00Z", [["code": "S1", "timing": "current"]], level: "significant")
        try rec("police", "referral.mash_telephone", "C-2", "2026-03-02T11:30:00Z", ["immediate_risk": true])
        try hold("C-2", "placed", "2026-03-02T12:00:00Z")
        try open("C-3", "2026-03-03T09:00:00Z", agency: "csc")
        let l3 = try rec("csc", "link.recorded", "C-3", "2026-03-03T10:00:00Z", ["link_kind": "location", "target": "VENUE-1"])
        try rec("csc", "link.recorded", "C-3", "2026-03-03T10:05:00Z", ["link_kind": "location", "target": "VENUE-1"])
        try rec("partnership", "action.set", "C-3", "2026-03-03T13:00:00Z", ["action_ref": "A-1", "owner_agency": "police", "due_date": "2026-03-06", "strand": "pursue"])
        try rec("partnership", "action.progressed", "C-3", "2026-03-04T13:00:00Z", ["action_ref": "A-1"])
        try rec("csc", "case.closed", "C-3", "2026-03-05T10:00:00Z", ["reason": "risk_reduced"])
        try check("a")
        try setPolicy(caf: 20, at: "2026-03-05T11:00:00Z")
        try open("C-3", "2026-03-06T09:00:00Z", agency: "csc")  // reopened
        try screen("C-3", "2026-03-06T10:00:00Z", [["code": "A2"]], level: "medium")
        try retract("police", "C-1", o1, "2026-03-06T11:00:00Z")  // C-1's opening retracted
        try screen("C-1", "2026-03-06T12:00:00Z", [["code": "A2"]], level: "medium")
        try retract("csc", "C-3", l3, "2026-03-06T13:00:00Z")
        let s2 = try screen("C-2", "2026-03-07T10:00:00Z", [["code": "A2"]], level: "medium")
        try check("b")
        try hold("C-2", "lifted", "2026-03-07T11:00:00Z")
        try retract("csc", "C-2", s2, "2026-03-07T12:00:00Z")
        try hold("C-2", "placed", "2026-03-07T13:00:00Z")
        try setPolicy(caf: 5, at: "2026-03-08T11:00:00Z")
        try open("C-4", "2026-03-08T12:00:00Z")
        try screen("C-4", "2026-03-08T13:00:00Z", [["code": "A2"]], level: "medium")
        try rec("police", "case.updated", "C-1", "2026-03-08T14:00:00Z", ["police_cris_recorded": true])
        try check("c")
        let problems = try check("final")
        XCTAssertEqual(problems, [])
    }

    /// Pre-existing (also in HEAD~5): a policy change in an update recomputes steps only for
    /// cases with a `cases` row; a case whose opening was retracted keeps the old policy's steps.
    func testPolicyChangeAfterRetractedOpening() throws {
        let o1 = try open("C-1", "2026-03-02T09:00:00Z")
        try screen("C-1", "2026-03-02T10:00:00Z", [["code": "A2"]], level: "medium", agency: "police")
        try retract("police", "C-1", o1, "2026-03-02T11:00:00Z")
        try open("C-2", "2026-03-02T09:00:00Z")
        try startFollowers()
        try setPolicy(caf: 30, at: "2026-03-03T11:00:00Z")
        XCTAssertEqual(try check("after-policy"), [])
    }

    /// A NUL inside a text value (a borough that is not a reference): refused when recorded,
    /// so refused by verification when written into the file directly.
    func testNulInATextValueIsRefused() throws {
        try open("C-1", "2026-03-02T09:00:00Z")
        try startFollowers()
        try appendRaw("police", "case.updated", "C-1", "2026-03-02T09:30:00Z", ["borough": .string("B1\u{0}X")])
        try assertRefused(at: try ledger.head()!.lastSeq, "invalid_facts")
    }

    /// A retraction naming an event that appears later in the log (signed, chained): the
    /// catalogue refuses a reference to an event not yet recorded, and so does verification.
    func testRetractionOfALaterEventIsRefused() throws {
        try open("C-1", "2026-03-02T09:00:00Z")
        try startFollowers()
        let futureID = "00000000-0000-4000-8000-000000009999"
        try appendRaw("police", "correction.recorded", "C-1", "2026-03-02T10:00:00Z",
                      ["corrects_event": .string(futureID), "kind": "retraction", "reason": "other"])
        let at = try ledger.head()!.lastSeq
        // The retracted event itself, with the id named above.
        try appendRaw("police", "link.recorded", "C-1", "2026-03-02T11:00:00Z", ["link_kind": "location", "target": "V-1"], eventID: futureID, late: 0)
        try assertRefused(at: at, "bad_reference")
    }

    /// A return recorded on another case than its episode (signed, chained): refused.
    func testCrossCaseReturnIsRefused() throws {
        try open("C-1", "2026-03-02T09:00:00Z")
        try open("C-2", "2026-03-02T09:00:00Z")
        let gone = try rec("police", "missing.started", "C-1", "2026-03-02T20:00:00Z", ["reported_by": "parent_carer"])
        try startFollowers()
        try appendRaw("police", "missing.returned", "C-2", "2026-03-03T08:00:00Z", ["missing_episode": .string(gone), "how": "found_by_police"])
        try assertRefused(at: try ledger.head()!.lastSeq, "bad_reference")
    }

    /// A policy document the catalogue cannot read (signed by root, chained): refused, so the
    /// read models never judge by a policy they cannot read.
    func testUnreadablePolicyIsRefused() throws {
        try open("C-1", "2026-03-02T09:00:00Z")
        try screen("C-1", "2026-03-02T10:00:00Z", [["code": "A2"]], level: "medium", agency: "police")
        try startFollowers()
        var doc = ToolkitPolicy.document.objectValue!
        doc["version"] = 2
        doc["deadlines"] = nil  // the log's rules accept it (name, version, permissions); the catalogue cannot read it
        try appendRaw("root", "governance.policy_set", nil, "2026-03-03T10:00:00Z", ["policy": .object(doc)])
        try assertRefused(at: try ledger.head()!.lastSeq, "invalid_policy")
    }

    struct LCG { var s: UInt64; mutating func next(_ n: Int) -> Int { s = s &* 6364136223846793005 &+ 1442695040888963407; return Int((s >> 33) % UInt64(n)) } }

    /// Random valid histories (retractions, holds, policy changes, closures and reopenings).
    func testRandomHistories() throws {
        var all: [String] = []
        for seed in 1...(Int(ProcessInfo.processInfo.environment["SEEDS"] ?? "3") ?? 3) {
            if seed > 1 { try tearDownWithError(); keys = [:]; n = 0; policyVersion = 2; followers = []; try setUpWithError() }
            var r = LCG(s: UInt64(seed) * 7919)
            lastRecorded = 0
            var t = Timestamp(rfc3339: "2026-03-02T09:00:00Z")!.seconds
            func at() -> String { t += Int64(60 * (1 + r.next(300))); return Timestamp(seconds: t).description }
            var cases: [String] = []
            var closed: Set<String> = []
            var recorded: [(id: String, c: String, agency: String)] = []
            var episodes: [String: [String]] = [:]
            var actions: [String: [String]] = [:]
            var phones: [String: [String]] = [:]
            var escal: [String: [String]] = [:]
            func note(_ id: String, _ c: String, _ a: String) { recorded.append((id, c, a)) }
            for step in 0..<(Int(ProcessInfo.processInfo.environment["STEPS"] ?? "140") ?? 140) {
                if step == 20 { try startFollowers() }
                let k = cases.isEmpty ? 0 : r.next(20)
                let c = cases.isEmpty ? "" : cases[r.next(cases.count)]
                let a = ["csc", "police"][r.next(2)]
                do {
                    switch k {
                    case 0, 1:
                        let id = "C-\(cases.count + 1)"
                        cases.append(id)
                        note(try open(id, at(), agency: a), id, a)
                    case 2: note(try screen(c, at(), r.next(2) == 0 ? [["code": "A2"]] : [["code": "S1", "timing": "current"]],
                                            level: "", agency: a), c, a)
                    case 3:
                        let id = try rec(a, "referral.mash_telephone", c, at(), ["immediate_risk": true]); note(id, c, a); phones[c, default: []].append(id)
                    case 4:
                        var f: [String: JSONValue] = ["urgency": "standard"]
                        if let p = phones[c]?.last, r.next(2) == 0 { f["telephone_referral"] = .string(p) }
                        note(try rec("csc", "referral.mash_written", c, at(), f), c, "csc")
                    case 5: note(try rec("csc", "decision.mash", c, at(), ["outcome": "s17_assessment"]), c, "csc")
                    case 6:
                        let id = try rec(a, "missing.started", c, at(), ["reported_by": "parent_carer"]); note(id, c, a); episodes[c, default: []].append(id)
                    case 7:
                        if let ep = episodes[c]?.randomElement() {
                            let type = ["missing.returned", "missing.rhi_offered", "missing.rhi_completed"][r.next(3)]
                            var f: [String: JSONValue] = ["missing_episode": .string(ep)]
                            if type == "missing.returned" { f["how"] = "returned_self" }
                            if type == "missing.rhi_completed" { f["accepted"] = true }
                            note(try rec("csc", type, c, at(), f), c, "csc")
                        }
                    case 8: note(try rec(a, "link.recorded", c, at(), ["link_kind": "location", "target": .string("V-\(r.next(3))")]), c, a)
                    case 9:
                        let ref = "A-\(r.next(4))"
                        let due = Day(london: Timestamp(seconds: t + 86400 * 10)).description
                        note(try rec("partnership", "action.set", c, at(), ["action_ref": .string(ref), "owner_agency": "police", "due_date": .string(due), "strand": "pursue"]), c, "partnership")
                        actions[c, default: []].append(ref)
                    case 10:
                        if let ref = actions[c]?.randomElement() {
                            note(try rec("partnership", r.next(2) == 0 ? "action.progressed" : "action.completed", c, at(), ["action_ref": .string(ref)]), c, "partnership")
                        }
                    case 11:
                        if closed.contains(c) { note(try open(c, at(), agency: "csc"), c, "csc"); closed.remove(c) }
                        else { note(try rec("csc", "case.closed", c, at(), ["reason": "risk_reduced"]), c, "csc"); closed.insert(c) }
                    case 12: try hold(c, r.next(2) == 0 ? "placed" : "lifted", at())
                    case 13, 14:
                        if !recorded.isEmpty {
                            let target = recorded[r.next(recorded.count)]
                            let on = r.next(2) == 0 ? target.c : c
                            note(try retract(target.agency, on, target.id, at()), on, target.agency)
                        }
                    case 15: if r.next(3) == 0 { try setPolicy(caf: Int64(3 + r.next(30)), at: at()) }
                    case 16: note(try rec("police", "case.updated", c, at(), ["police_cris_recorded": true, "borough": .string("B\(r.next(5))")]), c, "police")
                    case 17: note(try rec("csc", "case.transferred", c, at(), ["to_agency": "police", "reason": "lead_changed"]), c, "csc")
                    case 19 where r.next(2) == 0:
                        let others = Array(Set([c, cases[r.next(cases.count)], cases[r.next(cases.count)]])).sorted()
                        let m = try rec("partnership", "meeting.mase", c, at(), ["meeting_ref": .string("M-\(step)"), "attendees": ["police", "csc"], "cases_discussed": .array(others.map { .string($0) })])
                        note(m, c, "partnership")
                        if r.next(2) == 0 { note(try rec("police", "acknowledgement.recorded", cases[r.next(cases.count)], at(), ["decision_event": .string(m), "recorded_on_own_system": true]), c, "police") }
                    case 18:
                        let id = try rec(a, "escalation.raised", c, at(), ["with_agency": "csc", "about": "risk_level"]); note(id, c, a); escal[c, default: []].append(id)
                    default:
                        if let e = escal[c]?.randomElement() {
                            note(try rec(a, "escalation.resolved", c, at(), ["escalation": .string(e), "outcome": "agreed", "lessons_reported_to_mase": true]), c, a)
                        } else {
                            note(try rec("csc", "decision.early_help", c, at(), ["kind": "family_caf", "status": "started"]), c, "csc")
                        }
                    }
                } catch {
                    // Refused by the catalogue (e.g. closed case): skip.
                }
            }
            let counts = try ledger.head()!.size
            XCTAssertGreaterThan(counts, 60, "seed \(seed): the history is long enough to mean something")
            all += try check("rand\(seed)").map { "seed \(seed): " + $0 }
        }
        XCTAssertEqual(all, [])
    }
}
