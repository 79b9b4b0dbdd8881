import Foundation
import Mustache
import SafeguardCore

/// A report as one self-contained HTML page (inline CSS and SVG; no scripts, fonts or anything
/// fetched): rendered from the templates in `ReportTemplates` by swift-mustache, which escapes
/// every value. Each section with figures has a bar chart (SVG, with a title for screen
/// readers) and its data table beside it; the footer names what the figures were built from.
public enum ReportPage {
    /// The page for `report`. `headline` are the few figures shown first.
    public static func render(_ report: Report, headline: [(label: String, value: String)] = []) -> String {
        var sections: [[String: Any]] = []
        for (n, s) in report.sections.enumerated() {
            let numeric = s.columns.indices.map { i in !s.rows.isEmpty && s.rows.allSatisfy { Int($0[i]) != nil } }
            var section: [String: Any] = [
                "id": "s\(n + 1)", "title": s.title, "columns": s.columns, "width": s.columns.count,
                "rows": s.rows.map { r in ["cells": r.enumerated().map { ["text": $0.element, "numeric": numeric[$0.offset]] }] },
            ]
            switch s.chart {
            case .bars: if let chart = chart(s, numeric: numeric, id: "c\(n + 1)") { section["chart"] = chart }
            case .trend: section["lines"] = lines(s, numeric: numeric, id: "c\(n + 1)")
            }
            section["graphs"] = s.graphs.enumerated().map { graph($0.element, id: "g\(n + 1)-\($0.offset + 1)") }
            sections.append(section)
        }
        let page: [String: Any] = [
            "title": report.title,
            "notes": report.notes,
            "headline": headline.map { ["label": $0.label, "value": $0.value] },
            "hasHeadline": !headline.isEmpty,
            "sections": sections,
            "builtFrom": report.builtFrom.map { ["key": $0.0, "value": $0.1] },
        ]
        return templates.render(page, withTemplate: "page") ?? ""
    }

    /// The bars of a section: one per row, by its last column, when that is a count; or, for a
    /// section of one row, one per column that is.
    static func chart(_ s: Report.Section, numeric: [Bool], id: String) -> [String: Any]? {
        var bars: [(label: String, value: Int)] = []
        if s.rows.count == 1, numeric.filter({ $0 }).count >= 2 {
            bars = s.columns.indices.filter { numeric[$0] }.map { (s.columns[$0], Int(s.rows[0][$0])!) }
        } else if let last = numeric.indices.last, numeric[last], s.columns.count >= 2 {
            // A code followed by its label is named by the label alone; other figures are not part of the name.
            let named = s.columns.indices.dropLast().filter { i in
                !numeric[i] && !(i + 1 < s.columns.count && (s.columns[i + 1] == "label" || s.columns[i + 1] == s.columns[i] + " label"))
            }
            bars = s.rows.map { r in (named.map { r[$0] }.filter { !$0.isEmpty }.joined(separator: " · "), Int(r[last])!) }
        }
        guard !bars.isEmpty, bars.count <= maxBars else { return nil }
        let top = max(1, bars.map(\.value).max() ?? 1)
        let row = 22, labelWidth = 300, barArea = 300, width = labelWidth + barArea + 60
        return [
            "id": id, "title": s.title + (s.rows.count == 1 ? "" : " (by \(s.columns.last!))"),
            "width": width, "height": bars.count * row + 8,
            "bars": bars.enumerated().map { i, b -> [String: Any] in
                let w = b.value == 0 ? 0 : max(1, b.value * barArea / top)
                return ["label": String(b.label.prefix(48)), "value": b.value, "y": 4 + i * row, "textY": 4 + i * row + 15,
                        "labelX": labelWidth - 8, "barX": labelWidth, "barWidth": w, "barHeight": row - 6, "valueX": labelWidth + w + 6]
            },
        ]
    }

