import Foundation
import GRDB
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore
import TestSupport
import XCTest

/// The insider matrix (docs/RELIABILITY.md): for every rule of the catalogue and the policy, an
/// event that breaks it, validly signed by an enrolled practitioner and written straight into
/// the file past `append`, must be rejected by `safeguard verify` (the executable) at its seq
/// with the documented code; and `append` must refuse the same draft with the same code.
///
/// Families: an unknown fact for every type; every fact of every type missing (if required),
/// of the wrong kind, or of a value its kind refuses; every cross-field and cross-event rule;
/// the case not open (never opened, already open, closed); every type an agency may not
/// record; every restricted fact; the time rules. Every case runs in `tools/reliability`
/// (`SAFEGUARD_INSIDER_MATRIX=full`); `swift test` runs every rule, restriction and time case and
/// one in four of the larger families.
final class InsiderMatrixTests: XCTestCase {
    var cli: CLI!
    var keys: [String: SigningKey] = [:]
    var insiders: [String: Insider] = [:]
    var ids: [String: String] = [:]
    var base: String { cli.path("base.sqlite") }
    var root: String { cli.path("p/keys/root.key.pub") }

    /// The day the matrix's events happen: after the setup's, before its "later" events.
    static let day = Timestamp(rfc3339: "2026-06-01T10:00:00Z")!
    static let agencies = ["police", "csc", "health", "education", "voluntary", "mash", "partnership"]

    struct Case {
        let family: String
        let name: String
        let agency: String
        let draft: EventDraft
        let code: String
    }

