//! A report as a PDF (A4, DejaVu fonts embedded as subsets, text
//! extractable): laid out first into pages of drawing operations, so that
//! each page's footer can say "page n of m", then drawn with krilla.

use crate::{Block, Chart, Column, Report, Table, figure};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use std::sync::LazyLock;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");
static MONO: &[u8] = include_bytes!("../fonts/DejaVuSansMono.ttf");

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("a report font could not be read")]
    Font,
    #[error("writing the PDF: {0}")]
    Write(String),
}

/// The three faces a report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Regular,
    Bold,
    Mono,
}

impl Face {
    fn bytes(self) -> &'static [u8] {
        match self {
            Face::Regular => REGULAR,
            Face::Bold => BOLD,
            Face::Mono => MONO,
        }
    }
}

/// Parsed faces for measuring, once per process.
static SHAPERS: LazyLock<Option<[rustybuzz::Face<'static>; 3]>> = LazyLock::new(|| {
    Some([
        rustybuzz::Face::from_slice(REGULAR, 0)?,
        rustybuzz::Face::from_slice(BOLD, 0)?,
        rustybuzz::Face::from_slice(MONO, 0)?,
    ])
});

/// The width of `text` in `face` at `size` points, shaped as krilla shapes
/// it (kerning included).
fn width(face: Face, size: f32, text: &str) -> f32 {
    let Some(faces) = SHAPERS.as_ref() else { return 0.0 };
    let f = &faces[face as usize];
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(f, &[], buffer);
    let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
    units as f32 * size / f.units_per_em() as f32
}

/// Breaks `text` into lines no wider than `max`: at spaces, and inside a
/// word only when the word alone is wider (hashes, long identifiers).
/// Newlines in the text are kept.
fn wrap(face: Face, size: f32, text: &str, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if width(face, size, &candidate) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if width(face, size, word) <= max {
                line = word.to_owned();
                continue;
            }
            // A word wider than the line: cut it where it no longer fits.
            for c in word.chars() {
                let mut next = line.clone();
                next.push(c);
                if !line.is_empty() && width(face, size, &next) > max {
                    lines.push(std::mem::replace(&mut line, c.to_string()));
                } else {
                    line = next;
                }
            }
        }
        lines.push(line);
    }
    lines
}

type Colour = (u8, u8, u8);
const INK: Colour = (0x1d, 0x24, 0x33);
const MUTED: Colour = (0x5b, 0x64, 0x75);
const RULE: Colour = (0xd9, 0xde, 0xe7);
const SHADE: Colour = (0xee, 0xf1, 0xf6);
const BAR: Colour = (0x3d, 0x6f, 0xb6);
const TARGET: Colour = (0xb3, 0x26, 0x1e);

/// One drawing operation, in points from the page's top-left corner.
#[derive(Debug, Clone)]
enum Op {
    /// Text from its baseline's left end.
    Text {
        x: f32,
        y: f32,
        face: Face,
        size: f32,
        colour: Colour,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: Colour,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        colour: Colour,
        width: f32,
        dashed: bool,
    },
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 50.0;
const TOP: f32 = 56.0;
const BOTTOM: f32 = PAGE_H - 60.0;
const BODY: f32 = 9.5;
const SMALL: f32 = 8.0;

/// Lays blocks out top to bottom, starting a new page when one is full.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout { pages: vec![Vec::new()], y: TOP }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Makes room for `h` points, on a new page if this one lacks it (a
    /// block taller than a page starts at the top and runs on).
    fn room(&mut self, h: f32) -> bool {
        if self.y + h > BOTTOM && self.y > TOP {
            self.pages.push(Vec::new());
            self.y = TOP;
            return true;
        }
        false
    }

    fn text(&mut self, x: f32, face: Face, size: f32, colour: Colour, text: &str) {
        let y = self.y + size;
        self.ops().push(Op::Text { x, y, face, size, colour, text: text.to_owned() });
    }

    /// Wrapped text in a column `x..x + w`; returns the height used.
    fn para(&mut self, x: f32, w: f32, face: Face, size: f32, colour: Colour, text: &str) {
        let lh = size * 1.4;
        for line in wrap(face, size, text, w) {
            self.room(lh);
            self.text(x, face, size, colour, &line);
            self.y += lh;
        }
    }

