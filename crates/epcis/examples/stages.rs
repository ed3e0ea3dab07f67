//! Where an EPCIS document's capture time goes, stage by stage, on one
//! thread: `cargo run --release -p stockade-epcis --example stages --
//! [--serde-json] [--reference reference.yaml] FILE...` (the figures in
//! docs/BENCHMARKS.md). Without reference data every lookup misses (no
//! site, no SKU), which the mapping then spells out event by event.

use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `--serde-json`: parse with serde_json's own `Value` visitor instead of
    // the capture path's (the A/B in docs/BENCHMARKS.md).
    // `--reference FILE`: the sites, SKUs and locations the documents
    // name, as `stockade import` reads a YAML reference file.
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    let serde_visitor = files.first().is_some_and(|a| a == "--serde-json");
    if serde_visitor {
        files.remove(0);
    }
    let mut dir = stockade_epcis::Directory::default();
    if files.first().is_some_and(|a| a == "--reference") {
        let path = files.get(1).ok_or("--reference needs a file")?.clone();
        files.drain(..2);
        let value: serde_json::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path)?)?;
        let mut data: stockade_model::ReferenceData = serde_json::from_value(value)?;
        data.normalize();
        dir = stockade_epcis::Directory::new(&data);
    }
    let source = stockade_model::SourceId::new("wms")?;
    let (mut parse, mut validate, mut hash, mut map, mut drop) = Default::default();
    let mut events = 0usize;
    let timed = |total: &mut Duration, started: Instant| *total += started.elapsed();
    for f in &files {
        let bytes = std::fs::read(f)?;
        let t = Instant::now();
        let doc: serde_json::Value =
            if serde_visitor { serde_json::from_slice(&bytes)? } else { stockade_epcis::json::parse(&bytes)? };
        timed(&mut parse, t);
        let t = Instant::now();
        let doc = stockade_epcis::validate::validate_parsed(doc)?;
        timed(&mut validate, t);
        let t = Instant::now();
        let hashes = stockade_epcis::hash::document_hashes(&doc);
        timed(&mut hash, t);
        events += hashes.len();
        let t = Instant::now();
        let mapped = stockade_epcis::map_document(&doc, &dir, &source, None);
        timed(&mut map, t);
        let t = Instant::now();
        std::mem::drop((doc, mapped));
        timed(&mut drop, t);
    }
    // The capture path itself: each event validated, hashed and mapped as it
    // is parsed (stages above: the whole-tree route, one stage at a time).
    let mut one_pass = Duration::ZERO;
    for f in &files {
        let bytes = std::fs::read(f)?;
        let t = Instant::now();
        let mapped = stockade_epcis::capture_json(&bytes, &dir, &source, None)?;
        std::mem::drop(mapped);
        timed(&mut one_pass, t);
    }
    let total: Duration = [parse, validate, hash, map, drop].iter().sum();
    for (name, d) in
        [("parse", parse), ("validate", validate), ("hash", hash), ("map (with hash)", map), ("drop", drop)]
    {
        println!(
            "{name:>16}: {:>7.1} ms  {:>5.2} µs/event",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() * 1e6 / events as f64
        );
    }
    println!("{events} events, {:.1} ms stage by stage (hash twice)", total.as_secs_f64() * 1e3);
    println!(
        "{:>16}: {:>7.1} ms  {:>5.2} µs/event",
        "capture_json",
        one_pass.as_secs_f64() * 1e3,
        one_pass.as_secs_f64() * 1e6 / events as f64
    );
    Ok(())
}
