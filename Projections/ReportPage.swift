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
            if let chart = chart(s, numeric: numeric, id: "c\(n + 1)") { section["chart"] = chart }
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
            bars = s.rows.map { r in (r.dropLast().filter { !$0.isEmpty }.joined(separator: " · "), Int(r[last])!) }
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
