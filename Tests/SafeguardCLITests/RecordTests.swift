import Foundation
import XCTest

/// Every event family can be recorded from the CLI, is checked when recorded, and appears,
/// verified, in the log.
final class RecordTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    /// Runs `safeguard record …` with `key` on case C-0001 at a fixed past time; returns the event id.
    @discardableResult
    func record(_ key: String, _ args: [String], at: String = "2026-03-02T10:00:00Z", file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try cli.run(["record"] + args + ["--key", cli.path("\(key).key"), "--at", at, "--json"])
        XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)", file: file, line: line)
        guard let m = r.stdout.range(of: #""event_id":"[0-9a-f-]{36}""#, options: .regularExpression) else {
            XCTFail("no event id in \(r.stdout)", file: file, line: line)
            return ""
        }
        return String(r.stdout[m].dropFirst(12).dropLast())
    }

    func testEveryFamilyFromTheCommandLine() throws {
        let c = ["--case", "C-0001"]
        try record("police", ["contact"] + c + ["--how", "face-to-face", "--indicator", "A2,A9", "--vulnerability", "V2", "--note", "synthetic"])
        try record("csc", ["screening"] + c + ["--indicator", "S1:current", "--indicator", "A2"])
        let phone = try record("csc", ["referral"] + c + ["--to", "mash", "--by-telephone", "--immediate-risk"])
        let written = try record("csc", ["referral"] + c + ["--to", "mash", "--follows", phone])
        let strategy = try record("csc", ["decision"] + c + ["--kind", "strategy", "--format", "discussion", "--outcome", "s47", "--organised-abuse", "false"])
        try record("police", ["case-update"] + c + ["--cris-number", "CRIS-0001"])
        try record("csc", ["referral"] + c + ["--to", "mase", "--mash-referral", written, "--strategy-decision", strategy])
        try record("csc", ["decision"] + c + ["--kind", "nfa", "--reason", "threshold-not-met", "--told-verbally", "--told-in-writing"])
        try record("csc", ["share"] + c + ["--decision", "shared", "--with", "police", "--what", "summary", "--purpose", "strategy-discussion",
                                           "--lawful-basis", "uk-gdpr-6-1-e-public-task", "--consent", "not-sought:risk-of-harm-to-child",
                                           "--subject-told", "no:would-prejudice-investigation", "--necessary-and-proportionate", "true",
                                           "--identities-protected", "true", "--channel", "secure-email"])
        try record("police", ["share"] + c + ["--decision", "not-shared", "--with", "health", "--reason", "not-necessary", "--review-by", "2026-06-01"])
        let mase = try record("csc", ["meeting"] + c + ["--kind", "mase", "--ref", "MASE-2026-03", "--attended", "police,csc", "--cases", "C-0007"])
        let started = try record("police", ["missing"] + c + ["--what", "started", "--reported-by", "parent-carer"])
        try record("police", ["missing"] + c + ["--what", "returned", "--episode", started, "--how", "found-by-police"], at: "2026-03-03T08:00:00Z")
        try record("csc", ["missing"] + c + ["--what", "rhi-offered", "--episode", started], at: "2026-03-03T12:00:00Z")
        try record("csc", ["missing"] + c + ["--what", "rhi-completed", "--episode", started, "--accepted", "true"], at: "2026-03-04T12:00:00Z")
        try record("police", ["disruption"] + c + ["--tactic", "D11", "--status", "in-progress"])
        try record("police", ["link"] + c + ["--to", "vehicle", "--ref", "VEH-0012", "--note", "synthetic plate"])
        try record("police", ["link"] + c + ["--to", "case", "--ref", "C-0007"])
        try record("csc", ["action"] + c + ["--what", "set", "--ref", "MASE-2026-03-A1", "--owner", "police", "--due", "2026-03-20", "--strand", "pursue"])
        try record("police", ["action"] + c + ["--what", "completed", "--ref", "MASE-2026-03-A1"])
        try record("police", ["ack"] + c + ["--decision", mase])
        try record("csc", ["ack"] + c + ["--decision", mase])
        let esc = try record("police", ["escalation"] + c + ["--what", "raised", "--with", "csc", "--about", "threshold-decision"])
        try record("police", ["escalation"] + c + ["--what", "resolved", "--escalation", esc, "--outcome", "agreed", "--lessons-reported"])
        try record("csc", ["correction"] + c + ["--event", written, "--kind", "correction", "--reason", "wrong-details"])
        try record("csc", ["case-transfer"] + c + ["--to", "police", "--reason", "lead-changed"])
        try record("csc", ["case-transition"] + c + ["--plan", "transition-plan-agreed"])
        try record("csc", ["decision"] + c + ["--kind", "early-help", "--early-help", "family-caf", "--status", "started"])
        try record("csc", ["case-close"] + c + ["--reason", "risk-reduced"])
        try record("csc", ["case-open", "--case", "C-NEW-1", "--birth-month", "2014-02", "--gender", "male", "--borough", "B2", "--looked-after"])

        let v = try cli.run("verify", "--trust", try cli.rootPublicKey(), "--json")
        XCTAssertEqual(v.status, 0, v.stdout)
        let log = try cli.run("log", "--json")
        let families = Set(log.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: #""type":"[a-z_]+\."#, options: .regularExpression) else { return nil }
            return String(line[r].dropFirst(8).dropLast())
        })
        for family in ["case", "contact", "screening", "referral", "decision", "sharing", "meeting", "missing", "disruption", "link",
                       "action", "acknowledgement", "escalation", "correction", "governance"] {
            XCTAssertTrue(families.contains(family), "\(family) missing from \(families.sorted())")
        }
        // The closed case refuses more events.
        let closed = try cli.run("record", "contact", "--case", "C-0001", "--how", "phone", "--key", cli.path("police.key"))
        XCTAssertEqual(closed.status, 3)
        XCTAssertTrue(closed.stderr.contains("was closed"), closed.stderr)
    }

    func testScreeningPrintsLevelReasonsAndDatedNextSteps() throws {
        // Monday 2 March 2026, a medium-risk screening.
        let r = try cli.run("record", "screening", "--case", "C-0001", "--indicator", "A2", "--key", cli.path("csc.key"),
                            "--at", "2026-03-02T10:00:00Z")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Suggested level: medium (Additional Needs)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("A2 (absence or exclusion from school"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Referral to MASH required by Tue 3 Mar 2026"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Family CAF unless S17/S47 applies by Mon 16 Mar 2026"), r.stdout)
        XCTAssertTrue(r.stdout.contains("The rules follow medium: under this policy the practitioner's level drives the rules."), r.stdout)
        XCTAssertTrue(r.stdout.contains("Late: recorded"), "recorded months after it happened: " + r.stdout)
        // Judged as known on a day: on 5 March nothing had been recorded yet (it was recorded
        // today), so nothing was overdue then; today the referral is overdue, and an exception.
        let then = try cli.run("case", "next", "C-0001", "--on", "2026-03-05", "--json")
        XCTAssertTrue(then.stdout.contains(#""exceptions":[]"#) && then.stdout.contains(#""next_steps":[]"#), then.stdout)
        let now = try cli.run("case", "next", "C-0001", "--json")
        XCTAssertTrue(now.stdout.contains(#""rule":"R1""#) && now.stdout.contains(#""overdue_working_days":"#), now.stdout)
        XCTAssertTrue(now.stdout.contains(#""rule":"R12""#), "the late record is an exception too: " + now.stdout)
        // A child under 13 with one additional indicator: significant.
        let young = try cli.run("record", "screening", "--case", "C-0007", "--indicator", "A2", "--age", "12", "--level", "medium",
                                "--key", cli.path("csc.key"))
        XCTAssertEqual(young.status, 3)
        XCTAssertTrue(young.stderr.contains("differs from the suggested significant: give --rationale"), young.stderr)
    }

    /// Closing a case with an escalation still open needs --despite, kept in the details; the
    /// refusal says what is open and changes nothing.
    func testClosingWithAnOpenEscalationNeedsDespite() throws {
        let c = ["--case", "C-0001"]
        try record("police", ["escalation"] + c + ["--what", "raised", "--with", "csc", "--about", "case-closure"])
        let before = try cli.head()
        let refused = try cli.run(["record", "case-close"] + c + ["--reason", "risk-reduced", "--key", cli.path("csc.key")])
        XCTAssertEqual(refused.status, 3, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("the escalation of Mon 2 Mar 2026 not resolved") && refused.stderr.contains("--despite REASON"), refused.stderr)
        XCTAssertEqual(try cli.head(), before, "nothing was recorded")
        let blank = try cli.run(["record", "case-close"] + c + ["--reason", "risk-reduced", "--despite", "  ", "--key", cli.path("csc.key")])
        XCTAssertEqual(blank.status, 2, blank.stderr)
        let closed = try cli.run(["record", "case-close"] + c + ["--reason", "risk-reduced", "--despite", "escalation goes to the panel chair", "--key", cli.path("csc.key")])
        XCTAssertEqual(closed.status, 0, closed.stderr)
        XCTAssertTrue(closed.stdout.contains("Resolve the escalation"), "closing does not end the exception: " + closed.stdout)
    }

    /// The recording checks (policy v3): one action per reference, actions progressed or
    /// completed only once set (and completed once), one acknowledgement per agency and
    /// meeting, and no event before the child's birth month or long before the case opened
    /// unless recorded as historic. Each refusal exits 3, names the flag and changes nothing.
    func testRecordingChecks() throws {
        let c = ["--case", "C-0001"]
        func refused(_ key: String, _ args: [String], at: String = "2026-03-02T10:00:00Z", _ says: String, line: UInt = #line) throws {
            let before = try cli.head()
            let r = try cli.run(["record"] + args + ["--key", cli.path("\(key).key"), "--at", at])
            XCTAssertEqual(r.status, 3, r.stderr, line: line)
            XCTAssertTrue(r.stderr.contains(says), r.stderr, line: line)
            XCTAssertEqual(try cli.head(), before, "nothing was recorded", line: line)
        }
        try record("csc", ["action"] + c + ["--what", "set", "--ref", "MASE-A1", "--owner", "police", "--due", "2026-03-20", "--strand", "pursue"])
        try refused("csc", ["action"] + c + ["--what", "set", "--ref", "MASE-A1", "--owner", "csc", "--due", "2026-03-21", "--strand", "protect"],
                    "--ref: MASE-A1 is already set for case C-0001")
        try refused("police", ["action"] + c + ["--what", "completed", "--ref", "MASE-A9"], "no MASE action MASE-A9 was set for case C-0001")
        try record("police", ["action"] + c + ["--what", "completed", "--ref", "MASE-A1"])
        try refused("police", ["action"] + c + ["--what", "completed", "--ref", "MASE-A1"], "MASE action MASE-A1 of case C-0001 is already completed")
        let mase = try record("csc", ["meeting"] + c + ["--kind", "mase", "--ref", "MASE-2026-03", "--attended", "police,csc", "--cases", "C-0007"])
        try record("police", ["ack"] + c + ["--decision", mase])
        // A second acknowledgement by police, under another case the meeting discussed.
        try refused("police", ["ack", "--case", "C-0007", "--decision", mase], "police has already acknowledged the decisions of this MASE meeting")
        // C-0007 was discussed at the meeting csc has not acknowledged: closing it needs --despite.
        try refused("csc", ["case-close", "--case", "C-0007", "--reason", "risk-reduced"], "MASE decisions not yet acknowledged by csc")
        try record("csc", ["ack", "--case", "C-0007", "--decision", mase])
        try record("csc", ["case-close", "--case", "C-0007", "--reason", "risk-reduced"])
        // Dates: C-0001's child was born in April 2011 and the case opened on 1 March 2026.
        try refused("police", ["contact"] + c + ["--how", "phone"], at: "1900-01-01T10:00:00Z", "is before case C-0001's birth month 2011-04")
        try refused("police", ["contact"] + c + ["--how", "phone"], at: "2024-06-01T10:00:00Z",
                    "2024-06-01 is 638 days before case C-0001 was opened (2026-03-01); the policy allows 365")
        let blank = try cli.run(["record", "contact"] + c + ["--how", "phone", "--historic", " ", "--key", cli.path("police.key"), "--at", "2024-06-01T10:00:00Z"])
        XCTAssertEqual(blank.status, 2, blank.stderr)
        try record("police", ["contact"] + c + ["--how", "phone", "--historic", "disclosed at interview in 2026"], at: "2024-06-01T10:00:00Z")
        let v = try cli.run("verify", "--trust", try cli.rootPublicKey(), "--json")
        XCTAssertEqual(v.status, 0, v.stdout)
    }

    /// Earlier records named as practitioners see them: by the first 8 or more hex digits of
    /// their id, or not at all when the case has only one the record can mean. A prefix that
    /// matches nothing or is too short, or a choice left to make, is refused naming the flag.
    func testEventReferencesByPrefixOrTheOnlyOpenOne() throws {
        let c = ["--case", "C-0001"]
        func run(_ key: String, _ args: [String], at: String) throws -> CLI.Result {
            try cli.run(["record"] + args + c + ["--key", cli.path("\(key).key"), "--at", at])
        }
        let phone = try record("csc", ["referral"] + c + ["--to", "mash", "--by-telephone"], at: "2026-03-02T09:00:00Z")
        var r = try run("csc", ["referral", "--to", "mash"], at: "2026-03-02T11:00:00Z")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("--follows not given: the only telephone referral awaiting its written form of case C-0001 is referral.mash_telephone of Mon 2 Mar 2026"), r.stdout)
        XCTAssertFalse(r.stdout.contains("(R2)"), "the written form is linked, so nothing is awaited: " + r.stdout)

        let first = try record("police", ["missing", "--what", "started", "--reported-by", "parent-carer"] + c, at: "2026-03-03T22:00:00Z")
        r = try run("police", ["missing", "--what", "returned", "--how", "returned-self"], at: "2026-03-04T08:00:00Z")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(seq") && r.stdout.contains("event \(first.prefix(8))"), r.stdout)
        let second = try record("police", ["missing", "--what", "started", "--reported-by", "parent-carer"] + c, at: "2026-03-05T22:00:00Z")
        try record("police", ["missing", "--what", "returned", "--how", "found-by-police"] + c, at: "2026-03-06T08:00:00Z")
        // Two episodes await a return home interview: the practitioner says which.
        let before = try cli.head()
        r = try run("csc", ["missing", "--what", "rhi-offered"], at: "2026-03-06T10:00:00Z")
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("--episode is needed: case C-0001 has 2 of them (\(first.prefix(8)) (Tue 3 Mar 2026), \(second.prefix(8)) (Thu 5 Mar 2026)); give one"), r.stderr)
        r = try run("csc", ["missing", "--what", "rhi-offered", "--episode", String(first.prefix(7))], at: "2026-03-06T10:00:00Z")
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("at least its first 8 hex digits"), r.stderr)
        r = try run("csc", ["missing", "--what", "rhi-offered", "--episode", String(phone.prefix(8))], at: "2026-03-06T10:00:00Z")
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("--episode \(phone.prefix(8)): no missing.started of case C-0001 has an id starting"), "a prefix of another type's event: " + r.stderr)
        XCTAssertEqual(try cli.head(), before, "nothing was recorded")
        let offered = try cli.run(["record", "missing", "--what", "rhi-offered", "--episode", String(second.prefix(8)).uppercased()] + c
                                  + ["--key", cli.path("csc.key"), "--at", "2026-03-06T10:00:00Z", "--json"])
        XCTAssertEqual(offered.status, 0, offered.stderr)
        let log = try cli.run("log", "--json")
        XCTAssertTrue(log.stdout.contains(#""missing_episode":"\#(second)""#), "the full id is what is signed")
        let v = try cli.run("verify", "--trust", try cli.rootPublicKey(), "--json")
        XCTAssertEqual(v.status, 0, v.stdout)
    }

    /// Red-team findings F2, F3, F5, F6: a reference never silently means a retracted record or
    /// another case's record; the acknowledgement defaults to the only meeting not yet
    /// acknowledged; a meeting retracted under its own case asks nothing of the other cases it
    /// discussed; a prefix may leave out the dashes.
    func testReferencesNeverMeanARetractedOrAnotherCasesRecord() throws {
        let c1 = ["--case", "C-0001"], c7 = ["--case", "C-0007"]
        func run(_ key: String, _ args: [String], at: String) throws -> CLI.Result {
            try cli.run(["record"] + args + ["--key", cli.path("\(key).key"), "--at", at])
        }
        // F3: a retracted escalation is no default, and naming it is refused.
        let raised = try record("police", ["escalation"] + c1 + ["--what", "raised", "--with", "csc", "--about", "other"], at: "2026-03-02T09:00:00Z")
        try record("police", ["correction"] + c1 + ["--event", String(raised.prefix(8)), "--kind", "retraction", "--reason", "recorded-in-error"], at: "2026-03-02T10:00:00Z")
        let before = try cli.head()
        var r = try run("police", ["escalation"] + c1 + ["--what", "resolved", "--outcome", "agreed", "--lessons-reported"], at: "2026-03-02T11:00:00Z")
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("--escalation is needed"), r.stderr)
        r = try run("police", ["escalation"] + c1 + ["--what", "resolved", "--outcome", "agreed", "--lessons-reported", "--escalation", String(raised.prefix(8))],
                    at: "2026-03-02T11:00:00Z")
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("was retracted"), r.stderr)
        XCTAssertEqual(try cli.head(), before)
        // F6: the acknowledgement defaults to the only MASE meeting csc has not acknowledged.
        let meeting = try record("police", ["meeting"] + c1 + ["--kind", "mase", "--ref", "MASE-T1", "--attended", "police,csc"], at: "2026-03-03T10:00:00Z")
        r = try run("csc", ["ack"] + c1, at: "2026-03-03T15:00:00Z")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("--decision not given: the only MASE meeting your agency has not acknowledged of case C-0001"), r.stdout)
        // F2: another case's meeting or record, even by its full id, is refused.
        let before2 = try cli.head()
        r = try run("police", ["ack"] + c7 + ["--decision", meeting], at: "2026-03-03T16:00:00Z")
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("did not discuss C-0007"), r.stderr)
        r = try run("police", ["correction"] + c7 + ["--event", meeting, "--kind", "retraction", "--reason", "wrong-case"], at: "2026-03-03T16:00:00Z")
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("record the correction under that case"), r.stderr)
        XCTAssertEqual(try cli.head(), before2)
        // F5: a meeting discussing C-0007, retracted under C-0001 where it was recorded, asks C-0007 for nothing.
        let other = try record("police", ["meeting"] + c1 + ["--kind", "mase", "--ref", "MASE-T2", "--attended", "police,csc", "--cases", "C-0007"], at: "2026-03-04T10:00:00Z")
        XCTAssertTrue(try cli.run("case", "next", "C-0007").stdout.contains("MASE-T2"))
        // Minor: a prefix may leave out the dashes.
        let dashless = String(other.filter { $0 != "-" }.prefix(12))
        try record("police", ["correction"] + c1 + ["--event", dashless, "--kind", "retraction", "--reason", "recorded-in-error"], at: "2026-03-04T11:00:00Z")
        r = try cli.run("case", "next", "C-0007")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.contains("MASE-T2"), r.stdout)
        XCTAssertEqual(try cli.run("verify", "--trust", try cli.rootPublicKey()).status, 0)
    }

    /// `case show` reads as a chronology: each record's coded facts in words (the level and
    /// why, indicators with their labels, the outcome, who was told), corrections beside, and
    /// the narrative only with --details; next steps include what the toolkit asks at the level.
    func testCaseShowChronologyInWords() throws {
        let c = ["--case", "C-0001"]
        try record("police", ["contact"] + c + ["--how", "face-to-face", "--indicator", "A2", "--note", "Synthetic: seen at the bus station."])
        let screening = try record("police", ["screening"] + c + ["--indicator", "S3:current"], at: "2026-03-02T11:00:00Z")
        try record("csc", ["decision"] + c + ["--kind", "nfa", "--reason", "threshold-not-met", "--told-verbally"], at: "2026-03-03T10:00:00Z")
        try record("police", ["correction"] + c + ["--event", String(screening.prefix(8)), "--kind", "correction", "--reason", "wrong-details", "--note", "Synthetic: level discussed with lead."],
                   at: "2026-03-03T11:00:00Z")
        XCTAssertEqual(try cli.run("project", "rebuild", "--trust", try cli.rootPublicKey()).status, 0)
        var r = try cli.run("case", "show", "C-0001")
        XCTAssertEqual(r.status, 0, r.stderr)
        for words in ["contact type: face to face; indicators: A2 absence or exclusion from school",
                      "S3 entering or leaving vehicles driven by unknown adults (current)", "level (practitioner): significant",
                      "why: S3 (entering or leaving vehicles driven by unknown adults) is in the complex column: significant",
                      "reason: threshold not met; referrer told verbally: yes; referrer told in writing: no",
                      "[correction at seq", "Consider an S47 enquiry", "The toolkit also asks:"] {
            XCTAssertTrue(r.stdout.contains(words), "\(words) in: \(r.stdout)")
        }
        XCTAssertFalse(r.stdout.contains("bus station"), "no narrative without --details")
        r = try cli.run("case", "show", "C-0001", "--details")
        XCTAssertTrue(r.stdout.contains("bus station"), r.stdout)
    }

    func testRecordingErrorsNameTheFieldAndAllowedValues() throws {
        let before = try cli.head()
        var r = try cli.run("record", "contact", "--case", "C-0404", "--how", "phone", "--key", cli.path("police.key"))
        XCTAssertTrue(r.stderr.contains("case C-0404 was never opened: record case-open first"), r.stderr)
        r = try cli.run("record", "contact", "--case", "C-0001", "--how", "pigeon", "--key", cli.path("police.key"))
        XCTAssertTrue(r.stderr.contains("--how: \"pigeon\" is not an allowed value; allowed: face-to-face, phone, online, about-child"), r.stderr)
        r = try cli.run("record", "action", "--case", "C-0001", "--what", "set", "--ref", "A-1", "--owner", "police", "--due", "2026-12-30", "--key", cli.path("csc.key"))
        XCTAssertTrue(r.stderr.contains("error: --strand is needed"), "the flag, not facts.strand: " + r.stderr)
        r = try cli.run("record", "screening", "--case", "C-0001", "--indicator", "S3", "--key", cli.path("police.key"))
        XCTAssertTrue(r.stderr.contains("S3 is a significant risk indicator: mark it current"), r.stderr)
        r = try cli.run("record", "missing", "--case", "C-0001", "--what", "returned", "--episode", "6f1c2a9e-0b7d-4c3e-9a51-2d8f4e6b7c10",
                        "--how", "returned-self", "--key", cli.path("police.key"))
        XCTAssertTrue(r.stderr.contains("points at no event"), r.stderr)
        r = try cli.run("record", "disruption", "--case", "C-0001", "--tactic", "D1", "--status", "done", "--key", cli.path("csc.key"))
        XCTAssertTrue(r.stderr.contains("only police record a PNC marker"), r.stderr)
        r = try cli.run("record", "contact", "--case", "C-0001", "--how", "phone", "--at", "2099-01-01T00:00:00Z", "--key", cli.path("police.key"))
        XCTAssertTrue(r.stderr.contains("in the future") || r.stderr.contains("later than recorded_at"), r.stderr)
        XCTAssertEqual(try cli.head(), before)
    }

    func testSchemaCoversEveryType() throws {
        let r = try cli.run("schema")
        XCTAssertEqual(r.status, 0, r.stderr)
        let types = try cli.run("types", "--json").stdout
        for line in types.split(separator: "\n") where !line.contains("governance") {
            for t in line.split(separator: "\"").filter({ $0.contains(".") }) {
                XCTAssertTrue(r.stdout.contains("\"\(t)\":{"), "schema lacks \(t)")
            }
        }
        XCTAssertTrue(r.stdout.contains(#""$schema":"https://json-schema.org/draft/2020-12/schema""#))
    }
}
