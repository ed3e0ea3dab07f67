//! A streaming anomaly score for one numeric series: each value is scored
//! against what came before it only (no look-ahead), and then learned from.
//!
//! The model is deliberately small and robust, so that it holds on series it
//! was never tuned on:
//! - the level and the step (the change from the previous value) each keep
//!   an exponentially weighted mean and mean absolute deviation, updated
//!   with the residual clipped to a few deviations, so that an anomaly does
//!   not teach the model that anomalies are normal;
//! - a value's surprise is the larger of its level and step deviations, in
//!   units of their running deviation (floored by a small fraction of the
//!   series' scale, so a flat series does not make every wiggle infinite);
//! - the score maps surprise to [0, 1] with a logistic curve centred at
//!   [`CENTRE`] deviations; the first [`WARM_UP`] values score 0 (the model
//!   is still learning what normal is).
//!
//! Invariants: the score of row `i` depends on rows `0..=i` only; scores are
//! in [0, 1]; the same input gives the same output.

use std::io::{Read, Write};

/// Values scored 0 while the model learns.
pub const WARM_UP: usize = 24;
/// Deviations at which the score is one half.
pub const CENTRE: f64 = 5.0;
/// Steepness of the logistic curve.
const SLOPE: f64 = 1.6;
/// Weight of each new value in the running mean and deviation.
const ALPHA: f64 = 0.03;
/// Residuals are clipped to this many deviations when learning.
const CLIP: f64 = 4.0;

/// An exponentially weighted mean and mean absolute deviation, learning
/// robustly (residuals clipped to a few deviations); shared with the
/// detector's volume baselines.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ewm {
    pub mean: f64,
    pub dev: f64,
    pub n: usize,
}

impl Ewm {
    /// How far `x` is from the mean, in deviations (`floor`: the least deviation).
    pub fn surprise(&self, x: f64, floor: f64) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        (x - self.mean).abs() / self.dev.max(floor)
    }

    /// Learns a value (the first one sets the mean).
    pub fn learn(&mut self, x: f64, floor: f64) {
        if self.n == 0 {
            self.mean = x;
            self.dev = 0.0;
        } else {
            // Faster learning at first (a plain average), then exponential.
            let a = (1.0 / (self.n as f64 + 1.0)).max(ALPHA);
            let limit = CLIP * self.dev.max(floor);
            let r = (x - self.mean).clamp(-limit, limit);
            self.mean += a * r;
            self.dev += a * (r.abs() - self.dev);
        }
        self.n += 1;
    }
}

/// The detector's state for one series.
#[derive(Debug, Clone, Default)]
pub struct SeriesDetector {
    level: Ewm,
    step: Ewm,
    /// Running mean of |value|: the series' scale, for the deviation floors.
    scale: f64,
    previous: Option<f64>,
    seen: usize,
}

impl SeriesDetector {
    pub fn new() -> SeriesDetector {
        SeriesDetector::default()
    }

    /// Scores a value against what came before, then learns from it.
    pub fn score(&mut self, x: f64) -> f64 {
        let floor = 1e-9 + 1e-3 * self.scale;
        let step = self.previous.map(|p| x - p);
        let surprise = self.level.surprise(x, floor).max(step.map_or(0.0, |d| self.step.surprise(d, floor)));
        let score = if self.seen < WARM_UP { 0.0 } else { 1.0 / (1.0 + (-(surprise - CENTRE) * SLOPE).exp()) };
        self.level.learn(x, floor);
        if let Some(d) = step {
            self.step.learn(d, floor);
        }
        self.seen += 1;
        self.scale += (x.abs() - self.scale) / (self.seen as f64).min(1.0 / ALPHA);
        self.previous = Some(x);
        score.clamp(0.0, 1.0)
    }
}

/// Why a series could not be scored: the line, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("line 1: the header must be `timestamp,value`, found {0:?}")]
    Header(String),
    #[error("the file is empty: the first line must be the header `timestamp,value`")]
    Empty,
    #[error("line {line}: {reason}")]
    Row { line: usize, reason: String },
    #[error("reading: {0}")]
    Read(String),
    #[error("writing: {0}")]
    Write(#[from] std::io::Error),
}

/// Reads a time as series exports write it: RFC 3339, `YYYY-MM-DD HH:MM:SS`
/// (UTC), or Unix seconds; in microseconds.
fn parse_time(t: &str) -> Option<i64> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_micros());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return Some(d.and_utc().timestamp_micros());
        }
    }
    let secs: f64 = t.parse().ok()?;
    secs.is_finite().then_some((secs * 1e6) as i64)
}

