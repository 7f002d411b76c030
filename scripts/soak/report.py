#!/usr/bin/env python3
"""The soak's verdict: each part's memory (PSS) in the first minute after the warm-up and in the
run's last minute (medians of the 4 s samples), and its growth; at most 10% each, the log valid,
reconciliation passed, every line answered.

Usage: report.py OUT_DIR VALID(yes|no) RECONCILE_STATUS GENERATOR_STATUS"""
import json
import statistics
import sys

out, valid, reconciled, generator = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
samples = json.load(open(f"{out}/processes.json"))["pssSeries"]
end = samples[-1][0] if samples else 0
warmup = max(60.0, end / 5)


def median(part, start, stop):
    values = [parts[part] for at, parts in samples if start <= at < stop and part in parts]
    return statistics.median(values) if values else None


report = json.load(open(f"{out}/report.json"))
names = sorted({name for _, parts in samples for name in parts} - {"workload-generator"})
print(f"soak: {end / 60:.1f} minutes sampled, warm-up {warmup / 60:.1f}; {report.get('answered', '?')} lines answered, "
      f"{report.get('failed', '?')} failed, {report.get('commandsPerSecond', 0):.1f} commands/s")
print(f"{'part':<20} {'after warm-up MiB':>18} {'last minute MiB':>16} {'growth':>8}")
grown = []
for name in names:
    first, last = median(name, warmup, warmup + 60), median(name, end - 60, end + 1)
    if first is None or last is None:
        continue
    growth = last / first - 1 if first else 0
    if growth > 0.10:
        grown.append(name)
    print(f"{name:<20} {first:>18.1f} {last:>16.1f} {growth:>+8.1%}")
print(f"log {'valid' if valid == 'yes' else 'NOT valid'}; reconciliation {'passed' if reconciled == 0 else 'FAILED'}")
ok = not grown and valid == "yes" and reconciled == 0 and generator == 0 and report.get("failed", 1) == 0
print("soak: " + ("passed" if ok else "FAILED" + (f" (grew more than 10%: {', '.join(grown)})" if grown else "")))
sys.exit(0 if ok else 1)
