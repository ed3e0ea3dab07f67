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
//! - that surprise maps to a raw score in [0, 1] with a logistic curve
//!   centred at [`CENTRE`] deviations; the first [`WARM_UP`] values score 0
//!   (the model is still learning what normal is);
//! - the score is then how *unlikely* the recent raw scores are for this
//!   series (the "anomaly likelihood" of Ahmad et al., 2017): the mean of
//!   the last [`SHORT`] raw scores against the long-run mean and variance of
//!   raw scores, as a Gaussian tail, written `2·Φ(z) − 1` floored at 0 (0:
//!   as usual or calmer, near 1: far beyond what this series does); a
//!   series that is always noisy does not alarm on its noise;
//! - an alarm is given once per episode: each score is damped by the
//!   highest score of the last [`REFRACTORY`] rows (by `1 − s^8`, so only
//!   scores near an alarm damp), so a level that stays shifted alarms at
//!   its onset, not on every row after.
//!
//! The likelihood needs a history: scores are 0 for the first
//! [`LIKELIHOOD_WARM_UP`] rows. Measured on the Numenta Anomaly Benchmark,
//! tuned on some of its categories and reported on the others
//! (`docs/DETECTION.md`).
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
/// Recent raw scores averaged for the likelihood.
pub const SHORT: usize = 5;
/// Weight of each raw score in the long-run mean and variance (after a
/// plain average over the first rows).
const LONG_ALPHA: f64 = 0.001;
/// Rows before the likelihood is trusted: scores are 0 before.
pub const LIKELIHOOD_WARM_UP: usize = 300;
/// Rows over which a high score damps the next ones (one alarm an episode).
pub const REFRACTORY: usize = 100;
/// How sharply: a score `s` given lately damps by `1 − s^8` (0.9 by half,
/// 0.5 by less than 1%).
const REFRACTORY_POWER: i32 = 8;

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
    /// The last [`SHORT`] raw scores.
    recent_raw: std::collections::VecDeque<f64>,
    /// Long-run mean and variance of the raw scores.
    raw_mean: f64,
    raw_var: f64,
    /// The scores given over the last [`REFRACTORY`] rows that may still be
    /// the highest of that window, as (row, score), scores decreasing: the
    /// front is the window's maximum (a monotonic queue, O(1) a row).
    given: std::collections::VecDeque<(usize, f64)>,
}

impl SeriesDetector {
    pub fn new() -> SeriesDetector {
        SeriesDetector::default()
    }

    /// Scores a value against what came before, then learns from it.
    pub fn score(&mut self, x: f64) -> f64 {
        let raw = self.raw(x);
        // How unlikely the recent raw scores are, against their long run.
        if self.recent_raw.len() == SHORT {
            self.recent_raw.pop_front();
        }
        self.recent_raw.push_back(raw);
        let short = self.recent_raw.iter().sum::<f64>() / self.recent_raw.len() as f64;
        let row = self.seen - 1;
        let unlikely = if row < LIKELIHOOD_WARM_UP {
            0.0
        } else {
            let z = (short - self.raw_mean) / self.raw_var.max(1e-12).sqrt();
            // 2·Φ(z) − 1, floored at 0: Φ(z) = erfc(−z/√2) / 2.
            (libm::erfc(-z / std::f64::consts::SQRT_2) - 1.0).max(0.0)
        };
        // The long run learns raw scores from the end of the first warm-up
        // (before it they are placeholders, not measurements).
        if row >= WARM_UP {
            let n = row - WARM_UP;
            let a = (1.0 / (n as f64 + 1.0)).max(LONG_ALPHA);
            let d = raw - self.raw_mean;
            self.raw_mean += a * d;
            self.raw_var = (1.0 - a) * (self.raw_var + a * d * d);
        }
        // One alarm an episode: damped by the highest score given lately,
        // to its eighth power so that only scores near an alarm damp (not
        // the ordinary ups and downs of a noisy series).
        while self.given.front().is_some_and(|(at, _)| at + REFRACTORY < row) {
            self.given.pop_front();
        }
        let lately = self.given.front().map_or(0.0, |(_, s)| *s);
        let score = (unlikely * (1.0 - lately.powi(REFRACTORY_POWER))).clamp(0.0, 1.0);
        while self.given.back().is_some_and(|(_, s)| *s <= score) {
            self.given.pop_back();
        }
        self.given.push_back((row, score));
        score
    }

    /// The raw score: the surprise of a value's level and step, through a
    /// logistic curve; then learns the value.
    fn raw(&mut self, x: f64) -> f64 {
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
        // One alarm for the shift, not one a row; and the new level is learned.
        assert!(s[1001..1050].iter().all(|x| *x < 0.1), "{:?}", &s[1001..1010]);
        assert!(s[1150] < 0.5, "new level learned: {}", s[1150]);
    }

    /// No look-ahead: a row's score is the same whatever follows it.
    #[test]
    fn scores_do_not_look_ahead() {
        let f = |i: usize| if i == 90 || i == 400 { 500.0 } else { (i % 13) as f64 };
        let all = scores(&series(500, f));
        let prefix = scores(&series(420, f));
        assert_eq!(&all[..420], &prefix[..]);
        assert!(all[..LIKELIHOOD_WARM_UP].iter().all(|x| *x == 0.0), "warm-up scores 0");
        assert!(all[400] > 0.0, "the second spike scores: {}", all[400]);
    }

    #[test]
    fn a_flat_series_scores_its_one_change() {
        let s = scores(&series(400, |i| if i == 360 { 7.5 } else { 7.0 }));
        assert!(s[360] > 0.9 && s[359] < 0.01, "{} {}", s[360], s[359]);
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
