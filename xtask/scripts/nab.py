#!/usr/bin/env python3
"""Scores `stockade series-detect` on the Numenta Anomaly Benchmark (NAB).

    python3 xtask/scripts/nab.py --nab NAB_CHECKOUT [--stockade target/release/stockade]
    python3 xtask/scripts/nab.py --self-test

NAB (github.com/numenta/NAB, MIT) is 58 real and artificial series with
labelled anomaly windows. Each file is run through `stockade series-detect`
(online, no look-ahead, nothing tuned on NAB), then scored by NAB's rules as
published in its `nab/sweeper.py`, re-implemented here (standard library
only): the first 15% of each file (at most 750 rows) is probationary and not
scored; a detection inside a window scores by a scaled sigmoid of how early
it comes (only the best one per window counts), one outside scores a false
positive weighted by how far it is after the last window (a full one before
any window), a window without a detection costs a false negative; one
threshold is chosen for the whole corpus, the one with the best total; the
total is normalised so that a detector that never fires scores 0 and a
perfect one 100, for each of NAB's three cost profiles.
"""

import argparse
import json
import math
import os
import subprocess
import sys
from datetime import datetime

PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
PROBATION = 0.15
# Which categories series-detect's likelihood and refractory settings were
# chosen on, and which were held out (docs/DETECTION.md).
SPLIT = [
    ("tuned on", ["artificialWithAnomaly", "artificialNoAnomaly", "realAWSCloudwatch", "realAdExchange"]),
    ("held out", ["realKnownCause", "realTraffic", "realTweets"]),
]


def scaled_sigmoid(x):
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def parse_time(s):
    s = s.strip()
    for f in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(s, f)
        except ValueError:
            pass
    raise ValueError(f"not a NAB time: {s!r}")


def sweep_points(name, times, scores, windows, w):
    """Each scorable row as (anomaly score, weighted score, window or None)."""
    n = len(times)
    probation = min(math.floor(PROBATION * n), PROBATION * 5000)
    index = {t: i for i, t in enumerate(times)}
    wins = [(index[a], index[b]) for a, b in windows]
    points = []
    cur = None  # (left, right, width, name)
    prev_right = prev_width = None
    k = 0
    for i in range(n):
        if cur is None and k < len(wins) and i == wins[k][0]:
            left, right = wins[k]
            cur = (left, right, float(right - left + 1), f"{name}|{k}")
            k += 1
        if cur is not None:
            position = -(cur[1] - i + 1) / cur[2]
            weighted = scaled_sigmoid(position) * w["tp"] / MAX_TP
            window = cur[3]
        else:
            if prev_right is None:
                unweighted = -1.0
            else:
                unweighted = scaled_sigmoid(abs(prev_right - i) / (prev_width - 1.0))
            weighted = unweighted * w["fp"]
            window = None
        if i >= probation:
            points.append((scores[i], weighted, window))
        if cur is not None and i == cur[1]:
            prev_right, prev_width = cur[1], cur[2]
            cur = None
    return points


def best_threshold(points, w):
    """The corpus's best (score, threshold), sweeping thresholds down."""
    points = sorted(points, key=lambda p: p[0], reverse=True)
    parts = {"fp": 0.0}
    for _, _, window in points:
        if window is not None:
            parts[window] = -w["fn"]
    total = sum(parts.values())
    best = (total, 1.1)
    threshold = 1.1
    for score, weighted, window in points:
        if score != threshold:
            best = max(best, (total, threshold))
            threshold = score
        if window is None:
            parts["fp"] += weighted
            total += weighted
        elif weighted > parts[window]:
            total += weighted - parts[window]
            parts[window] = weighted
    return max(best, (total, threshold))


def corpus_score(files, scores_of, profile):
    w = PROFILES[profile]
    points = []
    windows = 0
    for name, (times, window_list) in files.items():
        windows += len(window_list)
        points.extend(sweep_points(name, times, scores_of(name, times), window_list, w))
    raw, threshold = best_threshold(points, w)
    null, _ = best_threshold(
        [p for name, (times, wl) in files.items() for p in sweep_points(name, times, [0.5] * len(times), wl, w)], w)
    perfect = windows * w["tp"]
    return 100.0 * (raw - null) / (perfect - null), threshold, raw, null


