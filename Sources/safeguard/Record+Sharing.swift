import ArgumentParser
import SafeguardCatalogue
import SafeguardCore

extension Safeguard.Record {
    struct Share: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record information sharing: what, with whom, why, on what lawful basis, and consent (or a decision not to share).",
            discussion: """
                Following the HM Government information-sharing advice: record what was shared (rarely the \
                whole file), the purpose, the lawful basis, whether consent was sought and the answer (or \
                why not: consent is often the wrong basis when a child is at risk), whether the child or \
                family were told (or why not), and that it was necessary and proportionate. A decision not \
                to share records why, and stays open to review.
                """)
        @OptionGroup var r: RecordOptions
        @Option(help: "shared, partly-shared, not-shared or request-received.", completion: Choices.kinds("sharing")) var decision: String
        @Option(name: .customLong("with"), help: ArgumentHelp("The other agency (shared with, asked by, or asking): \(agencies).", valueName: "agency"), completion: Choices.agency) var with: String
        @Option(help: "What was shared: summary, risk-assessment, incident, chronology, health-information, education-information, police-intelligence, full-record (comma-separate).", completion: Choices.fact("sharing.shared", "scope")) var what: [String] = []
        @Option(help: "safeguarding-assessment, strategy-discussion, mase-planning, disruption, health-care, education-support or other.", completion: Choices.fact("sharing.shared", "purpose")) var purpose: String?
        @Option(name: .customLong("lawful-basis"), help: "uk-gdpr-6-1-e-public-task, uk-gdpr-6-1-c-legal-obligation or dpa-2018-part3-sch8-para4-law-enforcement (police). The Art 9 condition for health or other special-category information goes in --special-category.", completion: Choices.fact("sharing.shared", "lawful_basis")) var lawfulBasis: String?
        @Option(help: "given, refused, or not-sought:REASON where REASON is risk-of-harm-to-child, would-prejudice-investigation, not-practicable or not-needed-lawful-basis.", completion: Choices.consent(["given", "refused"], "not-sought")) var consent: String?
        @Option(name: .customLong("subject-told"), help: "yes, or no:REASON (same reasons as consent).", completion: Choices.consent(["yes"], "no")) var subjectTold: String?
        @Option(name: .customLong("necessary-and-proportionate"), help: "shared: true if the sharing was necessary and proportionate, else false.", completion: Choices.bool) var necessary: Bool?
        @Option(name: .customLong("identities-protected"), help: "shared: true if the identities of others at risk were protected, else false.", completion: Choices.bool) var identitiesProtected: Bool?
        @Option(name: .customLong("special-category"), help: "shared: for health or other special-category information, uk-gdpr-9-2-g-dpa-sch1-para18-safeguarding or dpa-2018-part3-sensitive-processing.", completion: Choices.fact("sharing.shared", "special_category_condition")) var specialCategory: String?
        @Option(help: "secure-email, phone, meeting, case-system or letter.", completion: Choices.fact("sharing.shared", "channel")) var channel: String?
        @Option(help: "not-shared: not-necessary, not-proportionate, no-lawful-basis, would-prejudice-investigation or other.", completion: Choices.fact("sharing.not_shared", "reason")) var reason: String?
        @Option(name: .customLong("review-by"), help: ArgumentHelp("not-shared: when the decision will be reviewed.", valueName: "YYYY-MM-DD")) var reviewBy: String?
        func validate() throws {
            if let reviewBy, Day(iso: reviewBy) == nil { throw ValidationError("--review-by must be a real date YYYY-MM-DD") }
        }

        func run() throws {
            var f: [String: JSONValue] = [:]
            let type: String
            switch decision {
            case "shared", "partly-shared":
                type = decision == "shared" ? "sharing.shared" : "sharing.partly_shared"
                f["to_agency"] = .string(with)
                if !what.isEmpty { f["scope"] = strings(codes(what).map(code)) }
                if let purpose { f["purpose"] = .string(code(purpose)) }
                if let lawfulBasis { f["lawful_basis"] = .string(code(lawfulBasis)) }
                if let consent {
                    switch consent {
                    case "given", "refused":
                        f["consent_sought"] = true
                        f["consent_given"] = .bool(consent == "given")
                    case let c where c.hasPrefix("not-sought"):
                        f["consent_sought"] = false
                        let reason = c.dropFirst("not-sought".count)
                        if reason.hasPrefix(":"), reason.count > 1 { f["consent_not_sought_reason"] = .string(code(String(reason.dropFirst()))) }
                    default: throw ValidationError("--consent must be given, refused or not-sought:REASON")
                    }
                }
                if let subjectTold {
                    switch subjectTold {
                    case "yes": f["subject_informed"] = true
                    case let t where t.hasPrefix("no"):
                        let reason = t.dropFirst(2)
                        guard reason.isEmpty || reason.hasPrefix(":") else { throw ValidationError("--subject-told must be yes or no:REASON") }
                        f["subject_informed"] = false
                        if reason.count > 1 { f["subject_not_informed_reason"] = .string(code(String(reason.dropFirst()))) }
                    default: throw ValidationError("--subject-told must be yes or no:REASON")
                    }
                }
                if let necessary { f["necessary_and_proportionate"] = .bool(necessary) }
                if let identitiesProtected { f["identities_protected"] = .bool(identitiesProtected) }
                if let specialCategory { f["special_category_condition"] = .string(code(specialCategory)) }
                if let channel { f["channel"] = .string(code(channel)) }
            case "not-shared":
                type = "sharing.not_shared"
                f["requested_by_agency"] = .string(with)
                if let reason { f["reason"] = .string(code(reason)) }
                if let reviewBy { f["review_by"] = .string(reviewBy) }
            case "request-received":
                type = "sharing.request_received"
                f["from_agency"] = .string(with)
                if let purpose { f["purpose"] = .string(code(purpose)) }
            default: throw ValidationError("--decision must be shared, partly-shared, not-shared or request-received")
            }
            try r.record(r.draft(type, f))
        }
    }

    struct Meeting: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a strategy, network, pre-MASE or MASE meeting: who attended and which cases were discussed.")
        @OptionGroup var r: RecordOptions
        @Option(help: "strategy, network, pre-mase or mase.", completion: Choices.kinds("meeting")) var kind: String
        @Option(name: .customLong("ref"), help: ArgumentHelp("The meeting's reference, e.g. MASE-2026-11.", valueName: "ref")) var ref: String
        @Option(help: ArgumentHelp("Agencies that attended (comma-separate): \(agencies).", valueName: "agencies"), completion: Choices.agency) var attended: [String]
        @Option(help: ArgumentHelp("Cases discussed (comma-separate; this --case is always included).", valueName: "ids")) var cases: [String] = []

        func run() throws {
            guard ["strategy", "network", "pre-mase", "mase"].contains(kind) else { throw ValidationError("--kind must be strategy, network, pre-mase or mase") }
            var discussed = codes(cases)
            if !discussed.contains(r.caseID) { discussed.insert(r.caseID, at: 0) }
            try r.record(r.draft("meeting.\(code(kind))", ["meeting_ref": .string(ref), "attendees": strings(codes(attended)),
                                                             "cases_discussed": strings(discussed)]))
        }
    }

    struct Missing: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a missing episode: started, returned, return home interview offered or completed.")
        @OptionGroup var r: RecordOptions
        @Option(help: "started, returned, rhi-offered or rhi-completed.", completion: Choices.kinds("missing")) var what: String
        @Option(name: .customLong("reported-by"), help: "started: parent-carer, childrens-home, foster-carer, school, police or other.", completion: Choices.fact("missing.started", "reported_by")) var reportedBy: String?
        @Option(help: ArgumentHelp("returned / rhi-*: the missing.started event id.", valueName: "event")) var episode: String?
        @Option(help: "returned: returned-self, found-by-police, found-by-family or other.", completion: Choices.fact("missing.returned", "how")) var how: String?
        @Option(help: "rhi-completed: true if the child took part.", completion: Choices.bool) var accepted: Bool?

        func run() throws {
            var f: [String: JSONValue] = [:]
            switch what {
            case "started": if let reportedBy { f["reported_by"] = .string(code(reportedBy)) }
            case "returned":
                if let how { f["how"] = .string(code(how)) }
            case "rhi-offered": break
            case "rhi-completed": if let accepted { f["accepted"] = .bool(accepted) }
            default: throw ValidationError("--what must be started, returned, rhi-offered or rhi-completed")
            }
            if what != "started", let episode { f["missing_episode"] = .string(episode) }
            try r.record(r.draft("missing.\(code(what))", f))
        }
    }

    struct Disruption: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a disruption tactic (§7.5, D1-D29) and its status.")
        @OptionGroup var r: RecordOptions
        @Option(help: ArgumentHelp("The tactic's code, e.g. D11 (ANPR on vehicles).", valueName: "code"), completion: Choices.disruptions) var tactic: String
        @Option(help: "considered, in-progress, done or not-pursued.", completion: Choices.fact("disruption.recorded", "status")) var status: String
        @Option(help: "not-pursued: insufficient-evidence, not-proportionate, victim-declined or other.", completion: Choices.fact("disruption.recorded", "not_pursued_reason")) var reason: String?
        @Flag(name: .customLong("positive-outcome"), help: "It led to a positive intervention.") var positive = false

        func run() throws {
            var f: [String: JSONValue] = ["tactic": .string(tactic), "status": .string(code(status))]
            if let reason { f["not_pursued_reason"] = .string(code(reason)) }
            if positive { f["positive_outcome"] = true }
            try r.record(r.draft("disruption.recorded", f))
        }
    }

    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Link the case to a venue, vehicle, person of concern or another case, for MASE themes (§7).")
        @OptionGroup var r: RecordOptions
        @Option(name: .customLong("to"), help: "location, vehicle, person-of-concern or case.", completion: Choices.fact("link.recorded", "link_kind")) var to: String
        @Option(name: .customLong("ref"), help: ArgumentHelp("A pseudonymous reference (VENUE-…, VEH-…, POI-…) or the other case's id; addresses and plates go in --note.", valueName: "ref")) var ref: String

        func run() throws {
            let kinds = ["location": "location", "vehicle": "vehicle", "person-of-concern": "person_of_concern", "case": "other_case"]
            guard let kind = kinds[to] else { throw ValidationError("--to must be location, vehicle, person-of-concern or case") }
            try r.record(r.draft("link.recorded", ["link_kind": .string(kind), "target": .string(ref)]))
        }
    }

    struct Action: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a MASE action: set (owner agency, due date, strand), progressed or completed.")
        @OptionGroup var r: RecordOptions
        @Option(help: "set, progressed or completed.", completion: Choices.kinds("action")) var what: String
        @Option(name: .customLong("ref"), help: ArgumentHelp("The action's reference, e.g. MASE-2026-11-A3.", valueName: "ref")) var ref: String
        @Option(help: ArgumentHelp("set: the agency that owns it (\(agencies)).", valueName: "agency"), completion: Choices.agency) var owner: String?
        @Option(help: ArgumentHelp("set: when it is due.", valueName: "YYYY-MM-DD")) var due: String?
        func validate() throws {
            if let due, Day(iso: due) == nil { throw ValidationError("--due must be a real date YYYY-MM-DD") }
        }
        @Option(help: "set: prepare, prevent, protect or pursue.", completion: Choices.fact("action.set", "strand")) var strand: String?

        func run() throws {
            guard ["set", "progressed", "completed"].contains(what) else { throw ValidationError("--what must be set, progressed or completed") }
            var f: [String: JSONValue] = ["action_ref": .string(ref)]
            if let owner { f["owner_agency"] = .string(owner) }
            if let due { f["due_date"] = .string(due) }
            if let strand { f["strand"] = .string(strand) }
            try r.record(r.draft("action.\(what)", f))
        }
    }

    struct Ack: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledge a MASE decision: your agency has recorded it on its own system (§7 principle 7).")
        @OptionGroup var r: RecordOptions
        @Option(help: ArgumentHelp("The MASE meeting acknowledged: its event id or first 8 hex digits (default: the only MASE meeting about the case your agency has not acknowledged).", valueName: "event")) var decision: String?
        func run() throws {
            var facts: [String: JSONValue] = ["recorded_on_own_system": true]
            if let decision { facts["decision_event"] = .string(decision) }
            try r.record(r.draft("acknowledgement.recorded", facts))
        }
    }

    struct Escalation: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a professional disagreement escalated, or its resolution and the lessons reported to MASE.")
        @OptionGroup var r: RecordOptions
        @Option(help: "raised or resolved.", completion: Choices.kinds("escalation")) var what: String
        @Option(name: .customLong("with"), help: ArgumentHelp("raised: the agency disagreed with.", valueName: "agency"), completion: Choices.agency) var with: String?
        @Option(help: "raised: threshold-decision, no-response, case-closure, risk-level or other.", completion: Choices.fact("escalation.raised", "about")) var about: String?
        @Option(help: ArgumentHelp("resolved: the escalation.raised event.", valueName: "event")) var escalation: String?
        @Option(help: "resolved: agreed, decision-changed or escalated-further.", completion: Choices.fact("escalation.resolved", "outcome")) var outcome: String?
        @Flag(name: .customLong("lessons-reported"), help: "resolved: lessons learnt were reported to MASE.") var lessons = false

        func run() throws {
            var f: [String: JSONValue] = [:]
            switch what {
            case "raised":
                if let with { f["with_agency"] = .string(with) }
                if let about { f["about"] = .string(code(about)) }
            case "resolved":
                if let escalation { f["escalation"] = .string(escalation) }
                if let outcome { f["outcome"] = .string(code(outcome)) }
                f["lessons_reported_to_mase"] = .bool(lessons)
            default: throw ValidationError("--what must be raised or resolved")
            }
            try r.record(r.draft("escalation.\(what)", f))
        }
    }

    struct Correction: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Correct or retract an earlier event (nothing is ever edited; the correction stands beside it).")
        @OptionGroup var r: RecordOptions
        @Option(help: ArgumentHelp("The event being corrected (its event id, from 'safeguard log').", valueName: "event")) var event: String
        @Option(help: "correction or retraction.", completion: Choices.fact("correction.recorded", "kind")) var kind: String
        @Option(help: "wrong-case, wrong-details, duplicate, recorded-in-error or other.", completion: Choices.fact("correction.recorded", "reason")) var reason: String
        func run() throws {
            try r.record(r.draft("correction.recorded", ["corrects_event": .string(event), "kind": .string(kind), "reason": .string(code(reason))]))
        }
    }
}
