import SafeguardCore

/// A report: titled sections of rows, with what it was built from. Renders as text, Markdown,
/// CSV (long format: section,row,column,value, one value per line, so every section fits one
/// sheet) or JSON.
public struct Report: Sendable {
    public struct Section: Sendable {
        public let title: String
        public let columns: [String]
        public var rows: [[String]]
        /// Networks the section's figures describe, drawn on a page (`html`) beside its table.
        public var graphs: [Graph] = []
        /// How a page (`html`) charts it.
        public var chart: Chart = .bars
        public init(_ title: String, _ columns: [String], _ rows: [[String]] = []) {
            self.title = title; self.columns = columns; self.rows = rows
        }
    }

    /// `bars`: a bar a row, by the last column (or a bar a column, for one row). `trend`: rows
    /// are periods (the first column); a small line chart for each other column.
    public enum Chart: Sendable { case bars, trend }

    /// A network: nodes (children by pseudonymous case id, and what links them) and edges.
    public struct Graph: Sendable {
        public struct Node: Sendable {
            public let id: String
            public let label: String
            /// `child`, or the kind of what links children (`location`, `vehicle`, `person of concern`).
            public let kind: String
        }
        public let title: String
        public let nodes: [Node]
        /// Pairs of indexes into `nodes`.
        public let edges: [(Int, Int)]
    }

    public let title: String
    /// "log size N, head H, digests …": every figure can be re-derived from that log.
    public let builtFrom: [(String, String)]
    public var sections: [Section]
    /// What a reader must know to read the figures (how late records are treated), under the title.
    public var notes: [String] = []
    /// The few figures a page shows first (`html`), each also in a section.
    public var headline: [(label: String, value: String)] = []

    public init(title: String, builtFrom: [(String, String)], sections: [Section]) {
        self.title = title; self.builtFrom = builtFrom; self.sections = sections
    }

    public enum Format: String, CaseIterable, Sendable {
        case text, md, csv, json, html
        /// Each section as its own table (a title line, its header, its rows, a blank line), for
        /// pivots in a spreadsheet; `csv` is the long form.
        case csvWide = "csv-wide"
    }

    /// A CSV cell: quoted when it needs to be, and a leading = + - @ neutralised so that no cell
    /// runs as a formula in a spreadsheet.
    static func csvCell(_ raw: String) -> String {
        let s = raw.first.map { "=+-@".contains($0) } == true && Int(raw) == nil ? "'" + raw : raw
        return s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func csvLine(_ cells: [String]) -> String { cells.map(csvCell).joined(separator: ",") + "\n" }

    /// The first `n` of `ids`, then how many more there are: a list that always fits a line.
    public static func capped(_ ids: [String], _ n: Int = 5) -> String {
        capped(ids, n, of: ids.count)
    }

    /// The first `n` of `ids`, then how many more of `total` there are (for a list kept only in part).
    public static func capped(_ ids: [String], _ n: Int, of total: Int) -> String {
        ids.prefix(n).joined(separator: " ") + (total > min(n, ids.count) ? " and \(total - min(n, ids.count)) more" : "")
    }

    /// Whether every non-empty cell of column `i` is a whole number written plainly (JSON gives
    /// those as numbers, and an empty cell as null).
    static func isNumeric(_ rows: [[String]], _ i: Int) -> Bool {
        var any = false
        for r in rows where !r[i].isEmpty {
            guard let n = Int64(r[i]), String(n) == r[i] else { return false }
            any = true
        }
        return any
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .html:
            return ReportPage.render(self, headline: headline)
        case .text:
            var out = title + "\n" + notes.map { $0 + "\n" }.joined() + builtFrom.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\n"
            for s in sections {
                out += "\n" + s.title + "\n"
                let widths = s.columns.indices.map { i in max(s.columns[i].count, s.rows.map { $0[i].count }.max() ?? 0) }
                func line(_ cells: [String]) -> String {
                    cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                }
                out += "  " + line(s.columns) + "\n"
                if s.rows.isEmpty { out += "  (none)\n" }
                for r in s.rows { out += "  " + line(r) + "\n" }
            }
            return out
        case .md:
            var out = "# " + title + "\n\n" + notes.map { $0 + "\n\n" }.joined() + builtFrom.map { "- \($0.0): `\($0.1)`" }.joined(separator: "\n") + "\n"
            for s in sections {
                out += "\n## " + s.title + "\n\n| " + s.columns.joined(separator: " | ") + " |\n|" + s.columns.map { _ in "---" }.joined(separator: "|") + "|\n"
                for r in s.rows { out += "| " + r.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }
                if s.rows.isEmpty { out += "| " + s.columns.map { _ in "" }.joined(separator: " | ") + " |\n" }
            }
            return out
        case .csvWide:
            var out = Self.csvLine([title]) + notes.map { Self.csvLine([$0]) }.joined() + builtFrom.map { Self.csvLine([$0.0, $0.1]) }.joined()
            for s in sections {
                out += "\n" + Self.csvLine([s.title]) + Self.csvLine(s.columns) + s.rows.map(Self.csvLine).joined()
            }
            return out
        case .csv:
            let q = Self.csvCell
            var out = "section,row,column,value\n"
            for (k, v) in builtFrom { out += "built from,0,\(q(k)),\(q(v))\n" }
            for s in sections {
                for (n, r) in s.rows.enumerated() {
                    for (i, c) in s.columns.enumerated() { out += "\(q(s.title)),\(n + 1),\(q(c)),\(q(r[i]))\n" }
                }
            }
            return out
        case .json:
            let v: JSONValue = .object([
                "title": .string(title),
                "notes": .array(notes.map(JSONValue.string)),
                "built_from": .object(Dictionary(uniqueKeysWithValues: builtFrom.map { ($0.0, JSONValue.string($0.1)) })),
                "sections": .array(sections.map { s in
                    let numeric = s.columns.indices.map { Self.isNumeric(s.rows, $0) }
                    return .object(["title": .string(s.title), "rows": .array(s.rows.map { r in
                        .object(Dictionary(s.columns.indices.map { i in
                            (s.columns[i], numeric[i] ? (Int64(r[i]).map(JSONValue.integer) ?? .null) : JSONValue.string(r[i]))
                        }, uniquingKeysWith: { first, _ in first }))
                    })])
                }),
            ])
            return String(decoding: (try? CanonicalJSON.encode(v)) ?? [], as: UTF8.self) + "\n"
        }
    }
}
