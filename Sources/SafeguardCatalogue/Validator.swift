import SafeguardCore

extension Catalogue {
    /// Types whose facts the log's own rules check (SafeguardCore's `LedgerState`).
    static let checkedByTheLog: Set<String> = LogType.logGovernance.subtracting([LogType.policySet])

    /// The case facts the rules read (`RecordingContext.caseFact`): all a verifier keeps of a
    /// case's facts (`CaseBook`).
    public static let caseFactsRead = ["birth_month", "learning_disability", "police_cris_recorded"]

    /// An event as the catalogue sees it: its type, case, times, facts, details (nil when not
    /// at hand) and the agency recording it.
    public struct Entry: Sendable {
        public var type: String
        public var caseID: String?
        public var occurredAt: Timestamp
        public var recordedAt: Timestamp
        public var facts: [String: JSONValue]
        public var details: [String: JSONValue]?
        public var agency: String

        public init(type: String, caseID: String?, occurredAt: Timestamp, recordedAt: Timestamp, facts: [String: JSONValue],
                    details: [String: JSONValue]?, agency: String) {
            self.type = type; self.caseID = caseID; self.occurredAt = occurredAt; self.recordedAt = recordedAt
            self.facts = facts; self.details = details; self.agency = agency
        }

        /// `envelope` with `details`.
        public init(_ envelope: Envelope, details: [String: JSONValue]?) {
            self.init(type: envelope.type, caseID: envelope.caseID, occurredAt: envelope.occurredAt, recordedAt: envelope.recordedAt,
                      facts: envelope.facts, details: details, agency: envelope.actor.agency)
        }
    }

    /// The event catalogue's rules for `entry` (docs/FORMAT.md §7.1), under `policy`, the
    /// policy document in force before it (nil when none is, or when the policy in force
    /// carries no catalogue: then only the log's own rules apply), with `context` answering
    /// for the log before it. Throws the first problem, naming the field and what is allowed.
    /// Append calls this before signing; verification calls it for every entry, so what one
    /// refuses the other rejects.
    public static func check(_ entry: Entry, policy: PolicyDocument?, context: RecordingContext) throws(CatalogueError) {
        if entry.type == LogType.policySet {
            // A policy every later record will be checked against must itself be readable.
            do { _ = try PolicyDocument.catalogue(of: entry.facts["policy"] ?? .null) } catch {
                throw CatalogueError("facts.policy", "\(error)", .policy)
            }
            // Every grant names a type or family the catalogue defines (the log's rules check
            // only that it is shaped as one, and is not the log's own).
            if let permissions = try? Policy(json: entry.facts["policy"] ?? .null), let (agency, grant) = EventType.unknownGrant(in: permissions) {
                throw CatalogueError("facts.policy.permissions.\(agency)", "\"\(grant)\" is not a grantable event type or family", .policy)
            }
            return
        }
        guard let policy else { return }
        guard let spec = specs[entry.type] else {
            if checkedByTheLog.contains(entry.type) { return }
            throw CatalogueError("type", "\(entry.type) has no catalogue entry")
        }
        guard entry.occurredAt <= entry.recordedAt else {
            throw CatalogueError("occurred_at", "\(entry.occurredAt) is in the future (it is now \(entry.recordedAt)); give the time it happened, with its time-zone offset")
        }
        // `historic`, a fact of any event of a case under a policy with recording checks.
        var facts = entry.facts
        if policy.recordingChecks != nil, let h = facts.removeValue(forKey: "historic") {
            guard h.boolValue == true, entry.caseID != nil, entry.type != "case.opened" else {
                throw CatalogueError("facts.historic", "must be true, and only on an event of an open case other than its opening (--historic REASON)")
            }
            // Its reason, when the details are at hand (a copy without them is checked without it).
            if let details = entry.details, !(details["historic_reason"]?.stringValue.map(Rules.isVisible) ?? false) {
                throw CatalogueError("details.historic_reason", "is required when historic is true: say why it is recorded now (--historic REASON)")
            }
        }
        // Every fact in one pass over the facts, each field found by name among the type's few
        // (no hashing: verification does this for every entry); on any problem, the checks
        // again in the documented order, so that the first problem is the one reported.
        if !factsHold(facts, spec, policy: policy, context: context) {
            if facts.keys.contains(where: { !spec.names.contains($0) }) {
                let key = facts.keys.sorted().first { !spec.names.contains($0) }!
                throw CatalogueError("facts.\(key)", "is not a fact of \(entry.type); its facts are \(spec.fields.map(\.name).joined(separator: ", ")) (names and narrative go in details)")
            }
            for field in spec.fields {
                guard let value = facts[field.name] else {
                    if field.required { throw CatalogueError("facts.\(field.name)", "is missing: \(field.help); \(field.kind.summary)") }
                    continue
                }
                try check(value, field.kind, path: "facts.\(field.name)", policy: policy, context: context)
            }
        }
        if let caseID = entry.caseID {
            if let at = context.caseRecord(caseID)?.destroyedAt {
                throw CatalogueError("case_id", "case \(caseID)'s details were destroyed under a retention review recorded at \(at): nothing more is recorded on it; if the child comes to notice again, open a new case with a new id", .caseState)
            }
            switch (context.caseStatus(caseID), entry.type) {
            case (.open, "case.opened"):
                throw CatalogueError("case_id", "case \(caseID) is already open; record case-update to change its facts", .caseState)
            case (.neverOpened, let t) where t != "case.opened":
                throw CatalogueError("case_id", "case \(caseID) was never opened: record case-open first (check the case id)", .caseState)
            case (.closed(let at), let t) where t != "case.opened" && t != "correction.recorded" && t != "access.consulted" && entry.occurredAt > at:
                throw CatalogueError("case_id", "case \(caseID) was closed at \(at): reopen it with case-open to record what happened since (events from before the closure may still be recorded)", .caseState)
            default: break
            }
        }
        for r in policy.restrictions where r.type == entry.type && !r.agencies.contains(entry.agency) {
            guard let v = entry.facts[r.field] else { continue }
            if let values = r.values, let s = v.stringValue, !values.contains(s) { continue }
            throw CatalogueError("facts.\(r.field)", "\(r.why): agency \(entry.agency) may not record it (allowed: \(r.agencies.joined(separator: ", ")))", .restricted)
        }
        if let checks = policy.recordingChecks, let problem = Rules.withinCase(entry, checks, context) { throw problem }
        let input = RuleInput(facts: Facts(facts), details: entry.details, agency: entry.agency, caseID: entry.caseID,
                              occurredAt: entry.occurredAt, policy: policy, context: context)
        for rule in spec.rules {
            if let problem = rule.check(input) { throw problem }
        }
        if let rules = policy.identifiers { try Self.identifiers(entry, spec, rules) }
    }

