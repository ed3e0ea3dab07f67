#!/bin/bash
# Event-to-alert latency under a steady load (issue 17): a fresh server with
# the full rule pack, fed a simulated network at RATE events/s by
# `stockade simulate --to --rate`, then its own measurements read from
# /metrics once detection has applied everything.
#   RATE=50000 SITES=3 DAYS=28 xtask/scripts/alert-latency.sh
set -e
B=${STOCKADE:-target/release/stockade}
RATE=${RATE:-50000}
SITES=${SITES:-3}
DAYS=${DAYS:-28}
SEED=${SEED:-41}
D=$(mktemp -d /tmp/alert-latency.XXXX)
export RUST_LOG=warn
TOKEN=$($B token create --role admin --data $D/data | tail -1)
PORT=$((20000 + RANDOM % 20000))
$B serve --data $D/data --listen 127.0.0.1:$PORT > ${SERVE_LOG:-$D/serve.log} 2>&1 &
SERVER=$!
trap "kill $SERVER 2>/dev/null; rm -rf $D" EXIT
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/api/v1/health && break; sleep 0.1; done
T0=$(date +%s.%N)
$B simulate --sites $SITES --days $DAYS --seed $SEED --to http://127.0.0.1:$PORT --token $TOKEN --rate $RATE 2>&1 | tail -1
# Wait until detection has applied every stored event.
for i in $(seq 600); do
  S=$(curl -s -H "authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/api/v1/status)
  python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s.get("detected_through") == s.get("book_through") else 1)' "$S" && break
  sleep 0.1
done
# End to end: from the stream's start until every stored event is detected.
T1=$(date +%s.%N)
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); t=float(sys.argv[3])-float(sys.argv[2]); n=s.get("book_through"); print(f"stored, in the ledger and detected through seq {n} {t:.1f} s after the stream began: {n/t:,.0f} events/s end to end")' "$S" $T0 $T1
# Percentiles from the cumulative histograms: the bucket each falls in.
curl -s http://127.0.0.1:$PORT/metrics | python3 -c '
import sys, re
h = {}
for line in sys.stdin:
    m = re.match(r"(stockade_event_\w+)_seconds_bucket\{le=\"([^\"]+)\"\} (\S+)", line)
    if m:
        h.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
for name, buckets in sorted(h.items()):
    total = buckets[-1][1]
    def q(p):
        prev = 0.0
        for le, n in buckets:
            if n >= p * total:
                return f"{prev * 1000:g}-{le * 1000:g} ms"
            prev = le
    print(f"{name}: {total:.0f} events; p50 {q(0.5)}, p90 {q(0.9)}, p99 {q(0.99)}, max within {q(1.0)}")
'
