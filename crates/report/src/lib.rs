//! Reports for leaders, insurers and regulators: one document model
//! ([`Report`]) that the incident report and the executive scorecard are
//! built as, written either as one self-contained HTML file ([`html`]) or
//! as a PDF with the same text, tables and charts ([`pdf`]).
//!
//! Invariants:
//! - Both writers show the same content: what a reader finds in the HTML
//!   is in the PDF (text extracted from it reads the same words).
//! - Everything from the data is text: the HTML writer escapes every string
//!   it is given (titles, cells, chart labels), so a report cannot carry
//!   markup or script from an event, an analyst's note or a file name.
//! - A chart is drawn from its numbers; no figure appears only in a chart
//!   (each chart's largest value and target are also written out).
//! - Output is deterministic: the same report gives the same bytes (no
//!   clock is read here; the caller puts the generation time in the text).

#![forbid(unsafe_code)]

mod html;
pub mod pdf;

pub use html::{bars_svg, fragment, html};

/// A report: a title, a line saying where it comes from, and its blocks in
/// reading order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub title: String,
    /// Who generated it, when, from what (shown under the title).
    pub lead: String,
    pub blocks: Vec<Block>,
}

/// One block of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A section heading.
    Heading(String),
    Paragraph(String),
    /// Name and value pairs, one per line.
    Facts(Vec<(String, String)>),
    Table(Table),
    List(List),
    Chart(Chart),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Each row has one cell per column (missing cells are empty).
    pub rows: Vec<Vec<String>>,
    /// Shown instead of rows when there are none.
    pub empty: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Column {
    pub name: String,
    /// Hashes, identifiers: a fixed-width face, broken anywhere.
    pub mono: bool,
    /// Figures: aligned right.
    pub numeric: bool,
}

impl Column {
    pub fn text(name: &str) -> Column {
        Column { name: name.to_owned(), ..Column::default() }
    }
    pub fn number(name: &str) -> Column {
        Column { name: name.to_owned(), numeric: true, ..Column::default() }
    }
    pub fn mono(name: &str) -> Column {
        Column { name: name.to_owned(), mono: true, ..Column::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {
    pub ordered: bool,
    pub items: Vec<String>,
    /// Shown as the only item when there are none.
    pub empty: String,
}

/// A bar chart: one bar per labelled value, oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    pub title: String,
    /// The values' unit, as written after them ("h", "incidents").
    pub unit: String,
    pub points: Vec<(String, f64)>,
    /// Drawn as a line across the bars, and written in the caption.
    pub target: Option<f64>,
}

impl Chart {
    /// The largest value drawn (at least the target), never zero.
    pub fn top(&self) -> f64 {
        self.points
            .iter()
            .map(|(_, v)| *v)
            .chain(self.target)
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max)
            .max(f64::MIN_POSITIVE)
    }

    /// The caption written under the chart: its span, largest value and
    /// target, so that no figure lives only in the drawing.
    pub fn caption(&self) -> String {
        let Some((first, _)) = self.points.first() else {
            return "No data in this period.".to_owned();
        };
        let (last, _) = &self.points[self.points.len() - 1];
        let max = self.points.iter().map(|(_, v)| *v).fold(f64::NEG_INFINITY, f64::max);
        let mut s =
            format!("{} values from {first} to {last}; the largest {} {}", self.points.len(), figure(max), self.unit);
        if let Some(t) = self.target {
            s.push_str(&format!("; target {} {}", figure(t), self.unit));
        }
        s.push('.');
        s
    }
}

/// A figure as reports write it: whole numbers without decimals, others
/// with one.
pub fn figure(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 { format!("{x:.0}") } else { format!("{x:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_say_what_the_chart_shows() {
        let c = Chart {
            title: "t".into(),
            unit: "h".into(),
            points: vec![("2026-01-05".into(), 2.5), ("2026-01-12".into(), 4.0)],
            target: Some(1.0),
        };
        assert_eq!(c.caption(), "2 values from 2026-01-05 to 2026-01-12; the largest 4 h; target 1 h.");
        assert_eq!(c.top(), 4.0);
        assert_eq!(Chart::default().caption(), "No data in this period.");
        assert!(Chart::default().top() > 0.0);
    }
}