    /// Under a policy with `identifiers`: a new case's id, and every reference fact, has the
    /// partnership's shape, and the borough is one of its codes (docs/CATALOGUE.md).
    static func identifiers(_ entry: Entry, _ spec: EventSpec, _ rules: PolicyDocument.IdentifierRules) throws(CatalogueError) {
        let advice = "identifying data (names, dates of birth, addresses) goes in the details (--note), never in an id or a reference"
        func caseShape(_ id: String, _ field: String) throws(CatalogueError) {
            guard Identifiers.follows(id, prefixes: rules.caseIDPrefixes, lettersAllowed: false) else {
                throw CatalogueError(field, "\"\(id.prefix(64))\" is not a case id of this partnership (\(rules.caseIDPrefixes.joined(separator: " or ")) then digits, e.g. \(rules.caseIDPrefixes[0])2026-0001): \(advice)")
            }
        }
        if entry.type == "case.opened", let c = entry.caseID { try caseShape(c, "case_id") }
        for field in spec.fields {
            let values: [String]
            switch field.kind {
            case .reference: values = entry.facts[field.name]?.stringValue.map { [$0] } ?? []
            case .list(.reference, _): values = entry.facts[field.name]?.arrayValue?.compactMap(\.stringValue) ?? []
            default: continue
            }
            for v in values {
                if field.name == "borough" {
                    guard rules.boroughs.contains(v) else {
                        throw CatalogueError("facts.borough", "\"\(v.prefix(64))\" is not one of the partnership's borough codes: \(rules.boroughs.sorted().joined(separator: ", "))")
                    }
                } else if field.name == "target", entry.facts["link_kind"]?.stringValue == "other_case" {
                    try caseShape(v, "facts.target")
                } else if !Identifiers.follows(v, prefixes: rules.referencePrefixes, lettersAllowed: true) {
                    throw CatalogueError("facts.\(field.name)", "\"\(v.prefix(64))\" is not a reference of this partnership (\(rules.referencePrefixes.joined(separator: ", ")) then digits, e.g. \(rules.referencePrefixes[0])0012): \(advice)")
                }
            }
        }
    }

    /// Whether `facts` has only facts of `spec`, every required one, each of its kind.
    static func factsHold(_ facts: [String: JSONValue], _ spec: EventSpec, policy: PolicyDocument, context: RecordingContext) -> Bool {
        var required = 0
        for (name, value) in facts {
            guard let field = spec.fields.first(where: { $0.name == name }) else { return false }
            do { try check(value, field.kind, path: "", policy: policy, context: context) } catch { return false }
            if field.required { required += 1 }
        }
        return required == spec.requiredCount
    }

    /// `check` for a draft about to be recorded by `agency` at `now`.
    public static func validate(_ draft: EventDraft, agency: String, now: Timestamp, policy: PolicyDocument?, context: RecordingContext) throws(CatalogueError) {
        try check(Entry(type: draft.type, caseID: draft.caseID, occurredAt: draft.occurredAt, recordedAt: now, facts: draft.facts,
                        details: draft.details, agency: agency), policy: policy, context: context)
    }