    fn rule(&mut self, colour: Colour) {
        let y = self.y;
        self.ops().push(Op::Line { x1: MARGIN, y1: y, x2: PAGE_W - MARGIN, y2: y, colour, width: 0.6, dashed: false });
    }

    fn block(&mut self, b: &Block) {
        let w = PAGE_W - 2.0 * MARGIN;
        match b {
            Block::Heading(h) => {
                self.y += 10.0;
                // Keep a heading with at least a few lines of what follows.
                self.room(13.0 * 1.4 + 60.0);
                self.para(MARGIN, w, Face::Bold, 13.0, INK, h);
                self.rule(RULE);
                self.y += 6.0;
            }
            Block::Paragraph(p) => {
                self.para(MARGIN, w, Face::Regular, BODY, INK, p);
                self.y += 5.0;
            }
            Block::Facts(facts) => {
                let key_w =
                    facts.iter().map(|(k, _)| width(Face::Bold, BODY, k)).fold(0.0, f32::max).min(w * 0.35) + 12.0;
                for (k, v) in facts {
                    let lines = wrap(Face::Regular, BODY, v, w - key_w)
                        .len()
                        .max(wrap(Face::Bold, BODY, k, key_w - 12.0).len());
                    self.room(lines as f32 * BODY * 1.4 + 4.0);
                    let top = self.y;
                    self.para(MARGIN, key_w - 12.0, Face::Bold, BODY, INK, k);
                    let after_key = self.y;
                    self.y = top;
                    self.para(MARGIN + key_w, w - key_w, Face::Regular, BODY, INK, v);
                    self.y = self.y.max(after_key) + 2.0;
                    self.rule(RULE);
                    self.y += 2.0;
                }
                self.y += 5.0;
            }
            Block::Table(t) => self.table(t, w),
            Block::List(l) => {
                let items: Vec<&String> = l.items.iter().collect();
                if items.is_empty() {
                    self.para(MARGIN + 14.0, w - 14.0, Face::Regular, BODY, MUTED, &l.empty);
                }
                for (i, item) in items.iter().enumerate() {
                    let mark = if l.ordered { format!("{}.", i + 1) } else { "•".to_owned() };
                    self.room(BODY * 1.4);
                    self.text(MARGIN + 2.0, Face::Regular, BODY, INK, &mark);
                    self.para(MARGIN + 18.0, w - 18.0, Face::Regular, BODY, INK, item);
                    self.y += 1.5;
                }
                self.y += 5.0;
            }
            Block::Chart(c) => self.chart(c, w),
        }
    }

