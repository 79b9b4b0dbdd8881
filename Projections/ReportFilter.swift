import GRDB
import SafeguardCatalogue
import SafeguardCore

/// An age band a report groups children by, and a filter can choose: the youngest the child can
/// be on the report's last day (only the birth month is recorded).
public enum AgeBand: String, CaseIterable, Sendable {
    case under13 = "under-13", from13to15 = "13-15", from16to17 = "16-17", adult = "18+", unknown

    public init(birthMonth: String?, on day: Day) {
        guard let age = birthMonth.flatMap({ Age.youngest(birthMonth: $0, on: day) }) else { self = .unknown; return }
        self = age < 13 ? .under13 : age < 16 ? .from13to15 : age < 18 ? .from16to17 : .adult
    }

    /// As a report writes it.
    public var label: String { self == .under13 ? "under 13" : rawValue }
}

/// Which children a report counts: those of a borough, an age band, a gender, and known to an
/// agency (any combination; none means every child). Every figure of a filtered report is
/// over the chosen children's records only.
public struct ReportFilter: Sendable, Equatable {
    public var borough: String?
    public var ageBand: AgeBand?
    /// A `gender` value of `case.opened` (`non_binary`, or as a flag writes it, `non-binary`).
    public var gender: String?
    /// Children the agency had recorded anything about by the report's last day.
    public var agency: String?

    public init(borough: String? = nil, ageBand: AgeBand? = nil, gender: String? = nil, agency: String? = nil) {
        self.borough = borough; self.ageBand = ageBand
        self.gender = gender?.replacingOccurrences(of: "-", with: "_"); self.agency = agency
    }

    public var isEmpty: Bool { borough == nil && ageBand == nil && gender == nil && agency == nil }

    /// The genders a filter can name, as the catalogue's `case.opened` defines them.
    public static let genders: [String] = {
        guard case .oneOf(let values)? = Catalogue.specs["case.opened"]?.fields.first(where: { $0.name == "gender" })?.kind else { return [] }
        return values
    }()

    /// What is wrong with the filter under `policy` (nil when nothing is), in the flags' words.
    public func problem(policy: PolicyDocument) -> String? {
        if let gender, !Self.genders.contains(gender) {
            return "--gender: \"\(gender.replacingOccurrences(of: "_", with: "-"))\" is not a gender a case records; choose one of "
                + Self.genders.map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", ")
        }
        if let agency, !policy.permissions.agencies.contains(agency) {
            return "--agency: \"\(agency)\" is not an agency of policy \(policy.name); choose one of " + policy.permissions.agencies.joined(separator: ", ")
        }
        return nil
    }

    /// The filter in words, for a report's header ("" when it chooses every child).
    public var phrase: String {
        var parts: [String] = []
        if let borough { parts.append("in borough \(borough)") }
        if let ageBand { parts.append("aged \(ageBand.label) at the end") }
        if let gender { parts.append("of gender \(gender.replacingOccurrences(of: "_", with: " "))") }
        if let agency { parts.append("known to \(agency)") }
        return parts.isEmpty ? "" : "children " + parts.joined(separator: ", ")
    }
}

/// The children a filtered report counts, as the SQL of its queries reads them.
struct Chosen {
    /// nil: every child.
    let cases: Set<String>?

    static let every = Chosen(cases: nil)

    /// `AND` the row's `column` names a chosen child ("" when every child is).
    func and(_ column: String) -> String { cases == nil ? "" : " AND sg_chosen(\(column))" }

    func contains(_ caseID: String) -> Bool { cases?.contains(caseID) ?? true }

    /// Makes `sg_chosen(case_id)` known to `db` (before a query that uses `and`).
    func register(in db: Database) {
        guard let cases else { return }
        db.add(function: DatabaseFunction("sg_chosen", argumentCount: 1, pure: true) { values in
            guard let id = String.fromDatabaseValue(values[0]) else { return false }
            return cases.contains(id)
        })
    }
}

extension ProjectionEngine {
    /// The children `filter` chooses on `day` (the report's last day: the age band is worked
    /// out on it, and an agency must have recorded about the child by then). A child's
    /// borough, gender and birth month are the latest recorded.
    func chosen(_ filter: ReportFilter, on day: Day) throws -> Chosen {
        guard !filter.isEmpty else { return .every }
        return try read { db in
            var sql = "SELECT case_id, birth_month FROM cases c WHERE 1"
            var args: [DatabaseValueConvertible?] = []
            if let borough = filter.borough { sql += " AND borough = ?"; args.append(borough) }
            if let gender = filter.gender { sql += " AND gender = ?"; args.append(gender) }
            if let agency = filter.agency {
                sql += " AND EXISTS (SELECT 1 FROM audit_events e WHERE e.case_id = c.case_id AND e.agency = ? AND e.recorded_day <= ?)"
                args += [agency, day.description]
            }
            var out = Set<String>()
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
            while let r = try rows.next() {
                if let band = filter.ageBand, AgeBand(birthMonth: r["birth_month"], on: day) != band { continue }
                out.insert(r["case_id"])
            }
            return Chosen(cases: out)
        }
    }

    /// Reads with `chosen`'s function registered.
    func read<T>(_ chosen: Chosen, _ body: (Database) throws -> T) throws -> T {
        try read { db in
            chosen.register(in: db)
            return try body(db)
        }
    }

    /// The boroughs the read models' cases name, for an error that lists them.
    public func boroughs() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT DISTINCT borough FROM cases WHERE borough IS NOT NULL ORDER BY 1") }
    }
}

extension ProjectionEngine {
    /// The header line of a filtered report: which children, and how many.
    static func filterNote(_ filter: ReportFilter, chosen: Chosen) -> String {
        let n = chosen.cases?.count ?? 0
        return "Only \(filter.phrase): \(n) child\(n == 1 ? "" : "ren") (borough, gender and birth month as last recorded)."
            + (n == 0 ? " No child matches: check the filter's values." : "")
    }
}
