#!/usr/bin/env python3
"""Prints what `make bench` measured (scripts/bench.sh), and writes it as OUT/bench.json.

    summary.py OUT VALID SCHEMA

OUT holds report.json (the workload generator's report), processes.json (scripts/bench/sample.py),
pgbench.log and pgbench-after.log (the ceiling, before and after the replay); VALID is "yes" when
xmllint accepted the log against SCHEMA.
"""
import json
import re
import sys

out, valid, schema = sys.argv[1], sys.argv[2], sys.argv[3]
report = json.load(open(f"{out}/report.json"))
processes = json.load(open(f"{out}/processes.json"))
def tps(path):
    try:
        match = re.search(r"tps = ([0-9.]+)", open(path).read())
    except OSError:
        return None
    return float(match.group(1)) if match else None


ceilings = [value for value in (tps(f"{out}/pgbench.log"), tps(f"{out}/pgbench-after.log")) if value]
ceiling = sum(ceilings) / len(ceilings) if ceilings else None

commands = report["commands"]
wall = report["wallTimeSeconds"]
dump = report.get("dump") or {}
dump_seconds = dump.get("seconds")
to_answer = commands / wall if wall else 0.0
to_log = commands / (wall + dump_seconds) if wall and dump_seconds is not None and not dump.get("error") else None

def cpu_at(series, moment):
    """Each part's cumulative CPU seconds at `moment`, interpolated between samples."""
    before = max((entry for entry in series if entry[0] <= moment), key=lambda entry: entry[0], default=series[0])
    after = min((entry for entry in series if entry[0] >= moment), key=lambda entry: entry[0], default=series[-1])
    span = after[0] - before[0]
    weight = (moment - before[0]) / span if span > 0 else 0.0
    names = set(before[1]) | set(after[1])
    return {name: before[1].get(name, 0.0) + weight * (after[1].get(name, 0.0) - before[1].get(name, 0.0)) for name in names}


def cpu_by_tenth(processes, tenths, commands, report):
    """[(part, [ms/command in each tenth])], the parts by total CPU, plus the whole stack."""
    series, seen = processes.get("cpuSeries"), processes.get("generatorLastSeen")
    if not series or seen is None or len(tenths) != 10:
        return None
    per_tenth = commands / 10
    end = seen - ((report.get("dump") or {}).get("seconds") or 0.0)
    bounds = [end]
    for rate in reversed(tenths):
        bounds.insert(0, bounds[0] - per_tenth / rate)
    readings = [cpu_at(series, moment) for moment in bounds]
    names = sorted(readings[-1], key=lambda name: -readings[-1][name])
    rows = [(name, [1000 * (readings[i + 1].get(name, 0.0) - readings[i].get(name, 0.0)) / per_tenth for i in range(10)]) for name in names]
    rows.append(("all", [sum(row[1][i] for row in rows) for i in range(10)]))
    return rows


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
    lines.append(f"ceiling         {ceiling:.1f} calls/s (pgbench, reference function, one call per command; "
                 + " before, ".join(f"{value:.1f}" for value in ceilings) + (" after" if len(ceilings) == 2 else "") + ")")
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
lines.append(f"whole stack peak PSS {processes['peakStackPssMiB']:.1f} MiB "
             f"({processes['peakSystemPssMiB']:.1f} MiB without the workload generator)")
tenths = report.get("tenths")
if tenths:
    lines.append("")
    lines.append("commands/s by tenth of the run: " + ", ".join(f"{rate:.0f}" for rate in tenths))
    lines.append(f"last tenth / first tenth: {tenths[-1] / tenths[0]:.2f}")
    if len(ceilings) == 2:
        # The machine's speed drifts over a run: each end of the run against the ceiling measured
        # beside it (the first tenth against the one before the replay, the last against the one
        # after), as every other target is a ratio to the ceiling (docs/DECISIONS.md 60).
        before, after = ceilings
        lines.append(f"last tenth / first tenth, each against its ceiling: "
                     f"{(tenths[-1] / after) / (tenths[0] / before):.2f} "
                     f"({tenths[-1] / after:.3f}x after, {tenths[0] / before:.3f}x before; ceiling after / before {after / before:.2f})")
    by_tenth = cpu_by_tenth(processes, tenths, commands, report)
    if by_tenth:
        lines.append("CPU ms/command by tenth (the tenths' ends counted back from the generator's exit):")
        for name, values in by_tenth:
            lines.append(f"  {name:<18}" + "".join(f"{value:>7.3f}" for value in values))
print("\n".join(lines))

json.dump({
    "workload": report["workload"], "commands": commands, "failed": report["failed"],
    "commandsPerSecondToLastAnswer": round(to_answer, 1),
    "commandsPerSecondToCompleteLog": round(to_log, 1) if to_log is not None else None,
    "dumpSeconds": dump_seconds, "logValid": valid == "yes",
    "ceilingCallsPerSecond": ceiling, "ceilingRuns": ceilings,
    "ratioToCeiling": round(to_answer / ceiling, 3) if ceiling else None,
    "latencyMs": latency, "processes": processes, "tenths": tenths,
}, open(f"{out}/bench.json", "w"), indent=2)