    override func setUpWithError() throws {
        cli = try CLI()
        let r = try cli.run("demo", "seed", "--dir", cli.path("p"), "--events", "30", "--seed", "21", "--end", "2026-05-01T00:00:00Z")
        XCTAssertEqual(r.status, 0, r.stderr)
        let ledger = try Ledger.open(at: cli.path("p/ledger.sqlite"), readOnly: true)
        let registry = try ledger.state().registry
        for a in Self.agencies {
            let key = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("p/keys/\(a).key")))), passphrase: { nil })
            keys[a] = key
            let record = try XCTUnwrap(registry[key.publicKey.keyID])
            insiders[a] = Insider(key: key, agency: a, role: record.actor.role, practitioner: record.actor.practitioner)
        }
        try setUpBase()
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: cli.dir) }

    func at(_ day: String) -> Timestamp { Timestamp(rfc3339: day + "T09:00:00Z")! }

    /// The events the matrix's rules read: three cases (open with a CRIS number, open, closed),
    /// and the events references point to, each once before the matrix's day and once after.
    func setUpBase() throws {
        let ledger = try Ledger.open(at: cli.path("p/ledger.sqlite"), readOnly: false)
        func add(_ agency: String, _ name: String?, _ type: String, _ caseID: String, _ day: String, _ facts: [String: JSONValue]) throws {
            let written = try ledger.append([EventDraft(type: type, caseID: caseID, occurredAt: at(day), facts: facts)], signer: keys[agency]!,
                                            clock: { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }, newID: { UUID().uuidString.lowercased() })
            if let name { ids[name] = written[0].eventID }
        }
        let opened: [String: JSONValue] = ["birth_month": "2010-01", "gender": "female", "looked_after": false, "learning_disability": false, "borough": "B1"]
        for c in ["C-M-1", "C-M-2", "C-M-3"] { try add("police", nil, "case.opened", c, "2026-05-01", opened) }
        try add("police", nil, "case.updated", "C-M-1", "2026-05-02", ["police_cris_recorded": true])
        try add("police", nil, "case.closed", "C-M-3", "2026-05-05", ["reason": "risk_reduced"])
        for (suffix, day) in [("", "2026-05-04"), ("L", "2026-06-15")] {
            try add("police", "T" + suffix, "referral.mash_telephone", "C-M-1", day, ["immediate_risk": true])
            try add("csc", "S" + suffix, "decision.strategy", "C-M-1", day, ["format": "meeting", "outcome": "s47", "organised_complex_abuse": false])
            try add("csc", "M" + suffix, "missing.started", "C-M-1", day, ["reported_by": "school"])
            try add("csc", "E" + suffix, "escalation.raised", "C-M-1", day, ["with_agency": "police", "about": "no_response"])
            try add("csc", "C" + suffix, "contact.recorded", "C-M-1", day, ["contact_type": "phone"])
            try add("csc", "MM" + suffix, "meeting.mase", "C-M-1", day, ["meeting_ref": "MASE-1", "attendees": ["csc"], "cases_discussed": ["C-M-1"]])
        }
        // For the recording checks: actions REF-1 (set) and REF-2 (set and completed), and a
        // MASE meeting csc has acknowledged.
        try add("csc", nil, "action.set", "C-M-1", "2026-05-04", ["action_ref": "REF-1", "owner_agency": "csc", "due_date": "2026-06-30", "strand": "protect"])
        try add("csc", nil, "action.set", "C-M-1", "2026-05-04", ["action_ref": "REF-2", "owner_agency": "csc", "due_date": "2026-06-30", "strand": "protect"])
        try add("csc", nil, "action.completed", "C-M-1", "2026-05-05", ["action_ref": "REF-2"])
        try add("csc", "MM2", "meeting.mase", "C-M-1", "2026-05-04", ["meeting_ref": "MASE-2", "attendees": ["csc"], "cases_discussed": ["C-M-1"]])
        try add("csc", nil, "acknowledgement.recorded", "C-M-1", "2026-05-05", ["decision_event": .string(ids["MM2"]!), "recorded_on_own_system": true])
        try add("police", "T2", "referral.mash_telephone", "C-M-2", "2026-05-04", ["immediate_risk": true])
        try add("csc", "S2", "decision.strategy", "C-M-2", "2026-05-04", ["format": "meeting", "outcome": "s47", "organised_complex_abuse": false])
        // Records of another case: a MASE meeting that did not discuss C-M-1, and a contact.
        try add("csc", "MM3", "meeting.mase", "C-M-2", "2026-05-04", ["meeting_ref": "MASE-3", "attendees": ["csc"], "cases_discussed": ["C-M-2"]])
        try add("csc", "C2", "contact.recorded", "C-M-2", "2026-05-04", ["contact_type": "phone"])
        ids["G"] = try XCTUnwrap(try ledger.entry(seq: 0)).eventID
        try DatabaseQueue(path: cli.path("p/ledger.sqlite")).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [base]) }
    }

    // MARK: the drafts

    /// A valid value of `kind` for the fact `name` of an event on C-M-1.
    func valid(_ kind: FieldKind, _ name: String) -> JSONValue {
        switch kind {
        case .oneOf(let v): return .string(v[0])
        case .indicator: return "A2"
        case .vulnerability: return "V1"
        case .disruption: return "D3"
        case .agency: return "police"
        case .caseRef: return "C-M-1"
        case .eventRef:
            let refs = ["telephone_referral": "T", "mash_referral": "T", "strategy_decision": "S", "missing_episode": "M", "decision_event": "MM",
                        "escalation": "E", "corrects_event": "C", "records": "C"]
            return .string(ids[refs[name]!]!)
        case .reference: return "REF-1"
        case .date: return "2026-06-20"
        case .month: return "2010-01"
        case .bool: return false
        case .integer(let r): return .integer(name == "age_years" ? 16 : r.lowerBound)
        case .list(let k, let n): return .array(n == 0 ? [] : [valid(k, name)])
        case .screeningIndicators: return .array([])
        }
    }

    /// A value of the wrong JSON kind for `kind`.
    func wrongKind(_ kind: FieldKind) -> JSONValue {
        if case .bool = kind { return "yes" }
        return .bool(true)
    }

    /// A value of the right JSON kind that `kind` refuses, with the code it fails with.
    func refused(_ kind: FieldKind) -> (JSONValue, String)? {
        switch kind {
        case .oneOf: return ("not_a_value", "invalid_facts")
        case .indicator: return ("A99", "invalid_facts")
        case .vulnerability: return ("V99", "invalid_facts")
        case .disruption: return ("D99", "invalid_facts")
        case .agency: return ("nowhere", "invalid_facts")
        case .caseRef: return ("C-M-NEVER", "case_state")
        case .eventRef: return ("00000000-0000-4000-8000-0000000000ff", "bad_reference")
        case .reference: return ("-bad ref", "invalid_facts")
        case .date: return ("2026-02-30", "invalid_facts")
        case .month: return ("2026-13", "invalid_facts")
        case .bool: return nil
        case .integer(let r): return (.integer(r.upperBound + 1), "invalid_facts")
        case .list(let k, _): return refused(k).map { (.array([$0.0]), $0.1) }
        case .screeningIndicators: return (.array([.object(["code": "S1"])]), "invalid_facts")
        }
    }

    /// The agency the matrix records each type as (one the policy allows).
    func agency(_ type: String) -> String { type.hasPrefix("governance.") ? "partnership" : "csc" }

    /// A valid draft of `type` on C-M-1 (a new case for `case.opened`): its required facts,
    /// with the few values its rules need.
    func validDraft(_ spec: EventSpec) -> EventDraft {
        var facts: [String: JSONValue] = [:]
        for f in spec.fields where f.required { facts[f.name] = valid(f.kind, f.name) }
        switch spec.type {
        case "governance.legal_hold": facts["scope"] = "ledger"
        case "case.updated": facts["gender"] = "female"
        case "screening.cse_tool", "screening.csc_mosaic":
            facts["suggested_level"] = "none"; facts["practitioner_level"] = "none"; facts["policy_version"] = .integer(ToolkitPolicy.version)
        case "sharing.shared", "sharing.partly_shared": facts["consent_not_sought_reason"] = "risk_of_harm_to_child"; facts["subject_informed"] = true
        case "disruption.recorded": facts["status"] = "considered"
        case "referral.mash_written": facts["telephone_referral"] = .string(ids["T"]!)
        case "action.set": facts["action_ref"] = "REF-NEW"
        case "case.closed": facts["closed_despite"] = true
        default: break
        }
        let caseID: String? = spec.type.hasPrefix("governance.") ? nil : spec.type == "case.opened" ? "C-M-NEW" : "C-M-1"
        var details: [String: JSONValue] = ["narrative": "synthetic"]
        if spec.type == "case.closed" { details["closed_despite_reason"] = "synthetic: closed with an escalation open" }
        return EventDraft(type: spec.type, caseID: caseID, occurredAt: Self.day, facts: facts, details: details)
    }

    func with(_ d: EventDraft, caseID: String? = nil, _ change: (inout [String: JSONValue]) -> Void = { _ in }) -> EventDraft {
        var d = d
        change(&d.facts)
        if let caseID { d.caseID = caseID }
        return d
    }

    /// Every rule of a type, in the order the catalogue lists them: how to break it, and the code.
    func ruleCases(_ spec: EventSpec, _ d: EventDraft) -> [(String, EventDraft, String)] {
        let id = { (n: String) -> JSONValue in .string(self.ids[n]!) }
        switch spec.type {
        case "governance.legal_hold": return [("scope case without case_ref", with(d) { $0["scope"] = "case"; $0["case_ref"] = nil }, "invalid_facts"),
                                              ("a lift of a hold never placed", with(d) { $0["action"] = "lifted"; $0["scope"] = "case"; $0["case_ref"] = "C-M-1" }, "case_state")]
        case "governance.retention_review": return [("destroyed while the case is open", with(d) { $0["decision"] = "destroyed" }, "case_state")]
        case "case.opened": return [("born after the event", with(d) { $0["birth_month"] = "2027-01" }, "invalid_facts")]
        case "case.updated":
            return [("no facts", with(d) { $0 = [:] }, "invalid_facts"), ("older than 25", with(d) { $0["birth_month"] = "1990-01" }, "invalid_facts")]
        case "screening.cse_tool", "screening.csc_mosaic":
            var noRationale = with(d) { $0["practitioner_level"] = "low" }
            noRationale.details = ["narrative": "synthetic"]
            return [("another policy version", with(d) { $0["policy_version"] = 1 }, "invalid_facts"),
                    ("older than the birth month allows", with(d) { $0["age_years"] = 20 }, "invalid_facts"),
                    ("not the suggested level", with(d) { $0["suggested_level"] = "low" }, "invalid_facts"),
                    ("own level without a rationale", noRationale, "invalid_facts")]
        case "referral.mash_written":
            return [("not a telephone referral", with(d) { $0["telephone_referral"] = id("S") }, "bad_reference"),
                    ("a telephone referral made later", with(d) { $0["telephone_referral"] = id("TL") }, "bad_reference")]
        case "referral.mase":
            return [("not a MASH referral", with(d) { $0["mash_referral"] = id("S") }, "bad_reference"),
                    ("not a strategy decision", with(d) { $0["strategy_decision"] = id("T") }, "bad_reference"),
                    ("a MASH referral made later", with(d) { $0["mash_referral"] = id("TL") }, "bad_reference"),
                    ("a strategy decision made later", with(d) { $0["strategy_decision"] = id("SL") }, "bad_reference"),
                    ("no CRIS number on the case", with(d, caseID: "C-M-2") { $0["mash_referral"] = id("T2"); $0["strategy_decision"] = id("S2") }, "case_state")]
        case "referral.rhi_provider", "missing.returned", "missing.rhi_offered", "missing.rhi_completed":
            return [("not a missing episode", with(d) { $0["missing_episode"] = id("S") }, "bad_reference"),
                    ("an episode that started later", with(d) { $0["missing_episode"] = id("ML") }, "bad_reference")]
        case "sharing.shared", "sharing.partly_shared":
            return [("consent sought, no answer", with(d) { $0["consent_sought"] = true; $0["consent_not_sought_reason"] = nil }, "invalid_facts"),
                    ("subject not told, no reason", with(d) { $0["subject_informed"] = false }, "invalid_facts")]
        case "meeting.strategy", "meeting.network", "meeting.pre_mase", "meeting.mase":
            return [("own case not discussed", with(d) { $0["cases_discussed"] = ["C-M-2"] }, "invalid_facts")]
        case "disruption.recorded": return [("not pursued, no reason", with(d) { $0["status"] = "not_pursued" }, "invalid_facts")]
        case "link.recorded": return [("a link to its own case", with(d) { $0["link_kind"] = "other_case"; $0["target"] = "C-M-1" }, "invalid_facts")]
        case "action.set": return [("due before it was set", with(d) { $0["due_date"] = "2026-05-01" }, "invalid_facts"),
                                   ("a reference already set", with(d) { $0["action_ref"] = "REF-1" }, "case_state")]
        case "action.progressed": return [("an action never set", with(d) { $0["action_ref"] = "REF-NEVER" }, "case_state")]
        case "action.completed": return [("an action already completed", with(d) { $0["action_ref"] = "REF-2" }, "case_state")]
        case "case.closed":
            var noReason = d
            noReason.details = ["narrative": "synthetic"]
            return [("an escalation open, without closed_despite", with(d) { $0["closed_despite"] = nil }, "case_state"),
                    ("closed despite, with no reason", noReason, "invalid_facts")]
        case "acknowledgement.recorded":
            return [("not a MASE meeting", with(d) { $0["decision_event"] = id("S") }, "bad_reference"),
                    ("a MASE meeting held later", with(d) { $0["decision_event"] = id("MML") }, "bad_reference"),
                    ("a second acknowledgement by the same agency", with(d) { $0["decision_event"] = id("MM2") }, "case_state"),
                    ("a MASE meeting of a case it did not discuss", with(d) { $0["decision_event"] = id("MM3") }, "bad_reference")]
        case "escalation.resolved":
            return [("not an escalation", with(d) { $0["escalation"] = id("S") }, "bad_reference"),
                    ("an escalation raised later", with(d) { $0["escalation"] = id("EL") }, "bad_reference")]
        case "correction.recorded":
            return [("an event not in the log", with(d) { $0["corrects_event"] = "00000000-0000-4000-8000-0000000000fe" }, "bad_reference"),
                    ("another agency's event", with(d) { $0["corrects_event"] = id("T") }, "not_own_event"),
                    ("an event that happened later", with(d) { $0["corrects_event"] = id("CL") }, "bad_reference"),
                    ("another case's record", with(d) { $0["corrects_event"] = id("C2") }, "bad_reference")]
        default: return []
        }
    }

    func cases(full: Bool) throws -> [Case] {
        var out: [Case] = []
        var sampled = 0
        func add(_ family: String, _ name: String, _ agency: String, _ draft: EventDraft, _ code: String, sample: Bool = false) {
            if sample, !full {
                sampled += 1
                guard sampled % 4 == 0 else { return }
            }
            out.append(Case(family: family, name: name, agency: agency, draft: draft, code: code))
        }
        let policy = Policy.toolkitDefault
        // access.consulted is granted only by a policy that seals details (SealingTests covers it).
        for spec in Catalogue.specs.values.sorted(by: { $0.type < $1.type }) where spec.type != "access.consulted" {
            let d = validDraft(spec), a = agency(spec.type), t = spec.type
            add("unknown fact", "\(t): an unknown fact", a, with(d) { $0["child_name"] = "synthetic" }, "invalid_facts")
            for f in spec.fields {
                if f.required { add("fact", "\(t): \(f.name) missing", a, with(d) { $0[f.name] = nil }, "invalid_facts", sample: true) }
                add("fact", "\(t): \(f.name) of the wrong kind", a, with(d) { $0[f.name] = self.wrongKind(f.kind) }, "invalid_facts", sample: true)
                if let (value, code) = refused(f.kind) {
                    add("fact", "\(t): \(f.name) a value it refuses", a, with(d) { $0[f.name] = value }, code, sample: true)
                }
            }
            let rules = ruleCases(spec, d)
            XCTAssertEqual(rules.count, spec.rules.count, "\(t): one case per catalogue rule (\(spec.rules.map(\.text)))")
            for (name, draft, code) in rules { add("rule", "\(t): \(name)", a, draft, code) }
            if let caseID = d.caseID {
                if t == "case.opened" {
                    add("case state", "\(t): a case already open", a, with(d, caseID: "C-M-1"), "case_state")
                } else {
                    add("case state", "\(t): a case never opened", a, with(d, caseID: "C-M-NEVER"), "case_state", sample: true)
                    if t != "correction.recorded" { add("case state", "\(t): a closed case", a, with(d, caseID: "C-M-3"), "case_state", sample: true) }
                }
                _ = caseID
            }
            for other in Self.agencies where !policy.allows(agency: other, type: t) {
                add("permission", "\(t) by \(other)", other, d, "not_permitted", sample: true)
            }
        }
        // The recording checks every event of a case is held to (C-M-1: born 2010-01, opened 2026-05-01).
        for (name, day, historic) in [("before the child's birth month", "2009-12-31", true), ("400 days before the case opened", "2025-03-27", false)] {
            var d = validDraft(Catalogue.specs["contact.recorded"]!)
            d.occurredAt = at(day)
            if historic { d.facts["historic"] = true }
            add("recording check", "contact.recorded \(name)", "csc", d, "invalid_facts")
        }
        add("recording check", "historic on a case's opening", "csc", with(validDraft(Catalogue.specs["case.opened"]!)) { $0["historic"] = true }, "invalid_facts")
        // Their reasons, when the details are at hand: historic, and closed despite what is open.
        var noReason = validDraft(Catalogue.specs["contact.recorded"]!)
        noReason.occurredAt = at("2025-03-27")
        noReason.facts["historic"] = true
        add("recording check", "historic with no historic_reason", "csc", noReason, "invalid_facts")
        var closing = validDraft(Catalogue.specs["case.closed"]!)
        closing.details["closed_despite_reason"] = "\u{200B} \u{0001}"
        add("recording check", "closed_despite with an invisible reason", agency("case.closed"), closing, "invalid_facts")
        // The policy's restricted facts, each recorded by an agency it is not for.
        for (t, change) in [("case.updated", { (f: inout [String: JSONValue]) in f["police_cris_recorded"] = true }),
                            ("sharing.shared", { f in f["lawful_basis"] = "dpa_2018_part3_sch8_para4_law_enforcement" }),
                            ("sharing.partly_shared", { f in f["lawful_basis"] = "dpa_2018_part3_sch8_para4_law_enforcement" }),
                            ("disruption.recorded", { f in f["tactic"] = "D1" }), ("disruption.recorded", { f in f["tactic"] = "D2" })] {
            add("restricted fact", "\(t) by csc", "csc", with(validDraft(Catalogue.specs[t]!), change), "restricted_fact")
        }
        let restrictions = try PolicyDocument(json: ToolkitPolicy.document).restrictions
        XCTAssertEqual(out.filter { $0.family == "restricted fact" }.count, restrictions.reduce(0) { $0 + max(1, $1.values?.count ?? 0) },
                       "one case per restricted value")
        return out
    }

    // MARK: running them

    /// Appends `c.draft` with the library to a copy of the base: the refusal's code.
    func appendCode(_ c: Case) throws -> String? {
        let copy = cli.path("append.sqlite")
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: base, toPath: copy)
        let ledger = try Ledger.open(at: copy, readOnly: false)
        do {
            try ledger.append([c.draft], signer: keys[c.agency]!, clock: { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) },
                              newID: { UUID().uuidString.lowercased() })
            return nil
        } catch let e as LedgerError {
            switch e {
            case .invalidFacts(let ce, _): return ce.kind.rawValue
            case .rejected(let v, _): return VerificationFailure(seq: 0, eventID: nil, reason: .rule(v)).code
            default: return "\(e)"
            }
        }
    }

    /// Writes `c.draft` straight into a copy of the base as its agency's practitioner, and runs
    /// `safeguard verify` on it: the exit status, code and seq.
    func verifyForged(_ c: Case) throws -> (status: Int32, code: String?, seq: Int64?, expectedSeq: Int64, out: String) {
        let copy = cli.path("forged.sqlite")
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: base, toPath: copy)
        let written = try insiders[c.agency]!.insert(into: copy, type: c.draft.type, caseID: c.draft.caseID, facts: c.draft.facts,
                                                     details: c.draft.details, occurredAt: c.draft.occurredAt)
        let r = try cli.run("verify", "--ledger", copy, "--trust-file", root, "--json")
        return (r.status, r.stdout.firstMatch(of: /"code":"([a-z_]+)"/).map { String($0.1) }, r.stdout.firstMatch(of: /"seq":(-?\d+)/).flatMap { Int64($0.1) },
                written.seq, r.stdout + r.stderr)
    }

    func testEveryRuleBrokenByAnInsiderIsRejectedByVerify() throws {
        let full = ProcessInfo.processInfo.environment["SAFEGUARD_INSIDER_MATRIX"] == "full"
        // The valid drafts are valid: append takes each of them (so every case below breaks
        // exactly what it says).
        // access.consulted is granted only by a policy that seals details (SealingTests covers it).
        for spec in Catalogue.specs.values.sorted(by: { $0.type < $1.type }) where spec.type != "access.consulted" {
            let c = Case(family: "valid", name: spec.type, agency: agency(spec.type), draft: validDraft(spec), code: "")
            XCTAssertNil(try appendCode(c), "the matrix's valid \(spec.type) is refused")
            let v = try verifyForged(c)
            XCTAssertEqual(v.status, 0, "the matrix's valid \(spec.type), written straight in, does not verify: \(v.out)")
        }
        // An event from long before the case, recorded as historic, is accepted.
        var historic = validDraft(Catalogue.specs["contact.recorded"]!)
        historic.occurredAt = at("2025-03-27")
        historic.facts["historic"] = true
        historic.details["historic_reason"] = "synthetic: found in a paper file"
        let c = Case(family: "valid", name: "historic contact", agency: "csc", draft: historic, code: "")
        XCTAssertNil(try appendCode(c), "a historic contact is refused")
        XCTAssertEqual(try verifyForged(c).status, 0, "a historic contact, written straight in, does not verify")
        var held: [String: (tried: Int, held: Int)] = [:]
        var failures: [String] = []
        let all = try cases(full: full)
        for c in all {
            let appended = try appendCode(c)
            let v = try verifyForged(c)
            let ok = appended == c.code && v.status == 1 && v.code == c.code && v.seq == v.expectedSeq
            if !ok { failures.append("\(c.name): expected \(c.code) at \(v.expectedSeq); append \(appended ?? "accepted"), verify \(v.status) \(v.code ?? "-") at \(v.seq.map(String.init) ?? "-")") }
            held[c.family, default: (0, 0)].tried += 1
            if ok { held[c.family, default: (0, 0)].held += 1 }
        }
        XCTAssertEqual(failures, [], "\(failures.count) of \(all.count) cases not rejected as documented")
        let lines = held.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.held) of \($0.value.tried) rejected at their seq with the documented code, append refusing each with the same code" }
        let summary = (["insider matrix (\(full ? "full" : "sampled")): \(all.count) cases, \(all.count - failures.count) held"] + lines).joined(separator: "\n")
        print(summary)
        if let out = ProcessInfo.processInfo.environment["SAFEGUARD_RELIABILITY_OUT"] {
            try (summary + "\n").write(toFile: out + "/insider.txt", atomically: true, encoding: .utf8)
        }
    }

    // MARK: the differential test

    /// Random drafts, each a valid draft of a random type changed in 0-3 random ways, go both
    /// through `append` and, as the same event written straight into the file, through
    /// verification: append accepts exactly those verification accepts, and refuses the others
    /// with the code verification rejects them with, at the seq they were written at.
    /// `SAFEGUARD_DIFFERENTIAL_DRAFTS` sets how many (300 by default), `SAFEGUARD_DIFFERENTIAL_SEED`
    /// the seed.
    func testAppendAndVerifyAgreeOnRandomDrafts() throws {
        let env = ProcessInfo.processInfo.environment
        let count = env["SAFEGUARD_DIFFERENTIAL_DRAFTS"].flatMap(Int.init) ?? 300
        let seed = env["SAFEGUARD_DIFFERENTIAL_SEED"].flatMap(UInt64.init) ?? 14
        var rng = SeededGenerator(seed: seed)
        let specs = Catalogue.specs.values.sorted { $0.type < $1.type }
        let rootKey = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("p/keys/root.key")))), passphrase: { nil }).publicKey
        let pool: [JSONValue] = ["zzz", "", 7, -1, 1_000_001, true, false, [], ["A2"], ["C-M-2"], ["police", "police"], [:], "A2", "S1", "D1", "police",
                                 "C-M-1", "C-M-2", "C-M-3", "C-M-NEVER", "2026-05-01", "2027-01-01", "2026-02-30", "2010-01", "1990-01", "none", "low",
                                 "significant", .string(ids["T"]!), .string(ids["S"]!), .string(ids["M"]!), .string(ids["ML"]!), .string(ids["MM"]!),
                                 .string(ids["E"]!), .string(ids["C"]!), .string(ids["G"]!), "00000000-0000-4000-8000-0000000000fd"]
        var agreed = (accepted: 0, refused: 0)
        var disagreements: [String] = []
        for i in 0..<count {
            let spec = specs[Int.random(in: 0..<specs.count, using: &rng)]
            var d = validDraft(spec)
            var agencyCode = agency(spec.type)
            var changes: [String] = []
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                switch Int.random(in: 0..<6, using: &rng) {
                case 0:
                    if let k = d.facts.keys.sorted().randomElement(using: &rng) { d.facts[k] = nil; changes.append("-\(k)") }
                case 1, 2:
                    let k = (spec.fields.map(\.name) + ["extra"]).randomElement(using: &rng)!
                    let v = pool.randomElement(using: &rng)!
                    d.facts[k] = v
                    changes.append("\(k)=\(v)")
                case 3:
                    if d.caseID != nil { d.caseID = ["C-M-1", "C-M-2", "C-M-3", "C-M-NEVER", "C-M-NEW"].randomElement(using: &rng)!; changes.append("case \(d.caseID!)") }
                case 4:
                    agencyCode = Self.agencies.randomElement(using: &rng)!
                    changes.append("by \(agencyCode)")
                default:
                    d.occurredAt = Timestamp(seconds: Self.day.seconds + Int64.random(in: -40...20, using: &rng) * 86400)
                    changes.append("on \(d.occurredAt)")
                }
            }
            let c = Case(family: "random", name: "#\(i) \(spec.type) \(changes.joined(separator: ", "))", agency: agencyCode, draft: d, code: "")
            let appended = try appendCode(c)
            // The same event, written straight in, verified (in process: the same verifier the executable runs).
            let copy = cli.path("forged.sqlite")
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: base, toPath: copy)
            let written: Insider.Written
            do {
                written = try insiders[agencyCode]!.insert(into: copy, type: d.type, caseID: d.caseID, facts: d.facts, details: d.details, occurredAt: d.occurredAt)
            } catch {
                XCTAssertNotNil(appended, "\(c.name): cannot be written as an envelope (\(error)), yet append took it")
                continue
            }
            var verified: String? = nil
            do { try Ledger.open(at: copy, readOnly: true).verify(trustAnchor: rootKey) } catch let f as VerificationFailure {
                verified = f.code
                if f.seq != written.seq { disagreements.append("\(c.name): verify failed at \(f.seq), not at the new entry \(written.seq) (\(f))") }
            }
            if appended == verified {
                if appended == nil { agreed.accepted += 1 } else { agreed.refused += 1 }
            } else {
                disagreements.append("\(c.name): append \(appended ?? "accepted"), verify \(verified ?? "accepted")")
            }
        }
        XCTAssertEqual(disagreements, [])
        print("differential: \(count) random drafts (seed \(seed)): \(agreed.accepted) accepted by both, \(agreed.refused) refused by both with the same code, \(disagreements.count) disagreements")
        XCTAssertGreaterThan(agreed.accepted, count / 20, "the generator makes valid drafts too")
        XCTAssertGreaterThan(agreed.refused, count / 2, "and mostly invalid ones")
    }
}