    /// Column widths: each column's natural width (its widest cell, a hash
    /// capped), shrunk in proportion when they do not fit.
    fn widths(t: &Table, w: f32) -> Vec<f32> {
        let pad = 8.0;
        let natural: Vec<f32> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let face = if c.mono { Face::Mono } else { Face::Regular };
                let cells = t.rows.iter().filter_map(|r| r.get(i)).map(|s| width(face, SMALL, s).min(w * 0.45));
                cells.fold(width(Face::Bold, SMALL, &c.name), f32::max) + pad
            })
            .collect();
        let total: f32 = natural.iter().sum();
        if total <= w || total <= 0.0 { natural } else { natural.iter().map(|n| n * w / total).collect() }
    }

    fn table(&mut self, t: &Table, w: f32) {
        let widths = Layout::widths(t, w);
        let lh = SMALL * 1.4;
        let header = |l: &mut Layout| {
            let cells: Vec<Vec<String>> =
                t.columns.iter().zip(&widths).map(|(c, cw)| wrap(Face::Bold, SMALL, &c.name, cw - 8.0)).collect();
            let h = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 4.0;
            let y = l.y;
            l.ops().push(Op::Rect { x: MARGIN, y, w: widths.iter().sum(), h, colour: SHADE });
            l.row(&cells, &widths, &t.columns, Face::Bold, h);
        };
        self.room(3.0 * lh + 8.0);
        header(self);
        if t.rows.is_empty() {
            self.para(MARGIN + 4.0, w - 4.0, Face::Regular, SMALL, MUTED, &t.empty);
        }
        for r in &t.rows {
            let cells: Vec<Vec<String>> = t
                .columns
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, cw))| {
                    let face = if c.mono { Face::Mono } else { Face::Regular };
                    wrap(face, SMALL, r.get(i).map_or("", String::as_str), cw - 8.0)
                })
                .collect();
            let h = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 4.0;
            if self.room(h) {
                header(self);
            }
            self.row(&cells, &widths, &t.columns, Face::Regular, h);
        }
        self.y += 8.0;
    }

    fn row(&mut self, cells: &[Vec<String>], widths: &[f32], columns: &[Column], face: Face, h: f32) {
        let top = self.y;
        let mut x = MARGIN;
        for ((lines, cw), c) in cells.iter().zip(widths).zip(columns) {
            let face = if c.mono && face == Face::Regular { Face::Mono } else { face };
            let mut y = top + 2.0;
            for line in lines {
                let lx = if c.numeric { x + cw - 4.0 - width(face, SMALL, line) } else { x + 4.0 };
                self.ops().push(Op::Text { x: lx, y: y + SMALL, face, size: SMALL, colour: INK, text: line.clone() });
                y += SMALL * 1.4;
            }
            x += cw;
        }
        self.y = top + h;
        self.rule(RULE);
    }

    fn chart(&mut self, c: &Chart, w: f32) {
        let (plot_h, label_h) = (120.0, 12.0);
        self.room(BODY * 1.4 + plot_h + 2.0 * label_h + SMALL * 1.4 * 2.0);
        self.para(MARGIN, w, Face::Bold, BODY, INK, &c.title);
        if !c.points.is_empty() {
            let top = c.top() as f32;
            let y0 = self.y + label_h;
            let base = y0 + plot_h;
            self.text(MARGIN, Face::Regular, SMALL, MUTED, &format!("max {} {}", figure(f64::from(top)), c.unit));
            let step = w / c.points.len() as f32;
            for (i, (_, v)) in c.points.iter().enumerate() {
                let bh = (v.max(0.0) as f32 / top) * plot_h;
                let x = MARGIN + i as f32 * step;
                self.ops().push(Op::Rect { x, y: base - bh, w: (step * 0.8).clamp(0.5, 48.0), h: bh, colour: BAR });
            }
            self.ops().push(Op::Line {
                x1: MARGIN,
                y1: base,
                x2: MARGIN + w,
                y2: base,
                colour: MUTED,
                width: 0.6,
                dashed: false,
            });
            if let Some(t) = c.target {
                let y = base - (t as f32 / top) * plot_h;
                self.ops().push(Op::Line {
                    x1: MARGIN,
                    y1: y,
                    x2: MARGIN + w,
                    y2: y,
                    colour: TARGET,
                    width: 1.2,
                    dashed: true,
                });
            }
            self.y = base + 2.0;
            let (first, last) = (&c.points[0].0, &c.points[c.points.len() - 1].0);
            self.text(MARGIN, Face::Regular, SMALL, MUTED, first);
            if c.points.len() > 1 {
                let lw = width(Face::Regular, SMALL, last);
                self.text(MARGIN + w - lw, Face::Regular, SMALL, MUTED, last);
            }
            self.y += label_h;
        }
        self.para(MARGIN, w, Face::Regular, SMALL, MUTED, &c.caption());
        self.y += 8.0;
    }
}

fn colour((r, g, b): Colour) -> krilla::paint::Paint {
    rgb::Color::new(r, g, b).into()
}

fn draw(surface: &mut Surface<'_>, fonts: &[Font; 3], op: &Op) {
    match op {
        Op::Text { x, y, face, size, colour: c, text } => {
            surface.set_fill(Some(Fill { paint: colour(*c), opacity: NormalizedF32::ONE, rule: Default::default() }));
            surface.set_stroke(None);
            surface.draw_text(
                Point::from_xy(*x, *y),
                fonts[*face as usize].clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Rect { x, y, w, h, colour: c } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, h.max(0.01)) else { return };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            let Some(path) = pb.finish() else { return };
            surface.set_stroke(None);
            surface.set_fill(Some(Fill { paint: colour(*c), opacity: NormalizedF32::ONE, rule: Default::default() }));
            surface.draw_path(&path);
        }
        Op::Line { x1, y1, x2, y2, colour: c, width, dashed } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x1, *y1);
            pb.line_to(*x2, *y2);
            let Some(path) = pb.finish() else { return };
            surface.set_fill(None);
            surface.set_stroke(Some(Stroke {
                paint: colour(*c),
                width: *width,
                dash: dashed.then(|| StrokeDash { array: vec![6.0, 4.0], offset: 0.0 }),
                ..Default::default()
            }));
            surface.draw_path(&path);
        }
    }
}

