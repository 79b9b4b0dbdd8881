import SafeguardCore

/// What one member of `facts` may hold.
public indirect enum FieldKind: Sendable {
    case oneOf([String])
    /// An S or A indicator code of the policy in force.
    case indicator
    /// A V code of the policy in force.
    case vulnerability
    /// A D code of the policy in force.
    case disruption
    /// An agency code of the policy in force.
    case agency
    /// A case id that has been opened.
    case caseRef
    /// The event id of an earlier event in this ledger.
    case eventRef
    /// A pseudonymous reference (venue, vehicle, person of concern): the case-id alphabet.
    case reference
    /// `YYYY-MM-DD`
    case date
    /// `YYYY-MM`
    case month
    case bool
    case integer(ClosedRange<Int64>)
    case list(FieldKind, minCount: Int)
    /// `[{"code": "S1", "timing": "current"}, {"code": "A2"}]`: S codes need a timing.
    case screeningIndicators

    /// How the kind reads in an error message or in `--help`.
    public var summary: String {
        switch self {
        case .oneOf(let v): return "one of " + v.joined(separator: ", ")
        case .indicator: return "an indicator code (S1-S7, A1-A19)"
        case .vulnerability: return "a vulnerability code (V1-V5)"
        case .disruption: return "a disruption code (D1-D29)"
        case .agency: return "an agency code"
        case .caseRef: return "an opened case id"
        case .eventRef: return "the event id of an earlier event"
        case .reference: return "a pseudonymous reference such as VENUE-0042"
        case .date: return "a date YYYY-MM-DD"
        case .month: return "a month YYYY-MM"
        case .bool: return "true or false"
        case .integer(let r): return "a whole number from \(r.lowerBound) to \(r.upperBound)"
        case .list(let k, let n): return "a list (at least \(n)) of \(k.summary)"
        case .screeningIndicators: return "a list of {code, timing} where timing is current or prior (required for S codes)"
        }
    }
}

/// One member of an event type's `facts`. A class: every fact of every entry verified is
/// checked against one, so it is shared rather than copied.
public final class FieldSpec: Sendable {
    public let name: String
    public let kind: FieldKind
    public let required: Bool
    public let help: String

    public init(_ name: String, _ kind: FieldKind, required: Bool = true, _ help: String) {
        self.name = name; self.kind = kind; self.required = required; self.help = help
    }
}

/// The catalogue entry of one event type: its facts and the checks beyond their shapes.
public final class EventSpec: Sendable {
    public let type: String
    /// The toolkit's wording for what this records.
    public let summary: String
    public let fields: [FieldSpec]
    /// The fields' names.
    public let names: Set<String>
    /// How many of the fields are required.
    public let requiredCount: Int
    /// Checks that involve several fields or earlier events; each returns the problem found.
    public let rules: [Rule]

    /// A check across several fields or earlier events, with what it requires in words (the
    /// sentence docs/CATALOGUE.md gives for it).
    public struct Rule: Sendable {
        public let text: String
        let check: @Sendable (RuleInput) -> CatalogueError?
        public init(_ text: String, _ check: @escaping @Sendable (RuleInput) -> CatalogueError?) {
            self.text = text
            self.check = check
        }
    }

    public init(_ type: String, _ summary: String, _ fields: [FieldSpec], rules: [Rule] = []) {
        self.type = type; self.summary = summary; self.fields = fields; self.rules = rules
        names = Set(fields.map(\.name))
        requiredCount = fields.filter(\.required).count
    }

    public func field(_ name: String) -> FieldSpec? { fields.first { $0.name == name } }
}

/// What a rule sees: the event's facts and place, the policy in force, and the log before
/// the event through the context.
public struct RuleInput {
    public let facts: Facts
    /// The event's details; nil when they are not at hand (withheld), in which case rules
    /// about the details are not checked.
    public let details: [String: JSONValue]?
    /// The agency recording the event.
    public let agency: String
    public let caseID: String?
    public let occurredAt: Timestamp
    public let policy: PolicyDocument
    public let context: RecordingContext
}

/// Typed access to an event's facts.
public struct Facts: Sendable {
    public let values: [String: JSONValue]
    public init(_ values: [String: JSONValue]) { self.values = values }

    public subscript(_ k: String) -> JSONValue? { values[k] }
    public func string(_ k: String) -> String? { values[k]?.stringValue }
    public func bool(_ k: String) -> Bool? { values[k]?.boolValue }
    public func int(_ k: String) -> Int64? { values[k]?.integerValue }
    public func strings(_ k: String) -> [String] { values[k]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    public func day(_ k: String) -> Day? { string(k).flatMap(Day.init(iso:)) }
}

/// Why an event cannot be recorded: the field, what is wrong, and what is allowed.
public struct CatalogueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which of the catalogue's rules an event broke: its failure code in verification
    /// (docs/FORMAT.md §9, check 10).
    public enum Kind: String, Sendable, CaseIterable {
        /// A fact missing, unknown, or of the wrong kind or value; or facts that disagree.
        case facts = "invalid_facts"
        /// The case is not open (never opened, already open, or closed before the event).
        case caseState = "case_state"
        /// A referenced event is missing, of the wrong type or case, or happened later.
        case reference = "bad_reference"
        /// A fact only some agencies may record.
        case restricted = "restricted_fact"
        /// A correction of another agency's event, or of the log's governance.
        case correction = "not_own_event"
        /// A policy document the catalogue cannot read, or a case event under one.
        case policy = "invalid_policy"
        /// Under a policy that seals details, an agency recording on a case it is not
        /// entitled to (docs/FORMAT.md §3.5).
        case entitlement = "not_entitled"
    }

    public let field: String
    public let problem: String
    public let kind: Kind
    public init(_ field: String, _ problem: String, _ kind: Kind = .facts) { self.field = field; self.problem = problem; self.kind = kind }
    public var description: String { "\(field): \(problem)" }

    /// The same error as a rule of the log: what verification reports.
    public var violation: RuleViolation { .catalogue(code: kind.rawValue, field: field, problem: problem) }
}
