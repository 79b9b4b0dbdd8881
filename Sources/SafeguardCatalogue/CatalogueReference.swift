import SafeguardCore

extension Catalogue {
    /// The catalogue type by type, as docs/CATALOGUE.md gives it (between its `catalogue`
    /// markers; a test keeps the two the same): each type's facts, in the order they are
    /// checked, with their kinds, and the rules that follow, in order.
    public static func reference() -> String {
        var out: [String] = []
        for (family, types) in EventType.families {
            for verb in types {
                let type = "\(family).\(verb)"
                guard let spec = specs[type] else { continue }
                var lines = ["### `\(type)`", "", spec.summary.prefix(1).uppercased() + spec.summary.dropFirst() + ".", "", "| fact | required | kind | meaning |", "|---|---|---|---|"]
                for f in spec.fields {
                    lines.append("| `\(f.name)` | \(f.required ? "yes" : "no") | \(f.kind.documented) | \(f.help) |")
                }
                if !spec.rules.isEmpty {
                    lines.append("")
                    lines.append("Rules, in order:")
                    lines.append("")
                    for (i, r) in spec.rules.enumerated() { lines.append("\(i + 1). \(r.text)") }
                }
                out.append(lines.joined(separator: "\n"))
            }
        }
        return out.joined(separator: "\n\n") + "\n"
    }
}

extension FieldKind {
    /// The kind as docs/CATALOGUE.md states it: exactly what a value must be.
    var documented: String {
        switch self {
        case .oneOf(let v): return "one of " + v.map { "`\($0)`" }.joined(separator: ", ")
        case .indicator: return "an indicator: a `code` of the policy's `indicators`"
        case .vulnerability: return "a `code` of the policy's `vulnerabilities`"
        case .disruption: return "a `code` of the policy's `disruptions`"
        case .agency: return "an agency: a member of the policy's `permissions`"
        case .caseRef: return "a case id (of the form FORMAT.md §3 gives `case_id`) of a case that has been opened (`case_state` if never)"
        case .eventRef: return "an event id (a lowercase UUID, section 1)"
        case .reference: return "a reference: 1-64 characters `A-Z a-z 0-9 . _ -`, starting with a letter or digit"
        case .date: return "a date `YYYY-MM-DD` that exists"
        case .month: return "a month `YYYY-MM` (7 characters) whose first day exists"
        case .bool: return "`true` or `false`"
        case .integer(let r): return "an integer from \(r.lowerBound) to \(r.upperBound)"
        case .list(let inner, let n): return "an array of at least \(n), each " + inner.documented + "; no string twice"
        case .screeningIndicators:
            return "an array of objects with `code` (an indicator) and, exactly for indicators of the `significant` set, `timing` (`current` or `prior`); no other member, no code twice"
        }
    }
}
