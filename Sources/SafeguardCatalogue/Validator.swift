import SafeguardCore

extension Catalogue {
    /// Types whose facts the log's own rules check (SafeguardCore's `LedgerState`).
    static let checkedByTheLog: Set<String> = [EventType.genesis, EventType.keyEnrolled, EventType.keyRevoked, EventType.policySet]

    /// Checks `draft`, recorded by `agency`, against the catalogue and the ledger as `context`
    /// describes it. Throws the first problem, naming the field and what is allowed.
    public static func validate(_ draft: EventDraft, agency: String, context: RecordingContext) throws(CatalogueError) {
        if draft.type == EventType.policySet {
            // A policy every later record will be checked against must itself be readable.
            do { _ = try PolicyDocument(json: draft.facts["policy"] ?? .null) } catch {
                throw CatalogueError("facts.policy", "\(error)")
            }
            return
        }
        if checkedByTheLog.contains(draft.type) { return }
        guard let spec = specs[draft.type] else { throw CatalogueError("type", "\(draft.type) has no catalogue entry") }
        guard draft.occurredAt <= context.now else {
            throw CatalogueError("occurred_at", "\(draft.occurredAt) is in the future (it is now \(context.now)); give the time it happened, with its time-zone offset")
        }
        for key in draft.facts.keys.sorted() where spec.field(key) == nil {
            throw CatalogueError("facts.\(key)", "is not a fact of \(draft.type); its facts are \(spec.fields.map(\.name).joined(separator: ", ")) (names and narrative go in details)")
        }
        for field in spec.fields {
            guard let value = draft.facts[field.name] else {
                if field.required { throw CatalogueError("facts.\(field.name)", "is missing: \(field.help); \(field.kind.summary)") }
                continue
            }
            try check(value, field.kind, path: "facts.\(field.name)", context: context)
        }
        if let caseID = draft.caseID {
            switch (context.caseStatus(caseID), draft.type) {
            case (.open, "case.opened"):
                throw CatalogueError("case_id", "case \(caseID) is already open; record case-update to change its facts")
            case (.neverOpened, let t) where t != "case.opened":
                throw CatalogueError("case_id", "case \(caseID) was never opened: record case-open first (check the case id)")
            case (.closed(let at), let t) where t != "case.opened" && t != "correction.recorded" && draft.occurredAt > at:
                throw CatalogueError("case_id", "case \(caseID) was closed at \(at): reopen it with case-open to record what happened since (events from before the closure may still be recorded)")
            default: break
            }
        }
        for r in context.policy.restrictions where r.type == draft.type && !r.agencies.contains(agency) {
            guard let v = draft.facts[r.field] else { continue }
            if let values = r.values, let s = v.stringValue, !values.contains(s) { continue }
            throw CatalogueError("facts.\(r.field)", "\(r.why): agency \(agency) may not record it (allowed: \(r.agencies.joined(separator: ", ")))")
        }
        let input = RuleInput(facts: Facts(draft.facts), details: draft.details, agency: agency, caseID: draft.caseID,
                              occurredAt: draft.occurredAt, context: context)
        for rule in spec.rules {
            if let problem = rule(input) { throw problem }
        }
    }

    static func check(_ v: JSONValue, _ kind: FieldKind, path: String, context: RecordingContext) throws(CatalogueError) {
        let policy = context.policy
        func string() throws(CatalogueError) -> String {
            guard let s = v.stringValue else { throw CatalogueError(path, "must be \(kind.summary), found \(v.kindName)") }
            return s
        }
        func code(_ known: [String], _ what: String) throws(CatalogueError) {
            let s = try string()
            guard known.contains(s) else { throw CatalogueError(path, "\"\(s.prefix(40))\" is not \(what); allowed: \(known.joined(separator: ", "))") }
        }
        switch kind {
        case .oneOf(let allowed): try code(allowed, "an allowed value")
        case .indicator: try code(policy.indicatorOrder, "an indicator code of policy \(policy.name) v\(policy.version)")
        case .vulnerability: try code(policy.vulnerabilityOrder, "a vulnerability code")
        case .disruption: try code(policy.disruptionOrder, "a disruption tactic code")
        case .agency: try code(policy.permissions.agencies, "an agency of the policy")
        case .caseRef:
            let s = try string()
            do { try Validate.caseID(s, field: path) } catch { throw CatalogueError(path, error.problem) }
            if context.caseStatus(s) == .neverOpened { throw CatalogueError(path, "case \(s) was never opened") }
        case .reference:
            do { try Validate.caseID(try string(), field: path) } catch { throw CatalogueError(path, "must be a reference of 1-64 characters A-Z, a-z, 0-9, '.', '_' or '-'") }
        case .eventRef:
            guard Validate.isUUID(try string()) else { throw CatalogueError(path, "must be an event id (a lowercase UUID, as 'safeguard log' shows)") }
        case .date:
            guard Day(iso: try string()) != nil else { throw CatalogueError(path, "must be a real date YYYY-MM-DD") }
        case .month:
            let s = try string()
            guard s.utf8.count == 7, Day(iso: s + "-01") != nil else { throw CatalogueError(path, "must be a month YYYY-MM") }
        case .bool:
            guard v.boolValue != nil else { throw CatalogueError(path, "must be true or false, found \(v.kindName)") }
        case .integer(let r):
            guard let i = v.integerValue, r.contains(i) else { throw CatalogueError(path, "must be \(kind.summary)") }
        case .list(let inner, let minCount):
            guard let items = v.arrayValue else { throw CatalogueError(path, "must be \(kind.summary), found \(v.kindName)") }
            guard items.count >= minCount else { throw CatalogueError(path, "needs at least \(minCount) item(s)") }
            var seen: [String] = []
            for (i, item) in items.enumerated() {
                try check(item, inner, path: "\(path)[\(i)]", context: context)
                if let s = item.stringValue {
                    if seen.contains(s) { throw CatalogueError(path, "lists \(s) twice") }
                    seen.append(s)
                }
            }
        case .screeningIndicators:
            guard let items = v.arrayValue else { throw CatalogueError(path, "must be \(kind.summary)") }
            var seen: Set<String> = []
            for (i, item) in items.enumerated() {
                let p = "\(path)[\(i)]"
                guard let o = item.objectValue else { throw CatalogueError(p, "must be an object {\"code\": …, \"timing\": …}") }
                for k in o.keys where k != "code" && k != "timing" { throw CatalogueError("\(p).\(k)", "is not allowed; an indicator has code and timing only (comments go in details)") }
                try check(o["code"] ?? .null, .indicator, path: "\(p).code", context: context)
                let c = o["code"]!.stringValue!
                guard seen.insert(c).inserted else { throw CatalogueError(path, "lists \(c) twice") }
                let significant = policy.indicators[c]?.set == "significant"
                if let t = o["timing"] {
                    guard significant else {
                        throw CatalogueError("\(p).timing", "\(c) is an additional indicator: the tool ticks it without a timing; only S codes are marked current or prior")
                    }
                    try check(t, .oneOf(timing), path: "\(p).timing", context: context)
                } else if significant {
                    throw CatalogueError("\(p).timing", "\(c) is a significant risk indicator: mark it current (within the past 6 months) or prior (before that)")
                }
            }
        }
    }
}
