//! A report as one self-contained HTML file: inline styles, inline SVG
//! charts, no script, nothing fetched. Saved alone it stays whole.

use crate::{Block, Chart, Report, figure};
use std::fmt::Write;

/// Escapes text for HTML content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body { font: 14px/1.5 system-ui, sans-serif; color: #1d2433; max-width: 940px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 1.8rem; border-bottom: 1px solid #d9dee7; }
table { width: 100%; border-collapse: collapse; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #d9dee7; vertical-align: top; }
td.num, th.num { text-align: right; } code { font-size: .85em; word-break: break-all; } .muted { color: #5b6475; }
figure { margin: 1rem 0; } figcaption { font-size: .85rem; color: #5b6475; } figure h3 { font-size: .95rem; margin: 0 0 .3rem; }
svg.chart { width: 100%; height: auto; } svg.chart rect { fill: #3d6fb6; } svg.chart line.target { stroke: #b3261e; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg.chart text { font: 11px system-ui, sans-serif; fill: #5b6475; }
@media print { body { margin: 0; max-width: none; } }";

/// The whole report as an HTML document.
pub fn html(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} · Stockade</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"muted\">{}</p>\n",
        esc(&r.title),
        esc(&r.title),
        esc(&r.lead)
    );
    o.push_str(&fragment(r));
    o.push_str("</body>\n</html>\n");
    o
}

/// The report's blocks alone, to place inside a page of one's own (the
/// console's): no head, no styles, the same escaping.
pub fn fragment(r: &Report) -> String {
    let mut o = String::new();
    for b in &r.blocks {
        block(&mut o, b);
    }
    o
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Heading(h) => {
            let _ = writeln!(o, "\n<h2>{}</h2>", esc(h));
        }
        Block::Paragraph(p) => {
            let _ = writeln!(o, "<p>{}</p>", esc(p));
        }
        Block::Facts(facts) => {
            o.push_str("<table>\n");
            for (k, v) in facts {
                let _ = writeln!(o, "  <tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
            }
            o.push_str("</table>\n");
        }
        Block::Table(t) => {
            o.push_str("<table>\n  <tr>");
            for c in &t.columns {
                let _ = write!(o, "<th{}>{}</th>", if c.numeric { " class=\"num\"" } else { "" }, esc(&c.name));
            }
            o.push_str("</tr>\n");
            for row in &t.rows {
                o.push_str("  <tr>");
                for (i, c) in t.columns.iter().enumerate() {
                    let cell = row.get(i).map_or("", String::as_str);
                    if c.mono {
                        let _ = write!(o, "<td><code>{}</code></td>", esc(cell));
                    } else {
                        let _ = write!(o, "<td{}>{}</td>", if c.numeric { " class=\"num\"" } else { "" }, esc(cell));
                    }
                }
                o.push_str("</tr>\n");
            }
            if t.rows.is_empty() {
                let _ = writeln!(
                    o,
                    "  <tr><td colspan=\"{}\" class=\"muted\">{}</td></tr>",
                    t.columns.len().max(1),
                    esc(&t.empty)
                );
            }
            o.push_str("</table>\n");
        }
        Block::List(l) => {
            let tag = if l.ordered { "ol" } else { "ul" };
            let _ = writeln!(o, "<{tag}>");
            for i in &l.items {
                let _ = writeln!(o, "  <li>{}</li>", esc(i));
            }
            if l.items.is_empty() {
                let _ = writeln!(o, "  <li class=\"muted\">{}</li>", esc(&l.empty));
            }
            let _ = writeln!(o, "</{tag}>");
        }
        Block::Chart(c) => {
            let _ = writeln!(
                o,
                "<figure>\n<h3>{}</h3>\n{}\n<figcaption>{}</figcaption>\n</figure>",
                esc(&c.title),
                bars_svg(c),
                esc(&c.caption())
            );
        }
    }
}

/// A bar chart as inline SVG markup (class `chart`): one bar per value,
/// each with its label and value as a tooltip, the first and last labels
/// under the axis, the target as a dashed line. Every string in it is
/// escaped.
pub fn bars_svg(c: &Chart) -> String {
    if c.points.is_empty() {
        return String::new();
    }
    let (w, h, pad) = (640.0_f64, 150.0_f64, 18.0_f64);
    let top = c.top();
    let unit = esc(&c.unit);
    let step = (w - 2.0 * pad) / c.points.len() as f64;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{}\">",
        h + 2.0 * pad,
        esc(&c.caption())
    );
    for (i, (label, v)) in c.points.iter().enumerate() {
        let bh = (v.max(0.0) / top) * h;
        let x = pad + i as f64 * step;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{}: {} {unit}</title></rect>",
            pad + h - bh,
            (step * 0.8).clamp(1.0, 60.0),
            esc(label),
            figure(*v)
        );
    }
    if let Some(t) = c.target {
        let y = pad + h - (t / top) * h;
        let _ = write!(
            svg,
            "<line class=\"target\" x1=\"{pad}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"><title>target {} {unit}</title></line>",
            w - pad,
            figure(t)
        );
    }
    let (first, last) = (esc(&c.points[0].0), esc(&c.points[c.points.len() - 1].0));
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"{:.1}\">{first}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{last}</text>\
         <text x=\"{pad}\" y=\"12\">max {} {unit}</text></svg>",
        h + 2.0 * pad - 2.0,
        w - pad,
        h + 2.0 * pad - 2.0,
        figure(top)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, List, Table};

    fn hostile() -> Report {
        let bad = "<script>alert('x')</script>\"&";
        Report {
            title: bad.into(),
            lead: bad.into(),
            blocks: vec![
                Block::Heading(bad.into()),
                Block::Paragraph(bad.into()),
                Block::Facts(vec![(bad.into(), bad.into())]),
                Block::Table(Table {
                    columns: vec![Column::text(bad), Column::mono(bad), Column::number(bad)],
                    rows: vec![vec![bad.into(), bad.into(), bad.into()]],
                    empty: String::new(),
                }),
                Block::List(List { ordered: false, items: vec![bad.into()], empty: String::new() }),
                Block::Chart(Chart {
                    title: bad.into(),
                    unit: bad.into(),
                    points: vec![(bad.into(), 1.0)],
                    target: Some(0.5),
                }),
            ],
        }
    }

    #[test]
    fn every_string_is_escaped() {
        let out = html(&hostile());
        assert!(!out.contains("<script"), "{out}");
        assert!(!out.contains("'x'"), "{out}");
        // Every block showed it, escaped: title (twice), lead, heading,
        // paragraph, two facts, three headers, three cells, the list item,
        // and the chart's title, tooltip and both axis labels.
        assert!(out.matches("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;").count() >= 17, "{out}");
    }

    #[test]
    fn empty_tables_and_lists_say_so() {
        let r = Report {
            title: "t".into(),
            lead: String::new(),
            blocks: vec![
                Block::Table(Table {
                    columns: vec![Column::text("a"), Column::text("b")],
                    rows: vec![],
                    empty: "None.".into(),
                }),
                Block::List(List { ordered: true, items: vec![], empty: "Nothing recorded.".into() }),
            ],
        };
        let out = html(&r);
        assert!(out.contains("<td colspan=\"2\" class=\"muted\">None.</td>"), "{out}");
        assert!(out.contains("<ol>\n  <li class=\"muted\">Nothing recorded.</li>\n</ol>"), "{out}");
    }

    #[test]
    fn charts_draw_each_value_and_the_target() {
        let c = Chart {
            title: "MTTD".into(),
            unit: "h".into(),
            points: vec![("w1".into(), 2.0), ("w2".into(), 4.0)],
            target: Some(1.0),
        };
        let svg = bars_svg(&c);
        assert_eq!(svg.matches("<rect").count(), 2);
        // The largest value fills the height; the target sits at a quarter of it.
        assert!(svg.contains("height=\"150.0\""), "{svg}");
        assert!(svg.contains("y1=\"130.5\""), "{svg}");
        assert!(svg.contains("<title>w2: 4 h</title>"), "{svg}");
        assert_eq!(bars_svg(&Chart::default()), "");
    }
}
