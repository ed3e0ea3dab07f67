//! The PDF as another reader sees it: Poppler's `pdftotext` and `pdfinfo`
//! (Debian's poppler-utils, which `cargo xtask ci` installs where missing)
//! read the text back and count the pages.

use std::process::Command;
use stockade_report::{Block, Chart, Column, List, Report, Table, pdf::pdf};

fn sample() -> Report {
    Report {
        title: "Incident report: INC-7 · Cage removal after hours".into(),
        lead: "Generated 2026-12-06T10:00:00Z by Stockade from its records.".into(),
        blocks: vec![
            Block::Heading("Facts".into()),
            Block::Facts(vec![
                ("Site".into(), "DC-NORTH (Europe/Berlin)".into()),
                ("Severity".into(), "critical".into()),
            ]),
            Block::Heading("Losses".into()),
            Block::Paragraph(
                "12 units, value 3480.00 (from the shortages its counts found). Zürich façade naïve.".into(),
            ),
            Block::Table(Table {
                columns: vec![Column::text("Item"), Column::mono("SHA-256"), Column::number("Bytes")],
                rows: vec![vec![
                    "EV-1".into(),
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                    "2048".into(),
                ]],
                empty: "None.".into(),
            }),
            Block::List(List {
                ordered: true,
                items: vec!["Obtain the package.".into(), "Run stockade verify.".into()],
                empty: String::new(),
            }),
            Block::Chart(Chart {
                title: "Median time to detect per week".into(),
                unit: "h".into(),
                points: vec![("2026-11-02".into(), 3.0), ("2026-11-09".into(), 1.5)],
                target: Some(1.0),
            }),
        ],
    }
}

fn poppler(tool: &str, pdf: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian's poppler-utils; `cargo xtask ci` installs it): {e}"));
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn poppler_reads_back_every_word_and_the_charts_caption() {
    // Kept as an artefact to look at: target/tmp/report-artefacts.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sample.pdf");
    std::fs::write(&path, pdf(&sample()).unwrap()).unwrap();
    let text = poppler("pdftotext", &path, &["-layout"]);
    for want in [
        "Incident report: INC-7",
        "DC-NORTH (Europe/Berlin)",
        "Zürich façade naïve",
        "3480.00",
        "2048",
        "1. Obtain the package.",
        "Median time to detect per week",
        "2 values from 2026-11-02 to 2026-11-09; the largest 3 h; target 1 h.",
        "page 1 of 1",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    // The hash may be cut across lines in its column, never altered.
    let squeezed: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    assert!(squeezed.contains("9f86d081884c7d659a2feaa0c55ad015"), "{text}");
    let info = Command::new("pdfinfo").arg(&path).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let field =
        |name: &str| info.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_default().to_owned();
    assert_eq!(field("Pages:"), "1", "{info}");
    assert_eq!(field("Title:"), "Incident report: INC-7 · Cage removal after hours", "{info}");
}
