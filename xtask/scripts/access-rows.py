#!/usr/bin/env python3
"""One million access-control rows for the mapped-CSV benchmark (docs/BENCHMARKS.md).

Writes the same events twice: as an export in the shape of
examples/exports/access-control.csv (for examples/mappings/access-control.yaml)
and as NDJSON, so that the two loads can be compared.

usage: python3 xtask/scripts/access-rows.py [ROWS] [OUT_PREFIX]
       (defaults: 1000000 /tmp/acs1m -> /tmp/acs1m.csv, /tmp/acs1m.ndjson)
"""
import datetime
import json
import random
import sys

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out = sys.argv[2] if len(sys.argv) > 2 else "/tmp/acs1m"
random.seed(7)
doors = ["LYS-D-MAIN", "LYS-D-CAGE", "LYS-D-DOCK1", "LYS-D-IT"]
badges = ["B-1001", "B-1002", "B-1003"]
t = datetime.datetime(2026, 11, 2, 6, 0, 0)  # November: Europe/Paris is +01:00
with open(out + ".csv", "w") as c, open(out + ".ndjson", "w") as n:
    c.write("event_no,time,site,door,badge,result,direction,reason\n")
    for i in range(1, rows + 1):
        t += datetime.timedelta(seconds=random.randint(0, 2))
        door, badge = random.choice(doors), random.choice(badges)
        granted = random.random() < 0.97
        direction = random.choice(["IN", "OUT"])
        reason = "" if granted else "no right"
        result = "granted" if granted else "denied"
        c.write(f"{i},{t:%Y-%m-%d %H:%M:%S},LYS,{door},{badge},{result},{direction},{reason}\n")
        ev = {
            "id": str(i),
            "source": "acs-lys",
            "site": "LYS",
            "occurred_at": f"{t:%Y-%m-%dT%H:%M:%S}+01:00",
            "kind": f"access.{result}",
            "door": door,
            "badge": badge,
            "direction": direction.lower(),
        }
        if reason:
            ev["reason"] = reason
        n.write(json.dumps(ev, separators=(",", ":")) + "\n")
