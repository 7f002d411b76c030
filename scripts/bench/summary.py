#!/usr/bin/env python3
"""Prints what `make bench` measured (scripts/bench.sh), and writes it as OUT/bench.json.

    summary.py OUT VALID SCHEMA

OUT holds report.json (the workload generator's report), processes.json (scripts/bench/sample.py)
and pgbench.log (the ceiling run); VALID is "yes" when xmllint accepted the log against SCHEMA.
"""
import json
import re
import sys

out, valid, schema = sys.argv[1], sys.argv[2], sys.argv[3]
report = json.load(open(f"{out}/report.json"))
processes = json.load(open(f"{out}/processes.json"))
pgbench = open(f"{out}/pgbench.log").read()
match = re.search(r"tps = ([0-9.]+)", pgbench)
ceiling = float(match.group(1)) if match else None

commands = report["commands"]
wall = report["wallTimeSeconds"]
dump = report.get("dump") or {}
dump_seconds = dump.get("seconds")
to_answer = commands / wall if wall else 0.0
to_log = commands / (wall + dump_seconds) if wall and dump_seconds is not None and not dump.get("error") else None

lines = []
lines.append(f"workload        {report['workload']}: {commands} commands, {report['answered']} answered "
             f"({report['rejected']} rejected), {report['failed']} failed, {report['retries']} retries")
lines.append(f"to last answer  {wall:.2f} s: {to_answer:.1f} commands/s")
if to_log is not None:
    lines.append(f"to complete log {wall + dump_seconds:.2f} s: {to_log:.1f} commands/s "
                 f"(DUMPLOG {dump_seconds:.2f} s, {dump.get('bytes', 0)} bytes; valid against {schema}: {valid})")
else:
    lines.append(f"to complete log: DUMPLOG failed: {dump.get('error')}")
if ceiling:
    lines.append(f"ceiling         {ceiling:.1f} calls/s (pgbench, reference function, one call per command)")
    lines.append(f"ratio           {to_answer / ceiling:.2f}x the ceiling to the last answer"
                 + (f", {to_log / ceiling:.2f}x to the complete log" if to_log is not None else ""))
lines.append("")
lines.append(f"{'latency ms':<18}{'count':>9}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}")
latency = report["latencyMs"]
for name, s in sorted(latency["byCommand"].items()):
    lines.append(f"{name:<18}{s['count']:>9}{s['p50']:>10.2f}{s['p90']:>10.2f}{s['p99']:>10.2f}{s['max']:>10.2f}")
s = latency["overall"]
lines.append(f"{'overall':<18}{s['count']:>9}{s['p50']:>10.2f}{s['p90']:>10.2f}{s['p99']:>10.2f}{s['max']:>10.2f}")
lines.append("")
lines.append(f"{'process':<20}{'CPU s':>9}{'ms/command':>12}{'peak RSS MiB':>14}")
total = 0.0
for name, seconds in sorted(processes["cpuSeconds"].items(), key=lambda item: -item[1]):
    total += seconds
    rss = processes["peakRssMiB"].get(name, 0)
    lines.append(f"{name:<20}{seconds:>9.1f}{1000 * seconds / commands:>12.3f}{rss:>14.1f}")
lines.append(f"{'all':<20}{total:>9.1f}{1000 * total / commands:>12.3f}")
lines.append(f"whole stack peak PSS {processes['peakStackPssMiB']:.1f} MiB")
tenths = report.get("tenths")
if tenths:
    lines.append("")
    lines.append("commands/s by tenth of the run: " + ", ".join(f"{rate:.0f}" for rate in tenths))
    lines.append(f"last tenth / first tenth: {tenths[-1] / tenths[0]:.2f}")
print("\n".join(lines))

json.dump({
    "workload": report["workload"], "commands": commands, "failed": report["failed"],
    "commandsPerSecondToLastAnswer": round(to_answer, 1),
    "commandsPerSecondToCompleteLog": round(to_log, 1) if to_log is not None else None,
    "dumpSeconds": dump_seconds, "logValid": valid == "yes",
    "ceilingCallsPerSecond": ceiling,
    "ratioToCeiling": round(to_answer / ceiling, 3) if ceiling else None,
    "latencyMs": latency, "processes": processes, "tenths": tenths,
}, open(f"{out}/bench.json", "w"), indent=2)
