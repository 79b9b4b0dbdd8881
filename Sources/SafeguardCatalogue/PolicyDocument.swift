import SafeguardCore

/// A risk level (DOMAIN.md "Risk levels"), ordered.
public enum RiskLevel: String, CaseIterable, Comparable, Sendable {
    case none, low, medium, significant

    public static func < (a: RiskLevel, b: RiskLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The toolkit's name for the level.
    public var toolkitName: String {
        switch self {
        case .none: return "no risk indicators identified"
        case .low: return "Universal Plus"
        case .medium: return "Additional Needs"
        case .significant: return "Complex / Acute"
        }
    }
}

/// The whole policy document of a `governance.policy_set` event, as the catalogue reads it:
/// indicators and their threshold columns, level rules, deadlines, disruption codes, the
/// bank-holiday calendar and the facts only some agencies may record. Everything here is
/// data from the log, so a figure computed under one version can be recomputed later. A class,
/// read once per `policy_set` and then shared: every event verified is checked against it.
public final class PolicyDocument: Sendable {
    public struct Indicator: Sendable, Equatable {
        public let code: String
        /// `significant` (S codes, marked current or prior) or `additional` (A codes).
        public let set: String
        public let column: String
        public let label: String
    }

    public struct Restriction: Sendable, Equatable {
        public let type: String
        public let field: String
        public let values: [String]?
        public let agencies: [String]
        public let why: String
    }

    public struct Deadlines: Sendable, Equatable {
        public var mashReferralSignificant: Int
        public var mashReferralMedium: Int
        public var writtenAfterTelephone: Int
        public var familyCAF: Int
        public var rhiOfferHours: Int
        public var lateRecording: Int
        public var transitionMonthsBefore18: Int
        /// Working days after a decision of no further action to tell the referrer and record it
        /// (R4); 1 when the document does not say (policies before version 2).
        public var nfaReferrerTold: Int
    }

    /// Which level the rules follow after a screening (DOMAIN.md "Which level drives the rules").
    public enum LevelForRules: String, Sendable, CaseIterable {
        /// The practitioner's professional judgement (the toolkit: "the tool relies on
        /// professional judgement"); a lower level than suggested needs a rationale and is
        /// reported as a divergence.
        case practitioner
        /// The higher of the suggested and the practitioner's level: what policies before
        /// version 2 did, kept so that their figures replay unchanged.
        case higherOfBoth = "higher_of_both"

        public func level(practitioner: RiskLevel?, suggested: RiskLevel) -> RiskLevel {
            switch self {
            case .practitioner: return practitioner ?? suggested
            case .higherOfBoth: return max(practitioner ?? .none, suggested)
            }
        }

        /// As the screening output and the reports say it.
        public var phrase: String {
            switch self {
            case .practitioner: return "the practitioner's level drives the rules"
            case .higherOfBoth: return "the higher of the suggested and the practitioner's level drives the rules"
            }
        }
    }

    public let permissions: Policy
    public let indicators: [String: Indicator]
    public let indicatorOrder: [String]
    public let vulnerabilities: [String: String]
    public let vulnerabilityOrder: [String]
    /// Threshold column → level, and which columns are urgent (acute).
    public let columnLevels: [String: RiskLevel]
    public let urgentColumns: Set<String>
    public let priorOnlyCap: String
    public let significantUnderAge: Int
    public let significantWithLearningDisability: Bool
    public let deadlines: Deadlines
    public let disruptions: [String: String]
    public let disruptionOrder: [String]
    public let calendar: WorkingCalendar
    public let restrictions: [Restriction]
    public let levelForRules: LevelForRules
    /// The recording checks (docs/CATALOGUE.md "Recording checks"), when the policy asks for
    /// them (`recording_checks`, since the toolkit policy's version 3); nil under an older
    /// policy, so that ledgers recorded under one verify as they did.
    public let recordingChecks: RecordingChecks?

    /// How long a closed case's details are kept (`retention`): a retention review may record
    /// them `destroyed` only this many years after the case was closed. nil: the policy sets
    /// no period, and nothing is destroyed.
    public let retentionYears: Int64?
    /// The shapes of case ids and references (`identifiers`), when the policy sets them: ids
    /// that could identify someone are refused (docs/CATALOGUE.md "Identifiers").
    public let identifiers: IdentifierRules?

    public struct IdentifierRules: Sendable, Equatable {
        public let caseIDPrefixes: [String]
        public let referencePrefixes: [String]
        public let boroughs: Set<String>
    }