def load_corpus(nab):
    with open(os.path.join(nab, "labels", "combined_windows.json")) as f:
        labels = json.load(f)
    files = {}
    for rel, wins in sorted(labels.items()):
        path = os.path.join(nab, "data", rel)
        with open(path) as f:
            rows = f.read().splitlines()[1:]
        times = [parse_time(r.split(",")[0]) for r in rows if r]
        files[rel] = (times, [(parse_time(a), parse_time(b)) for a, b in wins])
    return files


def series_detect(stockade, nab, rel, fixed):
    """Scores one file. series-detect refuses times that go backwards (as it
    must); one NAB file has such a row, whose time is given as the row
    before's (its value and place kept), and counted in `fixed`."""
    with open(os.path.join(nab, "data", rel)) as f:
        lines = f.read().splitlines()
    out_lines, last = [lines[0]], None
    for line in lines[1:]:
        if not line:
            continue
        t, v = line.split(",", 1)
        if last is not None and parse_time(t) < parse_time(last):
            fixed.append(f"{rel}: {t} after {last}")
            t = last
        last = t
        out_lines.append(f"{t},{v}")
    out = subprocess.run([stockade, "series-detect", "-"], input="\n".join(out_lines) + "\n",
                         check=True, capture_output=True, text=True).stdout
    return [float(line.rsplit(",", 1)[1]) for line in out.splitlines()[1:] if line]


def self_test():
    """A perfect detector scores 100, one that never fires 0, one that
    fires everywhere below 0; a late detection between the two."""
    t = [datetime(2020, 1, 1, 0, i // 60, i % 60) for i in range(1000)]
    files = {"a.csv": (t, [(t[500], t[599])]), "b.csv": (t, [(t[200], t[249]), (t[800], t[899])])}
    def at(rows):
        return lambda name, times: [1.0 if i in rows[name] else 0.0 for i in range(len(times))]
    perfect = at({"a.csv": {500}, "b.csv": {200, 800}})
    late = at({"a.csv": {598}, "b.csv": {248, 898}})
    never = lambda name, times: [0.0] * len(times)
    always = lambda name, times: [1.0] * len(times)
    for profile in PROFILES:
        assert abs(corpus_score(files, perfect, profile)[0] - 100.0) < 1e-9, profile
        assert abs(corpus_score(files, never, profile)[0]) < 1e-9, profile
        assert corpus_score(files, always, profile)[0] < 0.0 + 1e-9, profile
        assert 0.0 < corpus_score(files, late, profile)[0] < 99.0, profile
    # The scaled sigmoid's published anchor values.
    assert abs(scaled_sigmoid(-1.0) - 0.98661) < 1e-5 and abs(scaled_sigmoid(-0.5) - 0.84828) < 1e-5
    assert scaled_sigmoid(0.0) == 0.0 and scaled_sigmoid(3.5) == -1.0
    print("self-test passed")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nab", help="a checkout of github.com/numenta/NAB (its data/ and labels/)")
    p.add_argument("--stockade", default="target/release/stockade")
    p.add_argument("--self-test", action="store_true")
    p.add_argument("--split", action="store_true",
                   help="also score the categories the detector was tuned on and the held-out ones apart")
    a = p.parse_args()
    if a.self_test:
        self_test()
        return 0
    if not a.nab:
        p.error("--nab is required")
    files = load_corpus(a.nab)
    scores, fixed = {}, []
    for rel in files:
        scores[rel] = series_detect(a.stockade, a.nab, rel, fixed)
        if len(scores[rel]) != len(files[rel][0]):
            sys.exit(f"{rel}: {len(scores[rel])} scores for {len(files[rel][0])} rows")
    for f in fixed:
        print(f"time going backwards, given the row before's: {f}")
    parts = [("all", files)]
    if a.split:
        parts += [(name, {k: v for k, v in files.items() if k.split("/")[0] in cats}) for name, cats in SPLIT]
    for part, chosen in parts:
        windows = sum(len(w) for _, w in chosen.values())
        rows = sum(len(t) for t, _ in chosen.values())
        print(f"{part}: {len(chosen)} files, {rows} rows, {windows} windows")
        for profile in PROFILES:
            score, threshold, raw, null = corpus_score(chosen, lambda name, times: scores[name], profile)
            print(f"  {profile:20s} {score:6.1f}   (threshold {threshold:.4f}, raw {raw:.2f}, null {null:.2f}, "
                  f"perfect {windows * PROFILES[profile]['tp']:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
