import Foundation
@testable import Projections
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore
import GRDB
import XCTest

/// A small hand-built partnership (twelve children, written out below, and more in the tests
/// that need them) whose recording-practice exceptions and MASE figures are counted by hand in
/// the assertions.
final class FixtureReportTests: XCTestCase {
    var dir: URL!
    var ledger: Ledger!
    var root: SigningKey!
    var keys: [String: SigningKey] = [:]
    var n = 0
    var clock = Timestamp(rfc3339: "2026-03-02T08:00:00Z")!.seconds
    var venueLink = ""
    var maseMeeting = ""
    var returnRecord = ""
    var actionRecord = ""

    func key(_ b: UInt8) -> SigningKey {
        var s = [UInt8](repeating: b, count: 32)
        return SigningKey(seed: SecretBytes(consuming: &s))
    }

    func id() -> String { n += 1; return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - String(n).count) + String(n) }

    /// Records `type` for `caseID` by `agency`, happening at `at` and recorded `late` seconds
    /// later: written to the ledger by `flushed()`, in the order of recording (the log's time
    /// never goes back), so the stories below can be told child by child. A record written
    /// after others recorded later than it is recorded with them.
    @discardableResult
    func rec(_ agency: String, _ type: String, _ caseID: String, _ at: String, _ facts: [String: JSONValue], late: Int64 = 600,
             details: [String: JSONValue] = [:]) throws -> String {
        let occurred = Timestamp(rfc3339: at)!
        let e = EventDraft(type: type, caseID: caseID, occurredAt: occurred, facts: facts, details: details, eventID: id())
        pending.append((e, occurred.seconds + late, keys[agency]!))
        return e.eventID!
    }

    var pending: [(draft: EventDraft, recorded: Int64, signer: SigningKey)] = []
    var lastRecorded: Int64 = 0

    /// The ledger with every record made so far written to it.
    func flushed() throws -> Ledger {
        for p in pending.enumerated().sorted(by: { ($0.1.recorded, $0.0) < ($1.1.recorded, $1.0) }).map(\.1) {
            let recorded = Timestamp(seconds: max(p.recorded, lastRecorded))
            try ledger.append([p.draft], signer: p.signer, clock: { recorded }, newID: { "unused" })
            lastRecorded = recorded.seconds
        }
        pending = []
        return ledger
    }

    func open(_ c: String, _ at: String, birth: String = "2011-06", agency: String = "police", gender: String = "female", lookedAfter: Bool = false) throws {
        try rec(agency, "case.opened", c, at, ["birth_month": .string(birth), "gender": .string(gender), "looked_after": .bool(lookedAfter),
                                               "learning_disability": false, "borough": "B1"])
    }

    /// A telephone referral to MASH by police, and the written form from CSC half an hour later.
    func referByTelephone(_ c: String, _ at: String) throws {
        let call = try rec("police", "referral.mash_telephone", c, at, ["immediate_risk": true])
        let form = Timestamp(seconds: Timestamp(rfc3339: at)!.seconds + 1800).description
        try rec("csc", "referral.mash_written", c, form, ["urgency": "urgent", "telephone_referral": .string(call)])
    }

    func screen(_ c: String, _ at: String, _ marks: JSONValue, level: String, age: Int64 = 14, agency: String = "csc") throws {
        try rec(agency, "screening.cse_tool", c, at, ["policy_version": .integer(ToolkitPolicy.version), "indicators": marks, "age_years": .integer(age), "learning_disability": false,
                                                   "suggested_level": .string(level), "practitioner_level": .string(level)])
    }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safeguard-fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        root = key(1)
        let t0 = Timestamp(seconds: clock)
        (ledger, _) = try Ledger.create(at: dir.appendingPathComponent("l.sqlite").path, signer: root, drafts: [
            GovernanceDrafts.genesis(partnership: "Fixture", origin: "fixture.example/l", root: root.publicKey, at: t0),
            GovernanceDrafts.policy(document: ToolkitPolicy.document, at: t0),
        ], practitioner: "root", clock: { t0 }, newID: id)
        for (i, a) in ["police", "csc", "health", "education", "mash", "partnership"].enumerated() {
            keys[a] = key(UInt8(10 + i))
            try ledger.append([GovernanceDrafts.enrolment(of: keys[a]!.publicKey, agency: a, role: a == "partnership" ? "mase_chair" : "practitioner",
                                                          practitioner: "\(a) worker", at: t0)], signer: root, clock: { t0 }, newID: id)
        }
        // C-1: medium screening Mon 2 Mar, never referred to MASH (R1), no Family CAF (R3); police only (R6).
        try open("C-1", "2026-03-02T09:00:00Z")
        try screen("C-1", "2026-03-02T10:00:00Z", [["code": "A2"]], level: "medium", agency: "police")
        // C-2: significant; telephone referral with no written form (R2); known to police and CSC.
        try open("C-2", "2026-03-02T09:00:00Z", agency: "csc")
        try screen("C-2", "2026-03-02T11:00:00Z", [["code": "S1", "timing": "current"]], level: "significant")
        try rec("police", "referral.mash_telephone", "C-2", "2026-03-02T11:30:00Z", ["immediate_risk": true])
        // C-3: NFA told verbally only (R4); CSC only (R6).
        try open("C-3", "2026-03-03T09:00:00Z", agency: "csc")
        try rec("csc", "decision.nfa", "C-3", "2026-03-03T10:00:00Z", ["reason": "threshold_not_met", "referrer_told_verbally": true, "referrer_told_in_writing": false])
        // C-4: a MASE meeting (police, csc, health attend) acknowledged by police only (R7: csc, health);
        // missing episode returned with no RHI (R8); strategy meeting with no outcome (R13); known to both.
        try open("C-4", "2026-03-03T09:00:00Z")
        try rec("csc", "contact.recorded", "C-4", "2026-03-03T09:30:00Z", ["contact_type": "phone", "indicators": ["A2", "A9"], "vulnerabilities": ["V2"]])
        maseMeeting = try rec("partnership", "meeting.mase", "C-4", "2026-03-04T10:00:00Z", ["meeting_ref": "MASE-1", "attendees": ["police", "csc", "health"], "cases_discussed": ["C-4"]])
        try rec("police", "acknowledgement.recorded", "C-4", "2026-03-04T15:00:00Z", ["decision_event": .string(maseMeeting), "recorded_on_own_system": true])
        let gone = try rec("police", "missing.started", "C-4", "2026-03-05T20:00:00Z", ["reported_by": "parent_carer"])
        returnRecord = try rec("police", "missing.returned", "C-4", "2026-03-06T08:00:00Z", ["missing_episode": .string(gone), "how": "found_by_police"])
        try rec("csc", "meeting.strategy", "C-4", "2026-03-06T10:00:00Z", ["meeting_ref": "S-1", "attendees": ["police", "csc"], "cases_discussed": ["C-4"]])
        // C-5: low level (no indicators), linked to VENUE-1 that C-6 is also linked to (R9); known to both.
        try open("C-5", "2026-03-04T09:00:00Z")
        try rec("csc", "link.recorded", "C-5", "2026-03-04T10:00:00Z", ["link_kind": "location", "target": "VENUE-1"])
        // C-6: significant, linked to VENUE-1 and VEH-1; action overdue (R14); escalation without lessons (R15); known to both.
        try open("C-6", "2026-03-04T09:00:00Z")
        try screen("C-6", "2026-03-04T10:00:00Z", [["code": "S3", "timing": "current"], ["code": "A19"]], level: "significant")
        try rec("csc", "referral.mash_written", "C-6", "2026-03-04T11:00:00Z", ["urgency": "urgent"])
        venueLink = try rec("police", "link.recorded", "C-6", "2026-03-04T12:00:00Z", ["link_kind": "location", "target": "VENUE-1"])
        try rec("police", "link.recorded", "C-6", "2026-03-04T12:05:00Z", ["link_kind": "vehicle", "target": "VEH-1"])
        actionRecord = try rec("partnership", "action.set", "C-6", "2026-03-04T13:00:00Z", ["action_ref": "A-1", "owner_agency": "police", "due_date": "2026-03-06", "strand": "pursue"])
        let esc = try rec("health", "escalation.raised", "C-6", "2026-03-05T09:00:00Z", ["with_agency": "csc", "about": "threshold_decision"])
        try rec("csc", "escalation.resolved", "C-6", "2026-03-05T15:00:00Z", ["escalation": .string(esc), "outcome": "agreed", "lessons_reported_to_mase": false])
        try rec("police", "disruption.recorded", "C-6", "2026-03-05T16:00:00Z", ["tactic": "D11", "status": "done", "positive_outcome": true])
        // C-7: born June 2008 (18 from 1 Jun 2026): no transition plan (R10); linked to VEH-1 (cluster with C-6); known to both;
        // one contact recorded five working days late (R12).
        try open("C-7", "2026-03-02T09:00:00Z", birth: "2008-06")
        try rec("csc", "link.recorded", "C-7", "2026-03-02T10:00:00Z", ["link_kind": "vehicle", "target": "VEH-1"])
        try rec("csc", "contact.recorded", "C-7", "2026-03-02T11:00:00Z", ["contact_type": "face_to_face"], late: 7 * 86400)
        // C-8: screened medium, referred, early help started: nothing outstanding; known to both; closed.
        try open("C-8", "2026-03-02T09:00:00Z")
        try screen("C-8", "2026-03-09T10:00:00Z", [["code": "A6"]], level: "medium")
        try rec("csc", "referral.mash_written", "C-8", "2026-03-09T11:00:00Z", ["urgency": "standard"])
        try rec("csc", "decision.early_help", "C-8", "2026-03-09T12:00:00Z", ["kind": "family_caf", "status": "started"])
        try rec("csc", "case.closed", "C-8", "2026-03-10T12:00:00Z", ["reason": "risk_reduced"])
        // C-9: NFA not put in writing (R4), then closed: the failure stays an exception after closure.
        try open("C-9", "2026-03-09T09:00:00Z", agency: "csc")
        try rec("police", "contact.recorded", "C-9", "2026-03-09T10:00:00Z", ["contact_type": "about_child"])
        try rec("csc", "decision.nfa", "C-9", "2026-03-10T10:00:00Z", ["reason": "no_cse_concerns", "referrer_told_verbally": true, "referrer_told_in_writing": false])
        try rec("csc", "case.closed", "C-9", "2026-03-11T10:00:00Z", ["reason": "no_cse_concerns"])
        // C-10: a looked-after boy (born Feb 2013: 13), opened Thu 5 Mar; screened medium, then
        // significant on Tue 10 Mar (escalated) and referred the same day: nothing outstanding by
        // 17 March, but on 9 March his MASH referral (due Fri 6) was a working day overdue.
        try open("C-10", "2026-03-05T09:00:00Z", birth: "2013-02", agency: "csc", gender: "male", lookedAfter: true)
        try screen("C-10", "2026-03-05T10:00:00Z", [["code": "A6"]], level: "medium", age: 13)
        try screen("C-10", "2026-03-10T10:00:00Z", [["code": "A6"], ["code": "S1", "timing": "current"]], level: "significant", age: 13)
        try referByTelephone("C-10", "2026-03-10T10:30:00Z")
        // C-11: significant, referred the same day; missing Fri 6 Mar, back Sat 7, RHI offered
        // 26 hours later and completed; a Protect action done: nothing outstanding.
        try open("C-11", "2026-03-02T09:00:00Z")
        try screen("C-11", "2026-03-02T10:00:00Z", [["code": "S1", "timing": "current"]], level: "significant", agency: "police")
        try referByTelephone("C-11", "2026-03-02T10:30:00Z")
        try rec("partnership", "action.set", "C-11", "2026-03-04T13:00:00Z", ["action_ref": "A-2", "owner_agency": "csc", "due_date": "2026-03-10", "strand": "protect"])
        let away = try rec("police", "missing.started", "C-11", "2026-03-06T20:00:00Z", ["reported_by": "parent_carer"])
        try rec("police", "missing.returned", "C-11", "2026-03-07T08:00:00Z", ["missing_episode": .string(away), "how": "returned_self"])
        try rec("csc", "missing.rhi_offered", "C-11", "2026-03-08T10:00:00Z", ["missing_episode": .string(away)])
        try rec("csc", "missing.rhi_completed", "C-11", "2026-03-12T10:00:00Z", ["missing_episode": .string(away), "accepted": true])
        try rec("partnership", "action.completed", "C-11", "2026-03-09T12:00:00Z", ["action_ref": "A-2"])
        // C-12: significant and referred on Mon 2 Mar; screened medium on Mon 9 (de-escalated);
        // the S47 enquiry ends in a child in need plan on Tue 10 (so no Family CAF is due); closed Thu 12.
        try open("C-12", "2026-03-02T09:00:00Z", agency: "csc")
        try screen("C-12", "2026-03-02T10:00:00Z", [["code": "S1", "timing": "current"]], level: "significant")
        try referByTelephone("C-12", "2026-03-02T10:30:00Z")
        try screen("C-12", "2026-03-09T10:00:00Z", [["code": "A2"]], level: "medium")
        try rec("csc", "decision.s47", "C-12", "2026-03-10T10:00:00Z", ["outcome": "cin_plan"])
        try rec("csc", "case.closed", "C-12", "2026-03-12T10:00:00Z", ["reason": "risk_reduced"])
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// R12 with time proven by a witness: an event recorded on time by the log's clock, but whose
    /// earliest witnessed checkpoint is later than the policy allows, is not shown recorded in
    /// time; a checkpoint cosigned soon after changes nothing.
    func testR12UsesTheWitnessedBound() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("p.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let day = Day(iso: "2026-04-30")!
        let plain = try engine.practiceExceptions(on: day).filter { $0.rule == "R12" }
        let size = try XCTUnwrap(try engine.ledger.head()?.size)
        // A checkpoint cosigned a minute after each event was recorded (a service signing as it
        // goes): no event is shown late that was not already.
        var soon: [ProjectionEngine.WitnessedBound] = []
        try engine.ledger.forEach { row in
            soon.append(.init(size: row.seq + 1, time: Timestamp(seconds: Timestamp(canonical: row.recordedAt)!.seconds + 60), witness: "w.example/1"))
        }
        XCTAssertEqual(try engine.practiceExceptions(on: day, witnessed: soon).filter { $0.rule == "R12" }.map(\.what), plain.map(\.what))
        // First cosigned weeks later: every case event before it is not shown recorded in time.
        let late = ProjectionEngine.WitnessedBound(size: size, time: Timestamp(rfc3339: "2026-04-20T09:00:00Z")!, witness: "w.example/1")
        let withLate = try engine.practiceExceptions(on: day, witnessed: [late]).filter { $0.rule == "R12" }
        let unproven = withLate.filter { $0.what.contains("not shown recorded in time") }
        XCTAssertGreaterThan(unproven.count, 10)
        XCTAssertTrue(unproven.allSatisfy { $0.what.contains("cosigned by w.example/1 at 2026-04-20T09:00:00Z") }, "\(unproven.first?.what ?? "")")
        XCTAssertEqual(withLate.count, plain.count + unproven.count, "the events already late are reported once, as before")
        // Both: each event is bound by the earliest checkpoint covering it.
        XCTAssertEqual(try engine.practiceExceptions(on: day, witnessed: [late] + soon).filter { $0.rule == "R12" }.map(\.what), plain.map(\.what))
        // A bound after the report's day proves nothing yet.
        XCTAssertEqual(try engine.practiceExceptions(on: Day(iso: "2026-04-01")!, witnessed: [late]).filter { $0.rule == "R12" }.count,
                       try engine.practiceExceptions(on: Day(iso: "2026-04-01")!).filter { $0.rule == "R12" }.count)
    }

    func testPracticeExceptionsCountedByHand() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("p.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let ex = try engine.practiceExceptions(on: Day(iso: "2026-03-17")!)
        func cases(_ rule: String) -> [String] { ex.filter { $0.rule == rule }.map(\.caseID) }
        XCTAssertEqual(cases("R1"), ["C-1"])
        XCTAssertEqual(ex.first { $0.rule == "R1" }?.overdue, 10, "due Tue 3 Mar: 4, 5, 6, 9-13, 16, 17 March")
        XCTAssertEqual(ex.first { $0.rule == "R3" }?.overdue, 1, "Family CAF due Mon 16 Mar (ten working days)")
        XCTAssertEqual(cases("R2"), ["C-2"])
        XCTAssertEqual(cases("R3"), ["C-1"])
        XCTAssertEqual(cases("R4"), ["C-3", "C-9"], "C-9 is closed, but the referrer was still never told in writing")
        XCTAssertEqual(cases("R5"), ["C-4"], "discussed at MASE-1 with no MASH referral, strategy decision, CRIS number or MASE referral")
        XCTAssertTrue(ex.first { $0.rule == "R5" }!.what.contains("a MASH referral, a strategy decision, a police CSE CRIS number, a MASE referral"))
        XCTAssertEqual(cases("R6"), ["C-1", "C-3"])
        XCTAssertEqual(cases("R7"), ["C-4", "C-4"], "csc and health have not acknowledged")
        XCTAssertEqual(cases("R8"), ["C-4"])
        XCTAssertEqual(cases("R9"), ["C-5", "C-7"], "unscreened cases sharing VENUE-1 (C-5) and VEH-1 (C-7) with C-6")
        XCTAssertEqual(cases("R10"), ["C-7"])
        XCTAssertEqual(cases("R11"), [], "incomplete sharing records are refused when recorded")
        XCTAssertEqual(cases("R12"), ["C-7"])
        XCTAssertEqual(cases("R13"), ["C-4"])
        XCTAssertEqual(cases("R14"), ["C-6"])
        XCTAssertEqual(cases("R15"), ["C-6"])
        XCTAssertEqual(ex.count, 18, "R1-R4: 1+1+1+2, R5 1, R6 2, R7 2, R8 1, R9 2, R10 1, R12-R15: 1+1+1+1")

        XCTAssertFalse(ex.contains { ["C-8", "C-10", "C-11", "C-12"].contains($0.caseID) }, "nothing outstanding for them")

        // As known on Mon 9 March: C-9's NFA (recorded 10 March) is not yet there; C-1's
        // referral is four working days overdue, C-10's (medium on Thu 5, due Fri 6) one; C-8
        // is open (closed 10 March) and has nothing outstanding.
        let earlier = try engine.practiceExceptions(on: Day(iso: "2026-03-09")!)
        XCTAssertEqual(earlier.filter { $0.rule == "R4" }.map(\.caseID), ["C-3"])
        XCTAssertEqual(earlier.filter { $0.rule == "R1" }.map(\.caseID), ["C-1", "C-10"])
        XCTAssertEqual(earlier.filter { $0.rule == "R1" }.map(\.overdue), [4, 1])
        XCTAssertFalse(earlier.contains { $0.caseID == "C-8" })
    }

    func testMASEFiguresCountedByHand() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("p.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let report = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-16")!)
        func section(_ prefix: String) -> Report.Section { report.sections.first { $0.title.hasPrefix(prefix) }! }
        // Telephone referrals by police for C-2, C-10, C-11, C-12; written forms by CSC for C-6, C-8, C-10, C-11, C-12.
        XCTAssertEqual(section("1.").rows, [["MASH", "referral.mash_telephone", "telephone MASH referral", "police", "4"], ["MASH", "referral.mash_written", "written MASH referral", "csc", "5"]])
        XCTAssertEqual(section("2.").rows, [["8", "8", "7", "1", "1"]], "open: C-1..C-7, C-10, C-11; police C-1,2,4,5,6,7,10,11; CSC C-2..C-7, C-10, C-11")
        // Open at the end: C-1 medium; C-2, C-6, C-10, C-11 significant; C-3, C-4, C-5, C-7 never screened.
        // C-10 went up (medium to significant), C-12 down; C-8, C-9, C-12 closed.
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: section("3.").rows.map { ($0[0], $0[1]) }),
                       ["medium": "1", "significant": "4", "not screened": "4", "new in period": "12", "escalated in period": "1",
                        "de-escalated in period": "1", "closed in period": "3"])
        let marks = Set(section("4.").rows.map { [$0[0], $0[1], $0[3]].joined(separator: " ") })
        XCTAssertEqual(section("4.").rows.first { $0[1] == "A19" }?[2], "association with gang members suggesting sexual exploitation", "the label beside the code")
        XCTAssertEqual(marks, ["indicator A2 3", "indicator A9 1", "indicator S1 4", "indicator S3 1", "indicator A19 1", "indicator A6 2", "vulnerability V2 1"],
                       "A2: C-1, C-4, C-12; S1: C-2, C-10, C-11, C-12; A6: C-8, C-10")
        // Children with activity in the period: all twelve, every one female but C-10; ages on 16 Mar 2026 from birth
        // month 2011-06 (14, so 13-15) except C-7 (2008-06: 17) and C-10 (2013-02: 13); C-10 is looked after.
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: section("5.").rows.map { ($0[0], $0[1]) }),
                       ["gender: female": "11", "gender: male": "1", "age band: 13-15": "11", "age band: 16-17": "1", "looked after": "1"])
        // C-4 (returned, no RHI) and C-11 (returned, RHI offered after 26 hours and completed).
        XCTAssertEqual(section("6.").rows, [["2", "2", "2", "1", "1", "1"]])
        XCTAssertEqual(Set(section("7. Locations").rows.map { $0.joined(separator: " ") }), ["location VENUE-1 2 C-5 C-6", "vehicle VEH-1 2 C-6 C-7"])
        XCTAssertEqual(section("8. Clusters").rows, [["1", "3", "C-5 C-6 C-7"]])
        // Drawn: VEH-1 (C-6, C-7) and VENUE-1 (C-5, C-6) inside, the children around, four links.
        let graph = try XCTUnwrap(section("8. Clusters").graphs.first)
        XCTAssertEqual(graph.nodes.map(\.label), ["VEH-1", "VENUE-1", "6", "7", "5"])
        XCTAssertEqual(graph.nodes.map(\.kind), ["vehicle", "location", "child", "child", "child"])
        XCTAssertEqual(graph.edges.map { "\($0.0)-\($0.1)" }.sorted(), ["0-2", "0-3", "1-2", "1-4"])
        XCTAssertEqual(graph.title, "Cluster 1: 3 children, linked through 2 locations, vehicles and persons of concern they share")
        XCTAssertTrue(report.render(.html).contains("<title>C-5</title>"), "each child named by case id in the drawing")
        XCTAssertEqual(section("9.").rows, [["D11", "ANPR on vehicles", "done", "1"], ["positive interventions", "", "", "1"]])
        XCTAssertEqual(section("10.").rows.map { [$0[0], $0[2], $0[4]] }, [["decision.early_help", "family_caf", "1"], ["decision.nfa", "no_cse_concerns", "1"], ["decision.nfa", "threshold_not_met", "1"],
                                            ["decision.s47", "cin_plan", "1"]])
        XCTAssertEqual(section("11.").rows.first { $0[0] == "R7" }, ["R7", "1", "C-4"])
        XCTAssertEqual(section("12.").rows, [["C-7", "2026-06-30"]], "18 on the last day of the birth month at the latest")
        XCTAssertEqual(section("14.").rows, [], "every fixture screening takes the suggested level")
        XCTAssertEqual(section("15.").rows, [["MASE-1", "2026-03-04", "1", "C-4"]])
        XCTAssertEqual(section("13.").rows, [["protect", "1", "1", "0"], ["pursue", "1", "0", "1"]], "A-2 done on 9 March; A-1 due 6 March, not done")
        for format in Report.Format.allCases { XCTAssertFalse(report.render(format).isEmpty) }
        // A past period counts the cases open at its own end: on 9 March C-8 (closed 10 March),
        // C-9 (opened 9 March) and C-12 (closed 12 March) were open, and C-10 was known to CSC
        // only (police referred him on 10 March).
        let past = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-09")!)
        XCTAssertEqual(past.sections.first { $0.title.hasPrefix("2.") }!.rows, [["10", "11", "9", "1", "2"]])
        XCTAssertTrue(report.render(.csv).hasPrefix("section,row,column,value\nbuilt from,0,log size,"))
    }

    /// A retraction takes the record out of every figure, by rebuild and by update alike.
    func testARetractedLinkLeavesTheFigures() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("r.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        try rec("police", "correction.recorded", "C-6", "2026-03-12T09:00:00Z", ["corrects_event": .string(venueLink), "kind": "retraction", "reason": "wrong_case"])
        _ = try flushed()
        let updated = try engine.update(trustAnchor: root.publicKey)
        let fresh = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("r2.sqlite").path)
        XCTAssertEqual(try fresh.rebuild(trustAnchor: root.publicKey).map(\.digest), updated.map(\.digest))
        let report = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-16")!)
        XCTAssertEqual(report.sections.first { $0.title.hasPrefix("7. Locations") }!.rows, [["vehicle", "VEH-1", "2", "C-6 C-7"]])
        XCTAssertEqual(report.sections.first { $0.title.hasPrefix("8. Clusters") }!.rows, [["1", "2", "C-6 C-7"]])
        let ex = try engine.practiceExceptions(on: Day(iso: "2026-03-17")!)
        XCTAssertEqual(ex.filter { $0.rule == "R9" }.map(\.caseID), ["C-7"], "C-5's venue is no longer shared")
        let links = try engine.read { db in try Int.fetchOne(db, sql: "SELECT links FROM cases WHERE case_id = 'C-6'") }
        XCTAssertEqual(links, 1, "C-6 keeps its vehicle link only")
    }

    /// Steps done after their deadlines are exceptions too (R1, R3, R8), measured in working days late.
    func testStepsDoneLate() throws {
        try open("C-20", "2026-03-02T09:00:00Z")
        try rec("csc", "contact.recorded", "C-20", "2026-03-02T09:30:00Z", ["contact_type": "phone"])
        try screen("C-20", "2026-03-02T10:00:00Z", [["code": "A2"]], level: "medium")
        let gone = try rec("police", "missing.started", "C-20", "2026-03-03T20:00:00Z", ["reported_by": "parent_carer"])
        try rec("police", "missing.returned", "C-20", "2026-03-04T08:00:00Z", ["missing_episode": .string(gone), "how": "returned_self"])
        try rec("csc", "referral.mash_written", "C-20", "2026-03-05T10:00:00Z", ["urgency": "standard"])
        try rec("csc", "missing.rhi_offered", "C-20", "2026-03-09T10:00:00Z", ["missing_episode": .string(gone)])
        try rec("csc", "decision.early_help", "C-20", "2026-03-20T10:00:00Z", ["kind": "family_caf", "status": "started"])
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("late.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let late = try engine.practiceExceptions(on: Day(iso: "2026-03-23")!).filter { $0.caseID == "C-20" }
        XCTAssertEqual(late.map(\.rule), ["R1", "R3", "R8"])
        XCTAssertEqual(late.map(\.overdue), [2, 4, 1], "referral due Tue 3, made Thu 5; CAF due Mon 16, started Fri 20; RHI due Sat 7, offered Mon 9")
        XCTAssertEqual(try engine.practiceExceptions(on: Day(iso: "2026-03-06")!).filter { $0.caseID == "C-20" && $0.rule == "R3" }.count, 0,
                       "the CAF was not yet late on 6 March")
    }

    /// An acknowledgement recorded under another case the meeting discussed still counts for R7,
    /// for every case it discussed; one not yet on the agency's own system does not.
    func testAcknowledgementsAcrossCases() throws {
        // MASE-2, recorded under C-5, discusses C-5 and C-6; CSC acknowledges it under C-6, police
        // (not yet on its own system) under C-5.
        let second = try rec("partnership", "meeting.mase", "C-5", "2026-03-11T10:00:00Z",
                             ["meeting_ref": "MASE-2", "attendees": ["police", "csc"], "cases_discussed": ["C-5", "C-6"]])
        try rec("csc", "acknowledgement.recorded", "C-6", "2026-03-11T15:00:00Z", ["decision_event": .string(second), "recorded_on_own_system": true])
        try rec("police", "acknowledgement.recorded", "C-5", "2026-03-11T15:00:00Z", ["decision_event": .string(second), "recorded_on_own_system": false])
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("ack.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let r7 = try engine.practiceExceptions(on: Day(iso: "2026-03-17")!).filter { $0.rule == "R7" && $0.what.contains("MASE-2") }
        XCTAssertEqual(r7.map(\.caseID), ["C-5", "C-6"])
        XCTAssertTrue(r7.allSatisfy { $0.what.hasPrefix("police to acknowledge the MASE decisions of MASE-2") }, "\(r7.map(\.what))")
    }

    /// Retracting a return or an action undoes what it changed in the figures.
    func testRetractedUpdatesAreUndone() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("undo.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        try rec("police", "correction.recorded", "C-4", "2026-03-12T09:00:00Z", ["corrects_event": .string(returnRecord), "kind": "retraction", "reason": "recorded_in_error"])
        try rec("partnership", "correction.recorded", "C-6", "2026-03-12T09:10:00Z", ["corrects_event": .string(actionRecord), "kind": "retraction", "reason": "duplicate"])
        _ = try flushed()
        let updated = try engine.update(trustAnchor: root.publicKey)
        let fresh = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("undo2.sqlite").path)
        XCTAssertEqual(try fresh.rebuild(trustAnchor: root.publicKey).map(\.digest), updated.map(\.digest))
        let report = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-16")!)
        XCTAssertEqual(report.sections.first { $0.title.hasPrefix("6.") }!.rows, [["2", "2", "1", "1", "1", "1"]], "C-4 is no longer recorded as returned")
        XCTAssertEqual(report.sections.first { $0.title.hasPrefix("13.") }!.rows, [["protect", "1", "1", "0"]], "A-1 was never set")
        let ex = try engine.practiceExceptions(on: Day(iso: "2026-03-17")!)
        XCTAssertFalse(ex.contains { $0.rule == "R14" || $0.rule == "R8" }, "\(ex.filter { $0.rule == "R14" || $0.rule == "R8" })")
    }

    /// The practitioner's level drives the rules (the policy's `level_for_rules`): a child the
    /// tool suggests is at significant risk, judged medium, gets medium's deadlines and a Family
    /// CAF; a child judged low gets no referral deadline, and is reviewed when linked to others.
    func testThePractitionersLevelDrivesTheRules() throws {
        // C-21: suggested significant (S1 current), judged medium by CSC on Mon 2 Mar.
        try open("C-21", "2026-03-02T09:00:00Z", agency: "csc")
        try rec("csc", "screening.cse_tool", "C-21", "2026-03-02T10:00:00Z", ["policy_version": .integer(ToolkitPolicy.version), "indicators": [["code": "S1", "timing": "current"]],
                                                                             "age_years": 14, "learning_disability": false, "suggested_level": "significant", "practitioner_level": "medium"],
                details: ["rationale": "a single incident, now with a safety plan at home"])
        // C-22: suggested medium (A2), judged low by police; linked to VENUE-1 (shared with C-5 and C-6).
        try open("C-22", "2026-03-02T09:00:00Z")
        try rec("police", "screening.cse_tool", "C-22", "2026-03-02T10:00:00Z", ["policy_version": .integer(ToolkitPolicy.version), "indicators": [["code": "A2"]],
                                                                                "age_years": 14, "learning_disability": false, "suggested_level": "medium", "practitioner_level": "low"],
                details: ["rationale": "seen once near the venue with a sibling"])
        try rec("police", "link.recorded", "C-22", "2026-03-02T11:00:00Z", ["link_kind": "location", "target": "VENUE-1"])
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("level.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let day = Day(iso: "2026-03-17")!
        let ex = try engine.practiceExceptions(on: day)
        // Medium: referral due Tue 3 Mar (10 working days overdue on 17 Mar), not the same day
        // as at significant (11); Family CAF due Mon 16 Mar (1).
        XCTAssertEqual(ex.filter { $0.caseID == "C-21" }.map { "\($0.rule) \($0.overdue.map(String.init) ?? "-")" }, ["R1 10", "R3 1", "R6 -"])
        XCTAssertEqual(ex.filter { $0.caseID == "C-22" }.map(\.rule), ["R6", "R9"], "low: no referral deadline; linked to other cases, so reviewed")
        let low = try XCTUnwrap(try engine.practice(of: "C-22", knownOn: day))
        XCTAssertEqual(low.toolkitActions().map(\.rule), ["toolkit §8 low"])
        XCTAssertTrue(low.toolkitActions()[0].what.hasPrefix("Keep records and monitor"))
        // The MASE report counts each child at the practitioner's level.
        let levels = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-16")!).sections.first { $0.title.hasPrefix("3.") }!.rows
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: levels.map { ($0[0], $0[1]) })["low"], "1")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: levels.map { ($0[0], $0[1]) })["medium"], "2", "C-1 and C-21")
        let divergent = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-16")!).sections.first { $0.title.hasPrefix("14.") }!.rows
        XCTAssertEqual(divergent, [["medium", "low", "1", "1", "C-22"], ["significant", "medium", "1", "1", "C-21"]])
    }

    /// The toolkit's actions per level, beside the deadlines: never exceptions.
    func testTheToolkitsActionsForTheFixtureChildren() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("actions.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let day = Day(iso: "2026-03-17")!
        func actions(_ c: String) throws -> [String] { try XCTUnwrap(try engine.practice(of: c, knownOn: day)).toolkitActions().map(\.what) }
        // C-1, medium: the MASE subgroup and disruption.
        XCTAssertEqual(try actions("C-1"), ["Refer the child to the MASE operational subgroup (its pre-MASE meeting)",
                                            "Consider disruption tactics (§7.5) and record what was considered"])
        // C-2, significant, known to police: an S47 enquiry to consider and disruption to put in place.
        XCTAssertEqual(try actions("C-2"), ["Consider an S47 enquiry: a strategy discussion decides", "Put disruption tactics (§7.5) in place and record each"])
        // C-6, significant, with disruption recorded and police involved: the S47 question only.
        XCTAssertEqual(try actions("C-6"), ["Consider an S47 enquiry: a strategy discussion decides"])
        // C-4, never screened: the screening tool.
        XCTAssertEqual(try actions("C-4"), ["Complete the CSE risk screening tool: it suggests the level and what follows"])
        // Closed cases ask nothing.
        XCTAssertEqual(try actions("C-8"), [])
        XCTAssertFalse(try engine.practiceExceptions(on: day).contains { $0.rule.hasPrefix("toolkit") })
    }

    /// R4 for a MASH decision of NFA with no NFA record (overdue from the day after its
    /// deadline, never on the decision day), R10's 18th birthday at the end of the birth month
    /// and never before the case was opened, and R11's four conditions.
    func testR4R10AndR11() throws {
        // C-23: MASH decides NFA on Tue 3 Mar; the NFA itself (reason, referrer told) is never recorded.
        try open("C-23", "2026-03-03T09:00:00Z", agency: "csc")
        try rec("police", "contact.recorded", "C-23", "2026-03-03T09:30:00Z", ["contact_type": "phone"])
        try rec("mash", "decision.mash", "C-23", "2026-03-03T15:00:00Z", ["outcome": "nfa"])
        // C-24: police share health information with CSC, not recorded as necessary and
        // proportionate, identities not protected, with no Art 9 condition; and one complete record.
        try open("C-24", "2026-03-03T09:00:00Z", agency: "csc")
        let shared: [String: JSONValue] = ["to_agency": "csc", "scope": ["health_information"], "purpose": "safeguarding_assessment",
                                           "lawful_basis": "uk_gdpr_6_1_e_public_task", "consent_sought": false, "consent_not_sought_reason": "risk_of_harm_to_child",
                                           "subject_informed": false, "subject_not_informed_reason": "would_prejudice_investigation",
                                           "necessary_and_proportionate": false, "identities_protected": false, "channel": "secure_email"]
        try rec("police", "sharing.shared", "C-24", "2026-03-04T10:00:00Z", shared)
        var complete = shared
        complete["necessary_and_proportionate"] = true
        complete["identities_protected"] = true
        complete["special_category_condition"] = "uk_gdpr_9_2_g_dpa_sch1_para18_safeguarding"
        try rec("police", "sharing.shared", "C-24", "2026-03-05T10:00:00Z", complete)
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("r4.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let r4 = { (day: String) in try engine.practiceExceptions(on: Day(iso: day)!).filter { $0.caseID == "C-23" && $0.rule == "R4" } }
        XCTAssertEqual(try r4("2026-03-04").count, 0, "due Wed 4 Mar (one working day): not yet overdue on the day")
        XCTAssertEqual(try r4("2026-03-05").map(\.overdue), [1])
        XCTAssertEqual(try r4("2026-03-17").map(\.overdue), [9], "5, 6, 9-13, 16, 17 March")
        let what = try XCTUnwrap(try r4("2026-03-17").first).what
        XCTAssertTrue(what.hasPrefix("Record the NFA decision of Tue 3 Mar 2026 (MASH)"), what)
        let ex = try engine.practiceExceptions(on: Day(iso: "2026-03-17")!)
        let r11 = ex.filter { $0.rule == "R11" }
        XCTAssertEqual(r11.map(\.caseID), ["C-24"], "the complete record is not an exception")
        XCTAssertEqual(r11.first?.what, "Review the sharing with csc of Wed 4 Mar 2026: not recorded as necessary and proportionate; "
                       + "identities of others at risk not protected; special-category information without its Art 9 condition")
        // C-7 turns 18 at the latest on 30 June 2026 (born June 2008); the window opens six months
        // before, but the case was opened on 2 March, so that is where it runs from.
        let r10 = try XCTUnwrap(ex.first { $0.rule == "R10" })
        XCTAssertEqual([r10.caseID, r10.since], ["C-7", "2026-03-02"])
        XCTAssertNil(r10.overdue)
        XCTAssertEqual(try engine.practiceExceptions(on: Day(iso: "2026-07-01")!).first { $0.rule == "R10" }?.overdue, 1, "due Tue 30 Jun; Wed 1 Jul is one working day over")
    }

    /// R5 judges a MASE discussion by what was recorded before the meeting: a CRIS number
    /// recorded later changes neither a past report nor today's.
    func testR5IsJudgedAsKnownOnTheDay() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("r5.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let before = try engine.practiceExceptions(on: Day(iso: "2026-03-11")!)
        try rec("police", "case.updated", "C-4", "2026-03-12T09:00:00Z", ["police_cris_recorded": true], details: ["cris_number": "CRIS-TEST-1"])
        _ = try flushed()
        try engine.update(trustAnchor: root.publicKey)
        XCTAssertEqual(try engine.practiceExceptions(on: Day(iso: "2026-03-11")!), before, "the report as on 11 March is unchanged")
        XCTAssertEqual(try engine.practiceExceptions(on: Day(iso: "2026-03-17")!).filter { $0.rule == "R5" }.map(\.caseID), ["C-4"],
                       "MASE-1 discussed C-4 without a CRIS number recorded before it")
    }

    /// The recording checks, as append applies them (and every verifier with it): one action per
    /// reference, only actions set progressed or completed, one acknowledgement per agency and
    /// meeting, nothing before the birth month or over a year before the case opened unless
    /// historic, and a case with unacknowledged MASE decisions closed only despite them.
    func testRecordingChecks() throws {
        _ = try flushed()
        func refused(_ agency: String, _ type: String, _ caseID: String, _ at: String, _ facts: [String: JSONValue], details: [String: JSONValue] = [:],
                     _ expected: String, line: UInt = #line) {
            let draft = EventDraft(type: type, caseID: caseID, occurredAt: Timestamp(rfc3339: at)!, facts: facts, details: details, eventID: id())
            let recorded = Timestamp(seconds: lastRecorded + 60)
            XCTAssertThrowsError(try ledger.append([draft], signer: keys[agency]!, clock: { recorded }, newID: { "unused" }), line: line) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)", line: line)
            }
        }
        let size = try ledger.head()?.size
        refused("partnership", "action.set", "C-6", "2026-03-12T09:00:00Z", ["action_ref": "A-1", "owner_agency": "police", "due_date": "2026-03-20", "strand": "pursue"], "A-1")
        refused("partnership", "action.completed", "C-6", "2026-03-12T09:00:00Z", ["action_ref": "A-9"], "A-9")
        refused("partnership", "action.completed", "C-11", "2026-03-12T09:00:00Z", ["action_ref": "A-2"], "A-2")
        refused("police", "acknowledgement.recorded", "C-4", "2026-03-12T09:00:00Z", ["decision_event": .string(maseMeeting), "recorded_on_own_system": true], "police")
        refused("police", "contact.recorded", "C-1", "2011-05-20T09:00:00Z", ["contact_type": "phone"], "birth")
        refused("police", "contact.recorded", "C-1", "2025-02-27T09:00:00Z", ["contact_type": "phone"], "historic")
        refused("csc", "case.closed", "C-4", "2026-03-12T09:00:00Z", ["reason": "risk_reduced"], "despite")
        refused("csc", "case.closed", "C-4", "2026-03-12T09:00:00Z", ["reason": "risk_reduced", "closed_despite": true], details: ["closed_despite_reason": " \u{200B} "],
                "closed_despite_reason")
        refused("police", "contact.recorded", "C-1", "2025-02-27T09:00:00Z", ["contact_type": "phone", "historic": true], details: ["note": "x"], "historic_reason")
        // Records of another case: an acknowledgement of a meeting that did not discuss the case,
        // a correction of another case's record.
        refused("csc", "acknowledgement.recorded", "C-6", "2026-03-12T09:00:00Z", ["decision_event": .string(maseMeeting), "recorded_on_own_system": true], "did not discuss C-6")
        refused("police", "correction.recorded", "C-5", "2026-03-12T09:00:00Z", ["corrects_event": .string(venueLink), "kind": "retraction", "reason": "wrong_case"],
                "record the correction under that case")
        XCTAssertEqual(try ledger.head()?.size, size, "nothing was written")
        // With their reasons, the same are recorded.
        try rec("police", "contact.recorded", "C-1", "2025-02-27T09:00:00Z", ["contact_type": "phone", "historic": true], late: 380 * 86400,
                details: ["historic_reason": "found in a school's paper file in March 2026"])
        try rec("csc", "case.closed", "C-4", "2026-03-12T09:00:00Z", ["reason": "risk_reduced", "closed_despite": true],
                details: ["closed_despite_reason": "health and CSC acknowledged by letter; recorded here later"])
        _ = try flushed()
        XCTAssertEqual(try ledger.head()?.size, size.map { $0 + 2 })
        XCTAssertNoThrow(try ledger.verify(trustAnchor: root.publicKey))
    }

    /// The MASE page: one self-contained file whose tables hold exactly the report's figures,
    /// each chart with a title, headings in order, and the headline counted by hand.
    func testTheMASEPageHoldsTheFigures() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("page.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let report = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-16")!)
        let html = report.render(.html)
        for outside in ["<script", "<link", "src=", "http://", "https://", "@import", "url("] {
            XCTAssertFalse(html.contains(outside), "the page fetches or runs nothing: \(outside)")
        }
        func unescape(_ s: String) -> String {
            s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
                .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
        }
        let parts = html.components(separatedBy: "<section id=").dropFirst()
        XCTAssertEqual(parts.count, report.sections.count)
        for (section, part) in zip(report.sections, parts) {
            let body = try XCTUnwrap(part.components(separatedBy: "<tbody>").last?.components(separatedBy: "</tbody>").first)
            let rows = body.matches(of: /<tr>(.*?)<\/tr>/).map { row in
                String(row.1).matches(of: /<td[^>]*>(.*?)<\/td>/).map { unescape(String($0.1)) }
            }
            XCTAssertEqual(rows, section.rows.isEmpty ? [["none"]] : section.rows, section.title)
            XCTAssertTrue(part.contains("<h2>\(section.title.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "'", with: "&#39;"))</h2>"), section.title)
        }
        // Every chart is an image with a title; headings: one h1, then an h2 per section and the footer's.
        let charts = html.components(separatedBy: "<svg role=\"img\"").count - 1
        XCTAssertGreaterThanOrEqual(charts, 8)
        XCTAssertEqual(html.matches(of: /<svg role="img" aria-labelledby="([cg][0-9-]+)"[^>]*>\s*<title id="([cg][0-9-]+)">/).filter { $0.1 == $0.2 }.count, charts)
        XCTAssertEqual(html.components(separatedBy: "<h1>").count - 1, 1)
        XCTAssertEqual(html.components(separatedBy: "<h2>").count - 1, report.sections.count + 1)
        XCTAssertFalse(html.contains("<h3>") || html.contains("<h4>"))
        // The headline, by hand: 9 referrals (4 by telephone, 5 written); 9 open at the end
        // (C-1..C-7, C-10, C-11); 12 new, 1 escalated (C-10), 1 de-escalated (C-12), 3 closed;
        // 2 missing episodes; 8 cases with exceptions on 16 March (C-1..C-7, C-9).
        for (label, value) in [("Referrals received", "9"), ("Cases open at the end", "9"), ("New in the period", "12"), ("Escalated", "1"),
                               ("De-escalated", "1"), ("Closed", "3"), ("Missing episodes", "2"), ("Cases with practice exceptions", "8")] {
            XCTAssertTrue(html.contains("<div><dt>\(label)</dt><dd>\(value)</dd></div>"), "\(label) \(value)")
        }
        XCTAssertTrue(html.contains("<dd><code>\(report.builtFrom.first { $0.0 == "head hash" }?.1 ?? "?")</code></dd>"), "the footer names the head")
    }

    /// The page in a real browser (tools/check-page: headless Chromium, when it is installed, as
    /// tools/setup does): it renders to a screenshot and an A4 PDF with nothing in the console;
    /// a page that logs an error is caught by the same check.
    func testThePageInARealBrowser() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let check = root.appendingPathComponent("tools/check-page").path
        guard ["/usr/bin/chromium", "/usr/bin/chromium-browser"].contains(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("no chromium: tools/setup installs it")
        }
        func run(_ page: String) throws -> (status: Int32, err: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: check)
            p.arguments = [page]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let data = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("browser.sqlite").path)
        try engine.rebuild(trustAnchor: self.root.publicKey)
        let page = dir.appendingPathComponent("mase.html").path
        try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-16")!).render(.html).write(toFile: page, atomically: true, encoding: .utf8)
        let r = try run(page)
        XCTAssertEqual(r.status, 0, r.err)
        let pdf = try Data(contentsOf: dir.appendingPathComponent("mase.pdf"))
        XCTAssertEqual(pdf.prefix(5), Data("%PDF-".utf8))
        let png = try Data(contentsOf: dir.appendingPathComponent("mase.png"))
        XCTAssertEqual(png.prefix(8), Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        let broken = dir.appendingPathComponent("broken.html").path
        try #"<!DOCTYPE html><html lang="en"><title>t</title><p>x</p><script>console.error("broken")</script></html>"#.write(toFile: broken, atomically: true, encoding: .utf8)
        let b = try run(broken)
        XCTAssertEqual(b.status, 1, b.err)
        XCTAssertTrue(b.err.contains("broken"), b.err)
    }

    /// A period's figures are as known at its end: a case opened in the period but recorded after
    /// it counts neither as new nor as open, whenever the report is made, and the header says so.
    func testThePeriodIsAsKnownAtItsEnd() throws {
        try open("C-30", "2026-03-10T09:00:00Z", agency: "csc")
        try rec("csc", "referral.mash_written", "C-30", "2026-03-10T10:00:00Z", ["urgency": "standard"], late: 10 * 86400)
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("known.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let report = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-16")!)
        func section(_ prefix: String) -> Report.Section { report.sections.first { $0.title.hasPrefix(prefix) }! }
        XCTAssertEqual(section("1.").rows, [["MASH", "referral.mash_telephone", "telephone MASH referral", "police", "4"], ["MASH", "referral.mash_written", "written MASH referral", "csc", "5"]],
                       "C-30's referral, recorded on 20 March, is not counted")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: section("3.").rows.map { ($0[0], $0[1]) })["new in period"], "13", "C-30's opening was recorded in time")
        XCTAssertEqual(report.notes, ["Every figure is as known at the end of Mon 16 Mar 2026: from what had been recorded by then. 1 record of events in the period "
                                      + "(about 1 case) was recorded after it and is not counted, however late this report is made (report practice shows late recording, R12)."])
        XCTAssertTrue(report.render(.text).contains("1 record of events in the period"))
        XCTAssertTrue(report.render(.html).contains("<p class=\"note\">Every figure is as known at the end of Mon 16 Mar 2026"))
    }

    /// The page's palette: every text colour it declares against every background it declares
    /// has a contrast ratio of at least 4.5:1 (WCAG 2 AA for body text).
    func testThePalettesContrast() throws {
        let page = ReportTemplates.page + ReportTemplates.bars + ReportTemplates.graph
        func colours(_ pattern: Regex<(Substring, Substring)>) -> Set<String> { Set(page.matches(of: pattern).map { String($0.1).lowercased() }) }
        let text = colours(/(?:[^-]color|svg text \{ font-size: 12px; fill): (#[0-9a-fA-F]{6})/)
        let backgrounds = colours(/background: (#[0-9a-fA-F]{6})/)
        XCTAssertTrue(text.count >= 2 && backgrounds.count >= 2, "\(text) \(backgrounds)")
        func luminance(_ hex: String) -> Double {
            let v = Int(hex.dropFirst(), radix: 16)!
            let channels = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff].map { c -> Double in
                let s = Double(c) / 255
                return s <= 0.03928 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
            }
            return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
        }
        for t in text {
            for b in backgrounds {
                let (l1, l2) = (luminance(t), luminance(b))
                let ratio = (max(l1, l2) + 0.05) / (min(l1, l2) + 0.05)
                XCTAssertGreaterThanOrEqual(ratio, 4.5, "\(t) on \(b)")
            }
        }
    }

    /// The trend, month by month, counted by hand: nothing in January or February; in March (to
    /// the 16th) 9 referrals (4 by telephone, 5 written), 9 screenings (medium: C-1, C-8, C-10,
    /// C-12's second; significant: C-2, C-6, C-10's second, C-11, C-12's first), 2 missing
    /// episodes, 12 cases opened, 3 closed.
    func testTheTrendCountedByHand() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("trend.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let trend = try engine.trendReport(months: 3, to: Day(iso: "2026-03-16")!)
        // Month, referrals, screenings (none, low, medium, significant), missing episodes, opened,
        // closed, and cases with exceptions on 16 March: C-1 (R1, R6), C-2 (R2), C-3 (R4, R6),
        // C-4 (R5, R7, R8, R13), C-5 (R9), C-6 (R14, R15), C-7 (R9, R10, R12), C-9 (R4).
        XCTAssertEqual(trend.sections.map(\.rows), [[
            ["2026-01", "0", "0", "0", "0", "0", "0", "0", "0", "0"],
            ["2026-02", "0", "0", "0", "0", "0", "0", "0", "0", "0"],
            ["2026-03 (1-16)", "9", "0", "0", "4", "5", "2", "12", "3", "8"],
        ]])
        XCTAssertEqual(Set(try engine.practiceExceptions(on: Day(iso: "2026-03-16")!).map(\.caseID)), ["C-1", "C-2", "C-3", "C-4", "C-5", "C-6", "C-7", "C-9"],
                       "the trend's one pass over the months agrees with the report of the day")
        // On any days, one pass (the partnership's facts built once, seen as of each day) gives
        // what a report of each day gives: days around the meeting, acknowledgement, links and closures.
        let days = ["2026-03-02", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09", "2026-03-10", "2026-03-12", "2026-03-17", "2026-04-30"].map { Day(iso: $0)! }
        let pass = try engine.exceptionTally(on: days, chosen: .every)
        XCTAssertEqual(pass.casesOn, try days.map { Set(try engine.practiceExceptions(on: $0).map(\.caseID)).count })
        XCTAssertEqual(pass.last.anyCases, pass.casesOn.last)
        XCTAssertEqual(ProjectionEngine.months(2, to: Day(iso: "2026-01-31")!).map { "\($0.label) \($0.first) \($0.last)" },
                       ["2025-12 2025-12-01 2025-12-31", "2026-01 2026-01-01 2026-01-31"])
        let page = trend.render(.html)
        XCTAssertEqual(page.components(separatedBy: "<polyline").count - 1, 9, "a line for each figure")
        XCTAssertTrue(page.contains("<title>2026-03 (1-16): 8</title>"), "each point titled with its figure")
    }

    /// Who is to act on each exception, by hand (17 March): R1 police (C-1 screened by police),
    /// R2 police (its telephone referral), R3 any, R4 CSC (its NFA decisions, C-3 and C-9), R5
    /// any, R6 CSC for C-1 (police only) and police for C-3 (CSC only), R7 CSC and health (not
    /// acknowledged), R8 any, R9 any (C-5, C-7), R10 any, R12 CSC (its late contact), R13 CSC
    /// (its strategy meeting), R14 police (owner of A-1), R15 any.
    func testExceptionsByRuleAndAgency() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("agency.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let report = try engine.maseReport(from: Day(iso: "2026-03-01"), to: Day(iso: "2026-03-17")!)
        let section = try XCTUnwrap(report.sections.first { $0.title.hasPrefix("16.") })
        var nonZero: [String: [String: String]] = [:]
        for row in section.rows {
            for (i, column) in section.columns.enumerated().dropFirst() where row[i] != "0" { nonZero[row[0], default: [:]][column] = row[i] }
        }
        XCTAssertEqual(nonZero, [
            "R1": ["police": "1", "cases": "1"], "R2": ["police": "1", "cases": "1"], "R3": ["any agency": "1", "cases": "1"],
            "R4": ["csc": "2", "cases": "2"], "R5": ["any agency": "1", "cases": "1"], "R6": ["csc": "1", "police": "1", "cases": "2"],
            "R7": ["csc": "1", "health": "1", "cases": "1"], "R8": ["any agency": "1", "cases": "1"], "R9": ["any agency": "2", "cases": "2"],
            "R10": ["any agency": "1", "cases": "1"], "R12": ["csc": "1", "cases": "1"], "R13": ["csc": "1", "cases": "1"],
            "R14": ["police": "1", "cases": "1"], "R15": ["any agency": "1", "cases": "1"],
        ])
        XCTAssertEqual(section.rows.map(\.[0]), (1...15).map { "R\($0)" }, "every rule, R11 with zeros")
        XCTAssertEqual(try engine.practiceReport(on: Day(iso: "2026-03-17")!).sections[1].rows.first { $0[0] == "R14" }?.last, "police")
    }

    /// Filters, by hand, for 1–16 March: the only boy is C-10 (a telephone referral and its
    /// written form, escalated medium → significant, looked after, 13, nothing outstanding);
    /// the only child aged 16-17 on the 16th is C-7 (born June 2008: R9, R10, R12); health has
    /// recorded about C-6 alone (its escalation), so no venue links two of its children.
    func testFiltersCountedByHand() throws {
        let engine = try ProjectionEngine(ledger: try flushed(), path: dir.appendingPathComponent("filter.sqlite").path)
        try engine.rebuild(trustAnchor: root.publicKey)
        let (from, to) = (Day(iso: "2026-03-01"), Day(iso: "2026-03-16")!)
        func section(_ r: Report, _ prefix: String) -> [[String]] { r.sections.first { $0.title.hasPrefix(prefix) }!.rows }

        let boys = try engine.maseReport(from: from, to: to, filter: ReportFilter(gender: "male"))
        XCTAssertTrue(boys.title.hasSuffix("(children of gender male)"), boys.title)
        XCTAssertTrue(boys.notes.contains { $0.hasPrefix("Only children of gender male: 1 child ") }, "\(boys.notes)")
        XCTAssertEqual(section(boys, "1.").map(\.last), ["1", "1"])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: section(boys, "3.").map { ($0[0], $0[1]) }),
                       ["significant": "1", "new in period": "1", "escalated in period": "1", "de-escalated in period": "0", "closed in period": "0"])
        XCTAssertEqual(Set(section(boys, "5.").map { "\($0[0])=\($0[1])" }), ["gender: male=1", "age band: 13-15=1", "looked after=1"])
        XCTAssertEqual(section(boys, "11.").map(\.[1]), Array(repeating: "0", count: 15))
        XCTAssertEqual(section(boys, "6.").first?.first, "0")
        XCTAssertEqual(try engine.maseReport(from: from, to: to, filter: ReportFilter(gender: "non-binary")).notes.last,
                       "Only children of gender non binary: 0 children (borough, gender and birth month as last recorded). No child matches: check the filter's values.")

        let older = try engine.maseReport(from: from, to: to, filter: ReportFilter(ageBand: .from16to17))
        XCTAssertEqual(section(older, "11.").filter { $0[1] != "0" }, [["R9", "1", "C-7"], ["R10", "1", "C-7"], ["R12", "1", "C-7"]])
        XCTAssertEqual(section(older, "12.").map(\.[0]), ["C-7"])
        XCTAssertEqual(Set(try engine.practiceExceptions(on: to, filter: ReportFilter(ageBand: .from16to17)).map(\.caseID)), ["C-7"])
        XCTAssertEqual(try engine.trendReport(months: 1, to: to, filter: ReportFilter(ageBand: .from16to17)).sections[0].rows,
                       [["2026-03 (1-16)", "0", "0", "0", "0", "0", "0", "1", "0", "1"]], "C-7: opened, never screened or referred")

        let health = try engine.maseReport(from: from, to: to, filter: ReportFilter(agency: "health"))
        XCTAssertEqual(section(health, "7.").count + section(health, "8.").count, 0, "one child links to no other")
        XCTAssertEqual(section(health, "9.").first, ["D11", "ANPR on vehicles", "done", "1"])
        XCTAssertEqual(section(health, "13.").map(\.[0]), ["pursue"], "C-6's action only")
        // Known to health only from 5 March: on the 4th it had recorded about no child.
        XCTAssertEqual(try engine.practiceExceptions(on: Day(iso: "2026-03-04")!, filter: ReportFilter(agency: "health")), [])

        let all = try engine.maseReport(from: from, to: to, filter: ReportFilter(borough: "B1"))
        XCTAssertEqual(all.sections.map(\.rows), try engine.maseReport(from: from, to: to).sections.map(\.rows),
                       "every fixture child is in B1")
        XCTAssertEqual(ReportFilter(agency: "nobody").problem(policy: try engine.policyAtHead())?.hasPrefix("--agency: \"nobody\" is not an agency"), true)
        XCTAssertEqual(ReportFilter(gender: "unknown").problem(policy: try engine.policyAtHead())?.hasPrefix("--gender: \"unknown\" is not a gender"), true)
    }
}