/// Scores a `timestamp,value` CSV (header included) into
/// `timestamp,value,anomaly_score`, row by row as it reads. Returns the
/// number of rows scored. A row that cannot be read stops it with its line.
pub fn score_csv<R: Read, W: Write>(input: R, mut out: W) -> Result<usize, SeriesError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input);
    let mut records = rdr.records();
    let header = match records.next() {
        None => return Err(SeriesError::Empty),
        Some(r) => r.map_err(|e| SeriesError::Read(e.to_string()))?,
    };
    let cells: Vec<String> =
        header.iter().map(|c| c.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
    if cells != ["timestamp", "value"] {
        return Err(SeriesError::Header(header.iter().collect::<Vec<_>>().join(",")));
    }
    writeln!(out, "timestamp,value,anomaly_score")?;
    let mut detector = SeriesDetector::new();
    let (mut rows, mut last_time) = (0, i64::MIN);
    for (i, rec) in records.enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| SeriesError::Row { line, reason: e.to_string() })?;
        let cells: Vec<&str> = rec.iter().map(|c| c.trim()).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        let [time, value] = cells[..] else {
            return Err(SeriesError::Row {
                line,
                reason: format!("expected 2 cells (timestamp,value), found {}", cells.len()),
            });
        };
        let t = parse_time(time).ok_or_else(|| SeriesError::Row {
            line,
            reason: format!("timestamp {time:?} is not RFC 3339, `YYYY-MM-DD HH:MM:SS` or Unix seconds"),
        })?;
        if t < last_time {
            return Err(SeriesError::Row { line, reason: format!("timestamp {time:?} goes back in time") });
        }
        last_time = t;
        let x: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| SeriesError::Row { line, reason: format!("value {value:?} is not a finite number") })?;
        let score = detector.score(x);
        writeln!(out, "{time},{value},{}", format_score(score))?;
        rows += 1;
    }
    Ok(rows)
}

/// Six decimals, trailing zeros dropped.
fn format_score(s: f64) -> String {
    let t = format!("{s:.6}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    if t.is_empty() { "0".into() } else { t.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize, f: impl Fn(usize) -> f64) -> String {
        let mut s = String::from("timestamp,value\n");
        for i in 0..n {
            let t = chrono::DateTime::from_timestamp(1_790_000_000 + i as i64 * 300, 0).unwrap();
            s.push_str(&format!("{},{}\n", t.format("%Y-%m-%d %H:%M:%S"), f(i)));
        }
        s
    }

    fn scores(csv: &str) -> Vec<f64> {
        let mut out = Vec::new();
        score_csv(csv.as_bytes(), &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
            .collect()
    }

    /// A noisy daily pattern with a spike and a level shift: the anomalies
    /// score high, ordinary values low.
    #[test]
    fn spikes_and_shifts_stand_out_and_noise_does_not() {
        let noise = |i: usize| ((i * 7919 % 101) as f64 / 101.0 - 0.5) * 2.0;
        let f = |i: usize| {
            let base = 50.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 288.0).sin() + noise(i);
            match i {
                700 => base + 40.0,
                1000.. => base + 30.0,
                _ => base,
            }
        };
        let s = scores(&series(1200, f));
        assert!(s.iter().all(|x| (0.0..=1.0).contains(x)));
        assert!(s[700] > 0.9, "spike {}", s[700]);
        assert!(s[1000] > 0.9, "level shift {}", s[1000]);
        let mut normal: Vec<f64> = s[100..690].to_vec();
        normal.sort_by(f64::total_cmp);
        assert!(normal[normal.len() / 2] < 0.05, "median ordinary score {}", normal[normal.len() / 2]);
        let false_alarms = normal.iter().filter(|x| **x > 0.5).count();
        assert!(false_alarms <= 3, "{false_alarms} ordinary values scored above 0.5");
        // After the shift the model learns the new level.
        assert!(s[1150] < 0.5, "new level learned: {}", s[1150]);
    }

    /// No look-ahead: a row's score is the same whatever follows it.
    #[test]
    fn scores_do_not_look_ahead() {
        let f = |i: usize| if i == 90 { 500.0 } else { (i % 13) as f64 };
        let all = scores(&series(200, f));
        let prefix = scores(&series(120, f));
        assert_eq!(&all[..120], &prefix[..]);
        assert!(all[..WARM_UP].iter().all(|x| *x == 0.0), "warm-up scores 0");
    }

    #[test]
    fn a_flat_series_scores_its_one_change() {
        let s = scores(&series(100, |i| if i == 60 { 7.5 } else { 7.0 }));
        assert!(s[60] > 0.9 && s[59] < 0.01, "{} {}", s[60], s[59]);
    }

    /// Bad input says which line.
    #[test]
    fn bad_input_names_the_line() {
        let err = |csv: &str| score_csv(csv.as_bytes(), Vec::new()).unwrap_err().to_string();
        assert_eq!(err(""), "the file is empty: the first line must be the header `timestamp,value`");
        assert!(err("2026-01-01 00:00:00,1\n").contains("line 1: the header must be `timestamp,value`"));
        assert_eq!(
            err("timestamp,value\nyesterday,1\n"),
            "line 2: timestamp \"yesterday\" is not RFC 3339, `YYYY-MM-DD HH:MM:SS` or Unix seconds"
        );
        assert_eq!(err("timestamp,value\n2026-01-01 00:00:00,abc\n"), "line 2: value \"abc\" is not a finite number");
        assert_eq!(
            err("timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:10:00,NaN\n"),
            "line 3: value \"NaN\" is not a finite number"
        );
        assert_eq!(
            err("timestamp,value\r\n2026-01-02 00:00:00,1\r\n2026-01-01 00:00:00,2\r\n"),
            "line 3: timestamp \"2026-01-01 00:00:00\" goes back in time"
        );
        assert_eq!(
            err("timestamp,value\n2026-01-01 00:00:00,1,9\n"),
            "line 2: expected 2 cells (timestamp,value), found 3"
        );
        // Accepted forms of time, and the output shape.
        let mut out = Vec::new();
        let n = score_csv("Timestamp,Value\n2026-01-01T00:00:00Z,1\n1767225660,2.5\n\n".as_bytes(), &mut out).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "timestamp,value,anomaly_score\n2026-01-01T00:00:00Z,1,0\n1767225660,2.5,0\n"
        );
    }
}
