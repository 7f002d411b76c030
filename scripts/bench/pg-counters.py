#!/usr/bin/env python3
"""PostgreSQL's own counters of the trading database while a benchmark runs, and what they say
per command: where the database's work per command changes over a run (docs/PERFORMANCE.md).

    pg-counters.py sample OUT_CSV [--port PORT] [--interval SECONDS]
    pg-counters.py report OUT_CSV

`sample` runs until SIGTERM or SIGINT, and every interval (15 s) appends to OUT_CSV the
database's committed transactions, tuples returned and buffer hits (`pg_stat_database`), each
index's scans, tuples read and buffer hits (`pg_stat_user_indexes`, `pg_statio_user_indexes`),
and each table's dead and live rows, vacuums, updates and HOT updates (`pg_stat_user_tables`). It waits for the
database to exist, so it may start before the stack. Port: PG_PORT, else make bench's 25632.

`report` prints, for each interval in which commands ran (counted by the rows inserted into
`processed_requests`, one per command): commands per second, commands per committed
transaction, buffer hits and tuples returned per command, the tuples each busy index read per
command, the tables holding more than 1,000 dead rows, and each updated table's share of
updates that were HOT (no new index entry: the page had room for the new version).

For a million-command run:
    scripts/bench/pg-counters.py sample out/pg-counters.csv & make bench-million; kill %1
    scripts/bench/pg-counters.py report out/pg-counters.csv
"""
import collections
import csv
import os
import signal
import subprocess
import sys
import time

QUERY = """
SELECT {now}, 'db', 'all', xact_commit, tup_returned, blks_hit, 0, 0, 0 FROM pg_stat_database WHERE datname = 'daytrader'
UNION ALL
SELECT {now}, 'index', i.indexrelname, i.idx_scan, i.idx_tup_read, COALESCE(s.idx_blks_hit, 0), 0, 0, 0
  FROM pg_stat_user_indexes i JOIN pg_statio_user_indexes s USING (indexrelid)
UNION ALL
SELECT {now}, 'table', relname, n_dead_tup, n_live_tup, n_tup_ins, autovacuum_count + vacuum_count, n_tup_upd, n_tup_hot_upd
  FROM pg_stat_user_tables
"""


def sample(path, port, interval):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with open(path, "w") as out:
        while not stop:
            result = subprocess.run(
                ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "daytrader", "-AtF,",
                 "-c", QUERY.format(now=int(time.time()))],
                capture_output=True, text=True)
            if result.returncode == 0:
                out.write(result.stdout)
                out.flush()
            # In short steps, so that a signal ends the sampling within half a second.
            wake = time.monotonic() + (1 if result.returncode else interval)
            while not stop and time.monotonic() < wake:
                time.sleep(0.5)


def report(path):
    samples = collections.OrderedDict()
    for row in csv.reader(open(path)):
        if len(row) == 9:
            samples.setdefault(int(row[0]), {})[(row[1], row[2])] = [int(value) for value in row[3:]]
    times = list(samples)
    print("   s  commands/s  per transaction  buffer hits  tuples returned | index tuples read per command | tables with >1,000 dead rows | HOT updates")
    for before, after in zip(times, times[1:]):
        a, b = samples[before], samples[after]
        key = ("table", "processed_requests")
        if key not in a or key not in b or ("db", "all") not in a or ("db", "all") not in b:
            continue
        commands = b[key][2] - a[key][2]
        if commands < 1000:
            continue
        transactions = b[("db", "all")][0] - a[("db", "all")][0]
        hits = (b[("db", "all")][2] - a[("db", "all")][2]) / commands
        returned = (b[("db", "all")][1] - a[("db", "all")][1]) / commands
        indexes = []
        for (kind, name), values in sorted(b.items()):
            if kind == "index" and (kind, name) in a:
                read = (values[1] - a[(kind, name)][1]) / commands
                if read >= 0.1:
                    indexes.append(f"{name} {read:.2f}")
        dead = [f"{name} {values[0]}" for (kind, name), values in sorted(b.items()) if kind == "table" and values[0] > 1000]
        hot = []
        for (kind, name), values in sorted(b.items()):
            if kind == "table" and (kind, name) in a:
                updates = values[4] - a[(kind, name)][4]
                if updates >= 100:
                    hot.append(f"{name} {100 * (values[5] - a[(kind, name)][5]) / updates:.0f}%")
        print(f"{after - times[0]:4d}  {commands / (after - before):10.0f}  {commands / max(transactions, 1):15.1f}"
              f"  {hits:11.1f}  {returned:15.1f} | {', '.join(indexes)} | {', '.join(dead)} | {', '.join(hot)}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "sample":
        arguments = sys.argv[3:]
        port = int(arguments[arguments.index("--port") + 1]) if "--port" in arguments else int(os.environ.get("PG_PORT", "25632"))
        interval = float(arguments[arguments.index("--interval") + 1]) if "--interval" in arguments else 15.0
        sample(sys.argv[2], port, interval)
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)
