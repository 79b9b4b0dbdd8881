import ArgumentParser
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard.Record {
    struct Screening: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a CSE risk screening (§8): the indicators, the suggested level and your own.",
            discussion: """
                Mark each significant risk indicator (S1-S7) current (within the past 6 months) or prior \
                (before that), e.g. --indicator S1:current --indicator S5:prior; additional indicators \
                (A1-A19) need no timing. The tool "relies on professional judgement": the suggested level \
                is computed from the policy in force, and --level records yours (give --rationale when they \
                differ). Age and learning disability default to the case's facts.
                """)
        @OptionGroup var r: RecordOptions
        @Option(help: "cse-tool (the LSCB CSE Risk Screening Tool) or mosaic (CSC Risk Screening Assessment).", completion: .list(["cse-tool", "mosaic"])) var tool = "cse-tool"
        @Option(name: .customLong("indicator"), help: ArgumentHelp("CODE or CODE:current / CODE:prior (repeat or comma-separate).", valueName: "code"), completion: Choices.indicators) var indicators: [String] = []
        @Option(name: .customLong("vulnerability"), help: ArgumentHelp("Vulnerability factor V1-V5 (never raises the level).", valueName: "code"), completion: Choices.vulnerabilities) var vulnerabilities: [String] = []
        @Option(help: ArgumentHelp("The child's age on the day (default: from the case's birth month).", valueName: "years")) var age: Int?
        @Option(name: .customLong("learning-disability"), help: "true or false (default: from the case).", completion: Choices.bool) var learningDisability: Bool?
        @Option(help: "Your level: none, low, medium or significant (default: the suggested level).", completion: Choices.levels) var level: String?
        @Option(help: ArgumentHelp("Why your level differs from the suggested one (kept in details).", valueName: "text")) var rationale: String?

        func validate() throws {
            guard ["cse-tool", "mosaic"].contains(tool) else { throw ValidationError("--tool must be cse-tool or mosaic") }
            if let level, RiskLevel(rawValue: level) == nil { throw ValidationError("--level must be none, low, medium or significant") }
        }

        func run() throws {
            let l = try r.ledger.open(readOnly: true)
            let policy = try l.policyDocument()
            let events = try l.caseEvents(r.caseID)
            let day = Day(london: r.occurredAt)
            guard let years = age ?? CaseQueries.latest(events, "birth_month")?.stringValue.flatMap({ Age.youngest(birthMonth: $0, on: day) }) else {
                throw InputError("no age: case \(r.caseID) has no birth month on record; give --age")
            }
            let ld = learningDisability ?? CaseQueries.latest(events, "learning_disability")?.boolValue ?? false
            var marks: [SafeguardCatalogue.Screening.Mark] = []
            for item in codes(indicators) {
                let parts = item.split(separator: ":").map(String.init)
                guard parts.count <= 2 else { throw ValidationError("--indicator \(item): write CODE or CODE:current or CODE:prior") }
                var timing: SafeguardCatalogue.Screening.Timing? = nil
                if parts.count == 2 {
                    guard let t = SafeguardCatalogue.Screening.Timing(rawValue: parts[1]) else {
                        throw ValidationError("--indicator \(item): the timing must be current or prior")
                    }
                    timing = t
                }
                marks.append(.init(parts[0], timing))
            }
            let screening = SafeguardCatalogue.Screening(indicators: marks, vulnerabilities: codes(vulnerabilities), ageYears: years, learningDisability: ld)
            let suggestion = LevelSuggestion.suggest(screening, policy: policy)
            let own = level ?? suggestion.level.rawValue
            if own != suggestion.level.rawValue, rationale == nil {
                throw InputError("your level (\(own)) differs from the suggested \(suggestion.level.rawValue): give --rationale saying why")
            }
            var facts: [String: JSONValue] = [
                "policy_version": .integer(policy.version), "indicators": SafeguardCatalogue.Screening.json(marks),
                "age_years": .integer(Int64(years)), "learning_disability": .bool(ld),
                "suggested_level": .string(suggestion.level.rawValue), "practitioner_level": .string(own),
            ]
            if !vulnerabilities.isEmpty { facts["vulnerabilities"] = strings(codes(vulnerabilities)) }
            var lines = ["Suggested level: \(suggestion.level.rawValue) (\(suggestion.level.toolkitName)), under \(policy.name) v\(policy.version):"]
            lines += suggestion.reasons.map { "  - " + $0 }
            lines.append("Your level: \(own)" + (own == suggestion.level.rawValue ? "" : " (differs from the suggestion; rationale kept, and reported as a divergence)"))
            let driving = policy.levelForRules.level(practitioner: RiskLevel(rawValue: own), suggested: suggestion.level)
            lines.append("The rules follow \(driving.rawValue): under this policy \(policy.levelForRules.phrase).")
            try r.record(r.draft(tool == "mosaic" ? "screening.csc_mosaic" : "screening.cse_tool", facts,
                                 details: rationale.map { ["rationale": .string($0)] } ?? [:]), extra: lines)
        }
    }

    struct Referral: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a referral: to MASH (written form, or by telephone when urgent), MASE, EWO, adult social care or the RHI provider.")
        @OptionGroup var r: RecordOptions
        @Option(name: .customLong("to"), help: "mash, mase, ewo, adult-social-care or rhi-provider.", completion: .list(["mash", "mase", "ewo", "adult-social-care", "rhi-provider"])) var to: String
        @Flag(name: .customLong("by-telephone"), help: "An urgent telephone referral to MASH (follow it with the written form).") var byTelephone = false
        @Flag(help: "The written MASH referral is urgent.") var urgent = false
        @Flag(name: .customLong("immediate-risk"), help: "Immediate risk (telephone referrals): police informed.") var immediateRisk = false
        @Option(name: .customLong("follows"), help: ArgumentHelp("The telephone referral this written form follows (event id).", valueName: "event")) var follows: String?
        @Option(name: .customLong("indicator"), help: ArgumentHelp("Indicators the form highlights.", valueName: "code"), completion: Choices.indicators) var indicators: [String] = []
        @Option(name: .customLong("mash-referral"), help: ArgumentHelp("MASE: the earlier MASH referral (event id).", valueName: "event")) var mashReferral: String?
        @Option(name: .customLong("strategy-decision"), help: ArgumentHelp("MASE: the strategy meeting/discussion decision (event id).", valueName: "event")) var strategy: String?
        @Option(name: .customLong("episode"), help: ArgumentHelp("RHI provider: the missing.started event id of the episode.", valueName: "event")) var missingEpisode: String?
        @Option(help: "EWO: attendance, exclusion, children-missing-education, other; adult social care: transition-at-18, care-and-support-needs, other.", completion: Choices.facts(("referral.ewo", "reason"), ("referral.adult_social_care", "reason"))) var reason: String?

        func run() throws {
            var f: [String: JSONValue] = [:]
            let type: String
            switch to {
            case "mash" where byTelephone:
                type = "referral.mash_telephone"
                f["immediate_risk"] = .bool(immediateRisk)
            case "mash":
                type = "referral.mash_written"
                f["urgency"] = .string(urgent || follows != nil ? "urgent" : "standard")
                if let follows { f["telephone_referral"] = .string(follows) }
                if !indicators.isEmpty { f["indicators"] = strings(codes(indicators)) }
            case "mase":
                type = "referral.mase"
                if let mashReferral { f["mash_referral"] = .string(mashReferral) }
                if let strategy { f["strategy_decision"] = .string(strategy) }
            case "ewo", "adult-social-care":
                type = to == "ewo" ? "referral.ewo" : "referral.adult_social_care"
                if let reason { f["reason"] = .string(code(reason)) }
            case "rhi-provider":
                type = "referral.rhi_provider"
                if let missingEpisode { f["missing_episode"] = .string(missingEpisode) }
            default:
                throw ValidationError("--to must be mash, mase, ewo, adult-social-care or rhi-provider")
            }
            try r.record(r.draft(type, f))
        }
    }

    struct Decision: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a decision: MASH, S17, strategy meeting/discussion, S47, child in need plan, early help / CAF, or no further action.",
            discussion: """
                A strategy meeting or discussion records one of its three outcomes (s47, cin-plan, \
                early-help-plan) and whether organised and complex abuse procedures are invoked (§6). \
                No further action records the reason and whether the referrer was told verbally and in \
                writing.
                """)
        @OptionGroup var r: RecordOptions
        @Option(help: "mash, s17, strategy, s47, cin-plan, early-help or nfa.", completion: Choices.kinds("decision")) var kind: String
        @Option(help: "The outcome (mash: strategy-discussion, s17-assessment, s47-enquiry, early-help, refer-other-agency, nfa; s17: cin-plan, early-help, step-up-s47, nfa; strategy: s47, cin-plan, early-help-plan; s47: child-protection-conference, cin-plan, nfa).", completion: Choices.facts(("decision.mash", "outcome"), ("decision.s17", "outcome"), ("decision.strategy", "outcome"), ("decision.s47", "outcome"))) var outcome: String?
        @Option(help: "strategy: meeting or discussion.", completion: Choices.fact("decision.strategy", "format")) var format: String?
        @Option(name: .customLong("organised-abuse"), help: "strategy: true if organised and complex abuse procedures are invoked, else false.", completion: Choices.bool) var organisedAbuse: Bool?
        @Option(help: "cin-plan: started, reviewed, ended; early-help: started, completed.", completion: Choices.facts(("decision.cin_plan", "status"), ("decision.early_help", "status"))) var status: String?
        @Option(name: .customLong("early-help"), help: "early-help (required): family-caf, early-help-assessment or team-around-family.", completion: Choices.fact("decision.early_help", "kind")) var earlyHelp: String?
        @Option(help: "nfa: no-cse-concerns, needs-met-elsewhere, moved-out-of-area, threshold-not-met or other.", completion: Choices.fact("decision.nfa", "reason")) var reason: String?
        @Flag(name: .customLong("told-verbally"), help: "nfa: the referrer was told verbally.") var toldVerbally = false
        @Flag(name: .customLong("told-in-writing"), help: "nfa: the referrer was told in writing.") var toldInWriting = false

        func run() throws {
            var f: [String: JSONValue] = [:]
            if let outcome { f["outcome"] = .string(code(outcome)) }
            let type: String
            switch kind {
            case "mash", "s17", "s47": type = "decision.\(kind)"
            case "strategy":
                type = "decision.strategy"
                if let format { f["format"] = .string(format) }
                if let organisedAbuse { f["organised_complex_abuse"] = .bool(organisedAbuse) }
            case "cin-plan":
                type = "decision.cin_plan"
                if let status { f["status"] = .string(status) }
            case "early-help":
                type = "decision.early_help"
                if let status { f["status"] = .string(status) }
                if let earlyHelp { f["kind"] = .string(code(earlyHelp)) }
            case "nfa":
                type = "decision.nfa"
                if let reason { f["reason"] = .string(code(reason)) }
                f["referrer_told_verbally"] = .bool(toldVerbally)
                f["referrer_told_in_writing"] = .bool(toldInWriting)
            default: throw ValidationError("--kind must be mash, s17, strategy, s47, cin-plan, early-help or nfa")
            }
            try r.record(r.draft(type, f))
        }
    }
}