    public struct RecordingChecks: Sendable, Equatable {
        /// How many days before its case was first opened an event may have happened without
        /// being recorded as historic (`historic`).
        public let historicSpanDays: Int
    }

    public var name: String { permissions.name }
    public var version: Int64 { permissions.version }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// The members of a policy document that carry the event catalogue's data. A policy with
    /// none of them grants permissions only, and the catalogue is not applied under it
    /// (docs/FORMAT.md §7.1).
    public static let catalogueMembers = ["catalogue", "indicators", "vulnerabilities", "columns", "level_rules", "deadlines", "disruptions",
                                          "bank_holidays", "restricted_facts", "recording_checks"]
    /// The catalogue versions this code knows (the document's `catalogue` member; 1 if absent).
    public static let catalogueVersions: ClosedRange<Int64> = 1...1

    /// The catalogue `json` (a policy document) carries, or nil for a policy that grants
    /// permissions only; throws if it carries one this code cannot read.
    public static func catalogue(of json: JSONValue) throws -> PolicyDocument? {
        guard let o = json.objectValue, catalogueMembers.contains(where: { o[$0] != nil }) else { return nil }
        return try PolicyDocument(json: json)
    }

    /// The built-in toolkit policy.
    public static let toolkit: PolicyDocument = {
        do { return try PolicyDocument(json: ToolkitPolicy.document) } catch { fatalError("built-in policy: \(error)") }
    }()

