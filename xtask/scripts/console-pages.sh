#!/bin/bash
# Times each console page over the demo's data: 20 requests each, median and max.
set -e
B=${STOCKADE:-target/release/stockade}
D=/tmp/demo-pages
rm -rf $D
$B demo --no-serve --data $D > /tmp/demo-pages.out 2>&1
printf 'correct horse battery\n' | $B user create bench --role analyst --password-stdin --data $D 2>/dev/null
PORT=18181
$B serve --data $D --listen 127.0.0.1:$PORT > /tmp/pages-serve.log 2>&1 &
SERVER=$!
sleep 3
curl -s -o /dev/null -c /tmp/pages.jar -d 'name=bench&password=correct+horse+battery' http://127.0.0.1:$PORT/login
for p in /console /console/alerts "/console/alerts?untaken=true" "/console/incidents?status=open" "/console/incidents?status=all" /console/incidents/INC-1 /console/incidents/INC-20 /console/inventory "/console/inventory?zone=S02-CAGE" /console/people /console/scorecard /console/incidents/INC-1/report "/console/incidents/INC-1/report?format=pdf" "/console/scorecard?format=pdf" /console/ledger; do
  ts=()
  for i in $(seq 20); do
    t=$(curl -s -o /dev/null -b /tmp/pages.jar -w '%{time_total}' "http://127.0.0.1:$PORT$p")
    ts+=($t)
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk -v p="$p" '{a[NR]=$1} END {printf "%-34s median %.1f ms  max %.1f ms\n", p, a[int((NR+1)/2)]*1000, a[NR]*1000}'
done
kill $SERVER