/// The report laid out into pages, footers included.
fn layout(r: &Report) -> Layout {
    let mut l = Layout::new();
    l.para(MARGIN, PAGE_W - 2.0 * MARGIN, Face::Bold, 17.0, INK, &r.title);
    l.y += 2.0;
    l.para(MARGIN, PAGE_W - 2.0 * MARGIN, Face::Regular, SMALL, MUTED, &r.lead);
    l.y += 4.0;
    for b in &r.blocks {
        l.block(b);
    }
    let total = l.pages.len();
    for (n, page) in l.pages.iter_mut().enumerate() {
        let foot = format!("{} · page {} of {total}", r.title, n + 1);
        let foot =
            wrap(Face::Regular, SMALL - 1.0, &foot, PAGE_W - 2.0 * MARGIN).into_iter().next().unwrap_or_default();
        page.push(Op::Text {
            x: MARGIN,
            y: PAGE_H - 30.0,
            face: Face::Regular,
            size: SMALL - 1.0,
            colour: MUTED,
            text: foot,
        });
    }
    l
}

/// The report as PDF bytes.
pub fn pdf(r: &Report) -> Result<Vec<u8>, PdfError> {
    let l = layout(r);
    let fonts = [
        Font::new(Face::Regular.bytes().into(), 0).ok_or(PdfError::Font)?,
        Font::new(Face::Bold.bytes().into(), 0).ok_or(PdfError::Font)?,
        Font::new(Face::Mono.bytes().into(), 0).ok_or(PdfError::Font)?,
    ];
    let mut doc = Document::new();
    doc.set_metadata(Metadata::new().title(r.title.clone()).creator("Stockade".to_owned()).language("en".to_owned()));
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Write("page size".into()))?;
    for ops in &l.pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, &fonts, op);
        }
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_fits_the_line() {
        let text = "the quick brown fox jumps over the lazy dog ".repeat(20);
        let lines = wrap(Face::Regular, BODY, &text, 200.0);
        assert!(lines.len() > 5);
        for l in &lines {
            assert!(width(Face::Regular, BODY, l) <= 200.0, "{l}");
        }
        assert_eq!(lines.join(" ").split(' ').count(), text.split_whitespace().count());
    }

    #[test]
    fn a_hash_wider_than_its_column_is_cut_not_lost() {
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let lines = wrap(Face::Mono, SMALL, hash, 100.0);
        assert!(lines.len() >= 2, "{lines:?}");
        assert_eq!(lines.concat(), hash);
        assert!(lines.iter().all(|l| width(Face::Mono, SMALL, l) <= 100.0));
    }

    #[test]
    fn long_reports_run_onto_numbered_pages() {
        let rows = (0..200).map(|i| vec![format!("row {i}"), "x".into()]).collect();
        let r = Report {
            title: "Long".into(),
            lead: "lead".into(),
            blocks: vec![Block::Table(Table {
                columns: vec![Column::text("a"), Column::number("b")],
                rows,
                empty: String::new(),
            })],
        };
        let l = layout(&r);
        assert!(l.pages.len() >= 3, "{}", l.pages.len());
        let texts = |ops: &Vec<Op>| -> Vec<String> {
            ops.iter().filter_map(|o| if let Op::Text { text, .. } = o { Some(text.clone()) } else { None }).collect()
        };
        let n = l.pages.len();
        for (i, page) in l.pages.iter().enumerate() {
            let t = texts(page);
            // The table's header is repeated on every page it runs onto.
            assert!(t.iter().any(|x| x == "a"), "page {i}: {t:?}");
            assert!(t.contains(&format!("Long · page {} of {n}", i + 1)), "{t:?}");
            for op in page {
                if let Op::Text { y, .. } | Op::Rect { y, .. } = op {
                    assert!(*y <= PAGE_H - 20.0, "drawn off the page: {op:?}");
                }
            }
        }
        // Every row is on some page, once.
        let all: Vec<String> = l.pages.iter().flat_map(texts).collect();
        for i in 0..200 {
            assert_eq!(all.iter().filter(|t| **t == format!("row {i}")).count(), 1, "row {i}");
        }
        let bytes = pdf(&r).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        // Same report, same bytes.
        assert_eq!(pdf(&r).unwrap(), bytes);
    }
}