    public init(json: JSONValue) throws {
        func fail(_ s: String) -> Invalid { Invalid(description: "policy document: \(s)") }
        permissions = try Policy(json: json)
        if let (agency, grant) = EventType.unknownGrant(in: permissions) {
            throw fail("permissions.\(agency): \"\(grant)\" is not a grantable event type or family")
        }
        if let v = json["catalogue"] {
            guard let n = v.integerValue, Self.catalogueVersions.contains(n) else {
                throw fail("catalogue \(v.integerValue.map(String.init) ?? "(not a whole number)") is not a catalogue version this safeguard knows (\(Self.catalogueVersions.upperBound)): upgrade safeguard")
            }
        }
        func list(_ key: String) throws -> [JSONValue] {
            guard let a = json[key]?.arrayValue else { throw fail("\(key) must be an array") }
            return a
        }
        func str(_ v: JSONValue, _ k: String, _ ctx: String) throws -> String {
            guard let s = v[k]?.stringValue, !s.isEmpty else { throw fail("\(ctx) needs a string \(k)") }
            return s
        }
        var ind: [String: Indicator] = [:], order: [String] = []
        for v in try list("indicators") {
            let i = Indicator(code: try str(v, "code", "an indicator"), set: try str(v, "set", "an indicator"),
                              column: try str(v, "column", "an indicator"), label: try str(v, "label", "an indicator"))
            guard ["significant", "additional"].contains(i.set) else { throw fail("indicator \(i.code): set must be significant or additional") }
            guard ind[i.code] == nil else { throw fail("indicator \(i.code) is listed twice") }
            ind[i.code] = i
            order.append(i.code)
        }
        indicators = ind
        indicatorOrder = order
        /// A list of {code, label}: the labels by code, and the codes in order.
        func labelled(_ key: String) throws -> ([String: String], [String]) {
            var labels: [String: String] = [:], order: [String] = []
            for v in try list(key) {
                let code = try str(v, "code", "an entry of \(key)")
                guard labels[code] == nil else { throw fail("\(key): \(code) is listed twice") }
                labels[code] = try str(v, "label", "\(key) \(code)")
                order.append(code)
            }
            return (labels, order)
        }
        (vulnerabilities, vulnerabilityOrder) = try labelled("vulnerabilities")
        var levels: [String: RiskLevel] = [:], urgent: Set<String> = []
        for v in try list("columns") {
            let c = try str(v, "column", "a column")
            guard let l = RiskLevel(rawValue: try str(v, "level", "column \(c)")) else { throw fail("column \(c): unknown level") }
            levels[c] = l
            if v["urgent"]?.boolValue == true { urgent.insert(c) }
        }
        columnLevels = levels
        urgentColumns = urgent
        for i in ind.values where levels[i.column] == nil { throw fail("indicator \(i.code) names unknown column \(i.column)") }
        guard let rules = json["level_rules"] else { throw fail("level_rules is missing") }
        priorOnlyCap = try str(rules, "prior_only_cap", "level_rules")
        guard levels[priorOnlyCap] != nil else { throw fail("level_rules.prior_only_cap names an unknown column") }
        guard let age = rules["significant_under_age"]?.integerValue else { throw fail("level_rules.significant_under_age is missing") }
        significantUnderAge = Int(age)
        significantWithLearningDisability = rules["significant_with_learning_disability"]?.boolValue ?? false
        if let v = rules["level_for_rules"] {
            guard let l = v.stringValue.flatMap(LevelForRules.init(rawValue:)) else {
                throw fail("level_rules.level_for_rules must be one of \(LevelForRules.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            levelForRules = l
        } else {
            levelForRules = .higherOfBoth
        }
        guard let d = json["deadlines"] else { throw fail("deadlines is missing") }
        func int(_ k: String) throws -> Int {
            guard let v = d[k]?.integerValue, v >= 0 else { throw fail("deadlines.\(k) must be a whole number ≥ 0") }
            return Int(v)
        }
        deadlines = Deadlines(
            mashReferralSignificant: try int("mash_referral_significant_working_days"),
            mashReferralMedium: try int("mash_referral_medium_working_days"),
            writtenAfterTelephone: try int("written_after_telephone_working_days"),
            familyCAF: try int("family_caf_working_days"), rhiOfferHours: try int("rhi_offer_hours"),
            lateRecording: try int("late_recording_working_days"), transitionMonthsBefore18: try int("transition_months_before_18"),
            nfaReferrerTold: d["nfa_referrer_told_working_days"] == nil ? 1 : try int("nfa_referrer_told_working_days"))
        (disruptions, disruptionOrder) = try labelled("disruptions")
        guard let dates = json["bank_holidays"]?["dates"]?.arrayValue else { throw fail("bank_holidays.dates is missing") }
        var holidays: Set<Day> = []
        for v in dates {
            guard let s = v.stringValue, let day = Day(iso: s) else { throw fail("bank_holidays.dates holds a value that is not YYYY-MM-DD") }
            holidays.insert(day)
        }
        calendar = WorkingCalendar(bankHolidays: holidays)
        var rs: [Restriction] = []
        for v in json["restricted_facts"]?.arrayValue ?? [] {
            rs.append(Restriction(
                type: try str(v, "type", "a restriction"), field: try str(v, "field", "a restriction"),
                values: v["values"]?.arrayValue?.compactMap(\.stringValue),
                agencies: v["agencies"]?.arrayValue?.compactMap(\.stringValue) ?? [], why: v["why"]?.stringValue ?? ""))
        }
        restrictions = rs
        if let r = json["recording_checks"] {
            guard let span = r["historic_span_days"]?.integerValue, (0...36_600).contains(span) else {
                throw fail("recording_checks.historic_span_days must be a whole number of days from 0 to 36600")
            }
            recordingChecks = RecordingChecks(historicSpanDays: Int(span))
        } else {
            recordingChecks = nil
        }
        if let r = json["retention"] {
            guard let years = r["years_after_closure"]?.integerValue, (0...100).contains(years), r.objectValue?.count == 1 else {
                throw fail("retention must be {\"years_after_closure\": N}, N a whole number of years from 0 to 100")
            }
            retentionYears = years
        } else {
            retentionYears = nil
        }
        if let r = json["identifiers"] {
            func list(_ k: String) throws -> [String] {
                guard let a = r[k]?.arrayValue, !a.isEmpty, a.allSatisfy({ ($0.stringValue?.count ?? 0) >= 1 && ($0.stringValue?.count ?? 0) <= 32 }) else {
                    throw fail("identifiers.\(k) must be a non-empty list of strings of 1-32 characters")
                }
                return a.compactMap(\.stringValue)
            }
            guard let o = r.objectValue, Set(o.keys) == ["case_id_prefixes", "reference_prefixes", "boroughs"] else {
                throw fail("identifiers must have exactly case_id_prefixes, reference_prefixes and boroughs")
            }
            identifiers = IdentifierRules(caseIDPrefixes: try list("case_id_prefixes"), referencePrefixes: try list("reference_prefixes"), boroughs: Set(try list("boroughs")))
        } else {
            identifiers = nil
        }
    }

    /// Codes of the indicators in `set` (`significant` or `additional`), in policy order.
    public func indicatorCodes(set: String) -> [String] { indicatorOrder.filter { indicators[$0]?.set == set } }
}
