#!/usr/bin/env python3
"""The table `make chaos` prints: per fault, seconds down, requests retried, commands lost,
commands applied twice, events lost, events doubled; then whether the log is valid with
exactly one userCommand per line and whether reconciliation passed. Exit status 1 unless all of
that holds.

Usage: report.py OUT_DIR WORKLOAD VALID(yes|no) RECONCILE_STATUS

- A line's userCommands are counted in the log by transactionNum (the generator sends line
  numbers): none is a command lost, two or more a command applied twice.
- Events lost and doubled are reconciliation's ledger cash movements missing from the log and
  the log's accountTransactions without a ledger row (reconcile.txt).
- Each is charged to the fault whose window (from its start to the next fault's start) holds
  the line's time: its first userCommand's timestamp, or, for a line never logged, that of the
  same user's line before it.
- Requests retried: the generator's retry count at the next fault's start minus at this one's
  (its progress line, written every 5 s), the last fault's up to the report's total."""
import bisect
import json
import re
import sys

out, workload, valid, reconcile_status = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

users = {}
for raw in open(workload, encoding="utf-8", errors="replace"):
    match = re.match(r"\[(\d+)\]\s*([A-Z_]+),?([^,\s]*)", raw)
    if match:
        users[int(match.group(1))] = match.group(3) if match.group(2) != "DUMPLOG" else ""

stamps = {}
number = stamp = None
inside = False
for raw in open(f"{out}/log.xml", encoding="utf-8", errors="replace"):
    line = raw.strip()
    if line == "<userCommand>":
        inside, number, stamp = True, None, None
    elif line == "</userCommand>":
        if number is not None:
            stamps.setdefault(number, []).append(stamp or 0)
        inside = False
    elif inside and line.startswith("<transactionNum>"):
        number = int(line[len("<transactionNum>"):-len("</transactionNum>")])
    elif inside and line.startswith("<timestamp>"):
        stamp = int(line[len("<timestamp>"):-len("</timestamp>")])

faults = []
for raw in open(f"{out}/faults.tsv"):
    name, start, end, retried = raw.rstrip("\n").split("\t")
    faults.append((name, int(start), int(end), int(retried or 0)))
starts = [start for _, start, _, _ in faults]
rows = ["(before any fault)"] + [name for name, _, _, _ in faults]


def window(time):
    return bisect.bisect_right(starts, time)


# Each line's time: its first userCommand's, else the same user's line before it.
line_time, last_of_user = {}, {}
for number in sorted(users):
    user = users[number]
    if number in stamps:
        line_time[number] = min(stamps[number])
    else:
        line_time[number] = last_of_user.get(user, 0)
    last_of_user[user] = line_time[number]

counts = {row: {"lost": 0, "twice": 0, "events lost": 0, "events doubled": 0} for row in rows}
for number in users:
    seen = len(stamps.get(number, []))
    if seen == 0:
        counts[rows[window(line_time[number])]]["lost"] += 1
    elif seen > 1:
        counts[rows[window(sorted(stamps[number])[1])]]["twice"] += 1

other = []
reconcile = open(f"{out}/reconcile.txt", encoding="utf-8").read() if reconcile_status != 2 else ""
for raw in reconcile.splitlines():
    match = re.search(r"(not in the log|not in the ledger): .* transactionNum (\d+):", raw)
    if match:
        number = int(match.group(2))
        kind = "events lost" if match.group(1) == "not in the log" else "events doubled"
        counts[rows[window(line_time.get(number, min(stamps.get(number, [0]))))]][kind] += 1
    elif raw.startswith("  "):
        other.append(raw.strip())

report = json.load(open(f"{out}/report.json"))
totals = [retried for _, _, _, retried in faults] + [report.get("retries", 0)]
retries = {"(before any fault)": totals[0] if faults else report.get("retries", 0)}
for index, (name, start, end, _) in enumerate(faults):
    retries[name] = totals[index + 1] - totals[index]

print(f"{'fault':<20} {'seconds down':>12} {'requests retried':>16} {'commands lost':>13} {'applied twice':>13} {'events lost':>11} {'events doubled':>14}")
for row in rows:
    down = next((f"{(end - start) / 1000:.1f}" for name, start, end, _ in faults if name == row), "-")
    c = counts[row]
    print(f"{row:<20} {down:>12} {retries.get(row, 0):>16} {c['lost']:>13} {c['twice']:>13} {c['events lost']:>11} {c['events doubled']:>14}")
sums = {key: sum(c[key] for c in counts.values()) for key in ("lost", "twice", "events lost", "events doubled")}
print(f"{'all':<20} {'':>12} {report.get('retries', 0):>16} {sums['lost']:>13} {sums['twice']:>13} {sums['events lost']:>11} {sums['events doubled']:>14}")

one_each = all(len(stamps.get(number, [])) == 1 for number in users) and set(stamps) <= set(users)
print(f"log: {out}/log.xml {'valid' if valid == 'yes' else 'NOT valid'}; {len(users)} lines, "
      f"{'exactly one userCommand each' if one_each else 'NOT one userCommand each'}; generator: {report.get('failed', '?')} lines failed")
print("reconciliation: " + ("passed" if reconcile_status == 0 else f"FAILED ({out}/reconcile.txt)"))
for line in other[:20]:
    print(f"  {line}")
ok = valid == "yes" and one_each and reconcile_status == 0 and report.get("failed", 1) == 0 and not any(sums.values())
print("chaos: " + ("passed" if ok else "FAILED"))
sys.exit(0 if ok else 1)
