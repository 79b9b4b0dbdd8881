import ArgumentParser
import SafeguardCatalogue
import SafeguardCore

/// Shell completion for the record flags: the values each flag takes, in the flag's own
/// spelling (`face-to-face`), read from the catalogue and the built-in toolkit policy so that
/// they never drift from what `record` accepts.
enum Choices {
    /// The values of `field` of `type` (e.g. `sharing.shared`, `lawful_basis`).
    static func fact(_ type: String, _ field: String) -> CompletionKind {
        .list(values(type, field))
    }

    /// Several facts' values (a flag that stands for whichever fact the kind needs).
    static func facts(_ pairs: (String, String)...) -> CompletionKind {
        var seen = Set<String>()
        return .list(pairs.flatMap { values($0.0, $0.1) }.filter { seen.insert($0).inserted })
    }

    /// The types of a family as a flag names them (`decision` → `mash`, `s17`, …, `cin-plan`).
    static func kinds(_ family: String) -> CompletionKind {
        .list(EventType.families.first { $0.family == family }.map { $0.types.map(flag) } ?? [])
    }

    static let agency = CompletionKind.list(PolicyDocument.toolkit.permissions.agencies)
    static let bool = CompletionKind.list(["true", "false"])
    static let levels = CompletionKind.list(Catalogue.levels)
    static let indicators = CompletionKind.list(PolicyDocument.toolkit.indicatorOrder)
    static let vulnerabilities = CompletionKind.list(PolicyDocument.toolkit.vulnerabilityOrder)
    static let disruptions = CompletionKind.list(PolicyDocument.toolkit.disruptionOrder)
    /// `given`, `refused`, or `not-sought:REASON` (and `yes` / `no:REASON` for `--subject-told`).
    static func consent(_ yes: [String], _ no: String) -> CompletionKind {
        .list(yes + values("sharing.shared", "consent_not_sought_reason").map { "\(no):\($0)" })
    }

    static func values(_ type: String, _ field: String) -> [String] {
        guard let kind = Catalogue.specs[type]?.fields.first(where: { $0.name == field })?.kind else {
            preconditionFailure("no fact \(field) in \(type)")
        }
        return values(kind)
    }

    private static func values(_ kind: FieldKind) -> [String] {
        switch kind {
        case .oneOf(let v): return v.map(flag)
        case .list(let k, _): return values(k)
        case .agency: return PolicyDocument.toolkit.permissions.agencies
        case .indicator: return PolicyDocument.toolkit.indicatorOrder
        case .vulnerability: return PolicyDocument.toolkit.vulnerabilityOrder
        case .disruption: return PolicyDocument.toolkit.disruptionOrder
        case .bool: return ["true", "false"]
        default: return []
        }
    }

    private static func flag(_ value: String) -> String { value.replacingOccurrences(of: "_", with: "-") }
}