    /// Checks one value against its kind. `path` (where the value is, for the error) is only
    /// built when something is wrong: verification checks every fact of every entry.
    static func check(_ v: JSONValue, _ kind: FieldKind, path: @autoclosure () -> String, policy: PolicyDocument, context: RecordingContext) throws(CatalogueError) {
        func string() throws(CatalogueError) -> String {
            guard let s = v.stringValue else { throw CatalogueError(path(), "must be \(kind.summary), found \(v.kindName)") }
            return s
        }
        func code(_ known: Bool, _ s: String, _ allowed: [String], _ what: String) throws(CatalogueError) {
            guard known else { throw CatalogueError(path(), "\"\(s.prefix(64))\" is not \(what); allowed: \(allowed.joined(separator: ", "))") }
        }
        switch kind {
        case .oneOf(let allowed):
            let s = try string()
            try code(allowed.contains(s), s, allowed, "an allowed value")
        case .indicator:
            let s = try string()
            try code(policy.indicators[s] != nil, s, policy.indicatorOrder, "an indicator code of policy \(policy.name) v\(policy.version)")
        case .vulnerability:
            let s = try string()
            try code(policy.vulnerabilities[s] != nil, s, policy.vulnerabilityOrder, "a vulnerability code")
        case .disruption:
            let s = try string()
            try code(policy.disruptions[s] != nil, s, policy.disruptionOrder, "a disruption tactic code")
        case .agency:
            let s = try string()
            try code(policy.permissions.permissions[s] != nil, s, policy.permissions.agencies, "an agency of the policy")
        case .caseRef:
            let s = try string()
            do { try Validate.caseID(s, field: "") } catch { throw CatalogueError(path(), error.problem) }
            if context.caseStatus(s) == .neverOpened { throw CatalogueError(path(), "case \(s) was never opened", .caseState) }
        case .reference:
            do { try Validate.caseID(try string(), field: "") } catch { throw CatalogueError(path(), "must be a reference of 1-64 characters A-Z, a-z, 0-9, '.', '_' or '-'") }
        case .eventRef:
            guard Validate.isUUID(try string()) else { throw CatalogueError(path(), "must be an event id (a lowercase UUID, as 'safeguard log' shows)") }
        case .date:
            guard Day(iso: try string()) != nil else { throw CatalogueError(path(), "must be a real date YYYY-MM-DD") }
        case .month:
            let s = try string()
            guard Day.isMonth(s) else { throw CatalogueError(path(), "must be a month YYYY-MM") }
        case .bool:
            guard v.boolValue != nil else { throw CatalogueError(path(), "must be true or false, found \(v.kindName)") }
        case .integer(let r):
            guard let i = v.integerValue, r.contains(i) else { throw CatalogueError(path(), "must be \(kind.summary)") }
        case .list(let inner, let minCount):
            guard let items = v.arrayValue else { throw CatalogueError(path(), "must be \(kind.summary), found \(v.kindName)") }
            guard items.count >= minCount else { throw CatalogueError(path(), "needs at least \(minCount) item(s)") }
            var seen: [String] = []
            for (i, item) in items.enumerated() {
                try check(item, inner, path: "\(path())[\(i)]", policy: policy, context: context)
                if let s = item.stringValue {
                    if seen.contains(s) { throw CatalogueError(path(), "lists \(s) twice") }
                    seen.append(s)
                }
            }
        case .screeningIndicators:
            guard let items = v.arrayValue else { throw CatalogueError(path(), "must be \(kind.summary)") }
            var seen: Set<String> = []
            for (i, item) in items.enumerated() {
                func p() -> String { "\(path())[\(i)]" }
                guard let o = item.objectValue else { throw CatalogueError(p(), "must be an object {\"code\": …, \"timing\": …}") }
                for k in o.keys where k != "code" && k != "timing" { throw CatalogueError("\(p()).\(k)", "is not allowed; an indicator has code and timing only (comments go in details)") }
                try check(o["code"] ?? .null, .indicator, path: "\(p()).code", policy: policy, context: context)
                let c = o["code"]!.stringValue!
                guard seen.insert(c).inserted else { throw CatalogueError(path(), "lists \(c) twice") }
                let significant = policy.indicators[c]?.set == "significant"
                if let t = o["timing"] {
                    guard significant else {
                        throw CatalogueError("\(p()).timing", "\(c) is an additional indicator: the tool ticks it without a timing; only S codes are marked current or prior")
                    }
                    try check(t, .oneOf(timing), path: "\(p()).timing", policy: policy, context: context)
                } else if significant {
                    throw CatalogueError("\(p()).timing", "\(c) is a significant risk indicator: mark it current (within the past 6 months) or prior (before that)")
                }
            }
        }
    }
}