    /// Small multiples: for each numeric column after the first, a line over the rows (periods),
    /// each point titled with its figure; the axis runs from 0 to the column's largest figure.
    static func lines(_ s: Report.Section, numeric: [Bool], id: String) -> [[String: Any]] {
        guard s.rows.count >= 2 else { return [] }
        let width = 260.0, height = 120.0, left = 34.0, right = 8.0, top = 10.0, bottom = 22.0
        func r(_ v: Double) -> String { String(format: "%.1f", v) }
        return s.columns.indices.dropFirst().filter { numeric[$0] }.map { i -> [String: Any] in
            let values = s.rows.map { Int($0[i])! }
            let top0 = max(1, values.max() ?? 1)
            let step = (width - left - right) / Double(values.count - 1)
            let points = values.enumerated().map { k, v in (x: left + Double(k) * step, y: top + (height - top - bottom) * (1 - Double(v) / Double(top0)), v: v, label: s.rows[k][0]) }
            return [
                "id": "\(id)-\(i)", "title": "\(s.columns[i]), by \(s.columns[0])", "width": Int(width), "height": Int(height),
                "path": points.map { "\(r($0.x)),\(r($0.y))" }.joined(separator: " "),
                "points": points.map { ["x": r($0.x), "y": r($0.y), "value": $0.v, "label": $0.label] },
                "axisX": r(left), "axisTop": r(top), "axisBottom": r(height - bottom), "axisRight": r(width - right),
                "max": top0, "maxY": r(top + 4), "labelX": r(left - 4), "zeroY": r(height - bottom + 4),
                "first": s.rows.first![0], "last": s.rows.last![0], "monthY": r(height - 6), "lastX": r(width - right),
            ]
        }
    }

    /// A network drawn in two rings: what links the children inside, the children (circles, by
    /// case number) around; a line for each link. Deterministic: the same figures, the same picture.
    static func graph(_ g: Report.Graph, id: String) -> [String: Any] {
        let size = 520.0, c = size / 2
        let entities = g.nodes.indices.filter { g.nodes[$0].kind != "child" }, children = g.nodes.indices.filter { g.nodes[$0].kind == "child" }
        var at = [(x: Double, y: Double)](repeating: (c, c), count: g.nodes.count)
        func ring(_ members: [Int], radius: Double) {
            for (k, i) in members.enumerated() {
                let angle = 2 * Double.pi * Double(k) / Double(max(1, members.count)) - Double.pi / 2
                at[i] = (c + radius * cos(angle), c + radius * sin(angle))
            }
        }
        ring(entities, radius: entities.count == 1 ? 0 : 95)
        ring(children, radius: 205)
        func r(_ v: Double) -> String { String(format: "%.1f", v) }
        let colours = ["location": "#12355b", "vehicle": "#8a4b08", "person of concern": "#5b2a86"]
        return [
            "id": id, "title": g.title, "size": Int(size),
            "edges": g.edges.map { e in ["x1": r(at[e.0].x), "y1": r(at[e.0].y), "x2": r(at[e.1].x), "y2": r(at[e.1].y)] },
            "children": children.map { i -> [String: Any] in
                let (x, y) = at[i], out = (x: c + (x - c) * 1.09, y: c + (y - c) * 1.09 + 3)
                return ["id": g.nodes[i].id, "label": g.nodes[i].label, "x": r(x), "y": r(y), "labelX": r(out.x), "labelY": r(out.y)]
            },
            "entities": entities.map { i -> [String: Any] in
                let (x, y) = at[i]
                return ["id": g.nodes[i].id, "label": g.nodes[i].label, "kind": g.nodes[i].kind, "colour": colours[g.nodes[i].kind] ?? "#333333",
                        "x": r(x - 7), "y": r(y - 7), "labelX": r(x), "labelY": r(y + 19)]
            },
        ]
    }

    /// Above this many rows a chart says less than its table: the table alone is shown.
    static let maxBars = 40

    static let templates: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in ReportTemplates.all {
            do { library.register(try MustacheTemplate(string: text), named: name) } catch { preconditionFailure("report template \(name): \(error)") }
        }
        return library
    }()
}
