/// The templates of `ReportPage` (Mustache; every `{{value}}` is HTML-escaped). Kept in the
/// source, not as resource files, so that the executable is the whole program.
/// Colours: text #1b1b1b and headings #12355b on white, table heads #1b1b1b on #e8eef5 — each
/// at least 4.5:1 (WCAG AA); bars #2f6497 carry no text.
enum ReportTemplates {
    static let all: [String: String] = ["page": page, "bars": bars, "graph": graph, "line": line]

    static let page = #"""
<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>
body { font-family: "Segoe UI", Arial, Helvetica, sans-serif; color: #1b1b1b; background: #ffffff; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; line-height: 1.4; }
h1 { color: #12355b; font-size: 1.6rem; margin-bottom: 0.25rem; }
h2 { color: #12355b; font-size: 1.15rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid #c9d3de; padding-bottom: 0.2rem; }
p.note { margin-top: 0; }
dl.headline { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 1rem 0; }
dl.headline div { border: 1px solid #c9d3de; border-radius: 4px; padding: 0.5rem 0.9rem; min-width: 9rem; }
dl.headline dt { font-size: 0.85rem; }
dl.headline dd { margin: 0; font-size: 1.5rem; font-weight: bold; color: #12355b; }
section .pair { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-size: 0.85rem; }
svg text { font-size: 12px; fill: #1b1b1b; }
table { border-collapse: collapse; font-size: 0.85rem; }
caption { text-align: left; font-size: 0.85rem; padding-bottom: 0.25rem; }
th, td { border: 1px solid #c9d3de; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #e8eef5; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
footer { margin-top: 3rem; font-size: 0.85rem; }
footer dd { margin: 0 0 0.4rem 0; word-break: break-all; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  section { break-inside: avoid-page; }
  h2 { break-after: avoid-page; }
  tr { break-inside: avoid; }
}
</style>
</head>
<body>
<header>
<h1>{{title}}</h1>
{{#notes}}
<p class="note">{{.}}</p>
{{/notes}}
<p class="note">Every figure below can be re-derived from the log named at the foot of the page (its size, head and read-model digests).</p>
{{#hasHeadline}}
<dl class="headline">
{{#headline}}
<div><dt>{{label}}</dt><dd>{{value}}</dd></div>
{{/headline}}
</dl>
{{/hasHeadline}}
</header>
<main>
{{#sections}}
<section id="{{id}}">
<h2>{{title}}</h2>
<div class="pair">
{{#chart}}
{{> bars}}
{{/chart}}
{{#graphs}}
{{> graph}}
{{/graphs}}
{{#lines}}
{{> line}}
{{/lines}}
<table>
<caption>{{title}}: the figures</caption>
<thead><tr>{{#columns}}<th scope="col">{{.}}</th>{{/columns}}</tr></thead>
<tbody>
{{#rows}}
<tr>{{#cells}}<td{{#numeric}} class="n"{{/numeric}}>{{text}}</td>{{/cells}}</tr>
{{/rows}}
{{^rows}}
<tr><td colspan="{{width}}">none</td></tr>
{{/rows}}
</tbody>
</table>
</div>
</section>
{{/sections}}
</main>
<footer>
<h2>Built from</h2>
<dl>
{{#builtFrom}}
<dt>{{key}}</dt><dd><code>{{value}}</code></dd>
{{/builtFrom}}
</dl>
</footer>
</body>
</html>

"""#

    static let bars = #"""
<figure>
<svg role="img" aria-labelledby="{{id}}" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}">
<title id="{{id}}">{{title}}</title>
{{#bars}}
<text x="{{labelX}}" y="{{textY}}" text-anchor="end">{{label}}</text>
<rect x="{{barX}}" y="{{y}}" width="{{barWidth}}" height="{{barHeight}}" fill="#2f6497"></rect>
<text x="{{valueX}}" y="{{textY}}">{{value}}</text>
{{/bars}}
</svg>
<figcaption>Chart: {{title}}</figcaption>
</figure>
"""#

    static let line = #"""
<figure class="small">
<svg role="img" aria-labelledby="{{id}}" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}">
<title id="{{id}}">{{title}}</title>
<line x1="{{axisX}}" y1="{{axisTop}}" x2="{{axisX}}" y2="{{axisBottom}}" stroke="#9aa9b8"></line>
<line x1="{{axisX}}" y1="{{axisBottom}}" x2="{{axisRight}}" y2="{{axisBottom}}" stroke="#9aa9b8"></line>
<text x="{{labelX}}" y="{{maxY}}" text-anchor="end">{{max}}</text>
<text x="{{labelX}}" y="{{zeroY}}" text-anchor="end">0</text>
<polyline points="{{path}}" fill="none" stroke="#2f6497" stroke-width="2"></polyline>
{{#points}}
<circle cx="{{x}}" cy="{{y}}" r="3" fill="#2f6497"><title>{{label}}: {{value}}</title></circle>
{{/points}}
<text x="{{axisX}}" y="{{monthY}}">{{first}}</text>
<text x="{{lastX}}" y="{{monthY}}" text-anchor="end">{{last}}</text>
</svg>
<figcaption>{{title}}</figcaption>
</figure>
"""#

    static let graph = #"""
<figure>
<svg role="img" aria-labelledby="{{id}}" width="{{size}}" height="{{size}}" viewBox="0 0 {{size}} {{size}}">
<title id="{{id}}">{{title}}</title>
{{#edges}}
<line x1="{{x1}}" y1="{{y1}}" x2="{{x2}}" y2="{{y2}}" stroke="#9aa9b8" stroke-width="1"></line>
{{/edges}}
{{#children}}
<circle cx="{{x}}" cy="{{y}}" r="6" fill="#ffffff" stroke="#2f6497" stroke-width="2"><title>{{id}}</title></circle>
<text x="{{labelX}}" y="{{labelY}}" text-anchor="middle" font-size="9">{{label}}</text>
{{/children}}
{{#entities}}
<rect x="{{x}}" y="{{y}}" width="14" height="14" fill="{{colour}}"><title>{{kind}} {{id}}</title></rect>
<text x="{{labelX}}" y="{{labelY}}" text-anchor="middle" font-size="10">{{label}}</text>
{{/entities}}
</svg>
<figcaption>{{title}}. Squares: locations (dark blue), vehicles (brown), persons of concern (purple); circles: children, by the number of their case.</figcaption>
</figure>
"""#
}
