import SafeguardCore

/// A screening's facts, typed: what the level rules read.
public struct Screening: Equatable, Sendable {
    public enum Timing: String, Sendable { case current, prior }

    public struct Mark: Equatable, Sendable {
        public let code: String
        /// nil for A codes ticked without a timing: they count as current.
        public let timing: Timing?
        public init(_ code: String, _ timing: Timing? = nil) { self.code = code; self.timing = timing }
    }

    public var indicators: [Mark]
    public var vulnerabilities: [String]
    public var ageYears: Int
    public var learningDisability: Bool

    public init(indicators: [Mark], vulnerabilities: [String] = [], ageYears: Int, learningDisability: Bool) {
        self.indicators = indicators; self.vulnerabilities = vulnerabilities
        self.ageYears = ageYears; self.learningDisability = learningDisability
    }

    /// Reads already-validated facts; nil when they do not hold a screening.
    public init?(facts: Facts) {
        guard let list = facts["indicators"]?.arrayValue, let age = facts.int("age_years"),
            let ld = facts.bool("learning_disability")
        else { return nil }
        indicators = Self.marksOf(.array(list)) ?? []
        vulnerabilities = facts.strings("vulnerabilities")
        ageYears = Int(age)
        learningDisability = ld
    }

    /// The facts of `indicators` as recorded.
    public static func json(_ marks: [Mark]) -> JSONValue {
        .array(marks.map { m in
            var o: [String: JSONValue] = ["code": .string(m.code)]
            if let t = m.timing { o["timing"] = .string(t.rawValue) }
            return .object(o)
        })
    }
}

/// The suggested level and why (DOMAIN.md "Risk levels and the suggested level").
public struct LevelSuggestion: Equatable, Sendable {
    public let level: RiskLevel
    /// One line per step that decided the level, in the order applied.
    public let reasons: [String]
    /// Whether an indicator in an urgent column (acute) is marked current: telephone MASH first.
    public let urgent: Bool

    /// The policy's suggested level for `s`:
    /// 1. the highest threshold column among indicators marked current (A codes without a
    ///    timing count as current);
    /// 2. indicators marked only prior count at most as the policy's `prior_only_cap` column;
    /// 3. a child under the policy's age (13), or a young person with a learning disability,
    ///    with any indicator is significant;
    /// 4. no indicator: none. Vulnerability factors never raise the level.
    public static func suggest(_ s: Screening, policy: PolicyDocument) -> LevelSuggestion {
        var level = RiskLevel.none
        var reasons: [String] = []
        var urgent = false
        let cap = policy.columnLevels[policy.priorOnlyCap] ?? .medium
        for mark in s.indicators {
            guard let ind = policy.indicators[mark.code], let columnLevel = policy.columnLevels[ind.column] else { continue }
            var l = columnLevel
            var why = "\(mark.code) (\(ind.label)) is in the \(ind.column) column"
            if mark.timing == .prior, l > cap {
                l = cap
                why += ", but marked prior to 6 months ago it counts as \(policy.priorOnlyCap) at most"
            } else if policy.urgentColumns.contains(ind.column) {
                urgent = true
            }
            if l > level {
                level = l
                reasons.append(why + ": \(l.rawValue)")
            }
        }
        if s.indicators.isEmpty {
            reasons.append("no risk indicators identified: consider CAF or close the case")
            if !s.vulnerabilities.isEmpty { reasons.append("vulnerability factors (\(s.vulnerabilities.joined(separator: ", "))) never raise the level on their own") }
            return LevelSuggestion(level: .none, reasons: reasons, urgent: false)
        }
        if s.ageYears < policy.significantUnderAge, level < .significant {
            level = .significant
            reasons.append("the child is under \(policy.significantUnderAge) and has indicators: significant (referral to MASH for child protection investigation)")
        }
        if s.learningDisability, policy.significantWithLearningDisability, level < .significant {
            level = .significant
            reasons.append("a young person with a learning disability with indicators: significant")
        }
        return LevelSuggestion(level: level, reasons: reasons, urgent: urgent)
    }
}

extension Screening {
    /// The indicator marks of a screening's `indicators` fact.
    public static func marksOf(_ v: JSONValue?) -> [Mark]? {
        v?.arrayValue?.compactMap { item in
            item["code"]?.stringValue.map { Mark($0, item["timing"]?.stringValue.flatMap(Timing.init(rawValue:))) }
        }
    }
}
