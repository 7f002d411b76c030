#!/usr/bin/env python3
"""Samples the CPU time and memory of the stack's processes while a benchmark runs.

    sample.py RUN_DIR OUT_JSON [--interval SECONDS]

Runs until SIGTERM or SIGINT, then writes OUT_JSON: for each part of the stack (PostgreSQL
with all its backends, Redis, RabbitMQ, HAProxy, each transaction server, the audit server,
the quote emulator, the workload generator) the CPU seconds used while sampling, the peak
resident memory of its largest process (VmHWM), and the peak of the whole stack's
proportional set size (PSS, so shared pages such as PostgreSQL's buffers count once), with and
without the workload generator (the load, not part of the system); and the
CPU seconds of each part at every sample (`cpuSeries`, seconds since the start) with the last
moment the workload generator was seen, so that summary.py can split the CPU by tenth of the run;
and each part's PSS at every fourth sample (`pssSeries`, MiB), for the soak's growth check.

CPU is read every interval (1 s); PSS, whose reading walks every page table of a process and
costs the machine several percent of a core at that rate, every fourth.

Processes are found by their pid files under RUN_DIR (scripts/stack.sh and scripts/services.sh)
and by their parents: PostgreSQL's backends are the postmaster's children; RabbitMQ is the
Erlang VM under the pid in its pid file. The workload generator is found by name.
"""
import json
import os
import signal
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def pid_file(path):
    text = read(path)
    if not text:
        return None
    try:
        return int(text.split()[0])
    except ValueError:
        return None


def children_map():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = read(f"/proc/{entry}/stat")
        if not stat:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def tree(pid, children):
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def cpu_seconds(pid):
    stat = read(f"/proc/{pid}/stat")
    if not stat:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    # utime, stime of the process itself, plus what its reaped children used.
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS


def status_kib(pid, key):
    text = read(f"/proc/{pid}/status")
    if not text:
        return 0
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def pss_kib(pid):
    text = read(f"/proc/{pid}/smaps_rollup")
    if not text:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def parts(run_dir, children):
    """Part name -> list of pids, as the stack runs now."""
    found = {}

    def add(name, root):
        if root and os.path.exists(f"/proc/{root}"):
            found[name] = tree(root, children)

    pg = read(f"{run_dir}/postgres/data/postmaster.pid")
    add("postgresql", int(pg.split()[0]) if pg else None)
    add("redis", pid_file(f"{run_dir}/redis/redis.pid"))
    add("rabbitmq", pid_file(f"{run_dir}/rabbitmq/rabbitmq.pid"))
    for name in sorted(os.listdir(run_dir)):
        if os.path.exists(f"{run_dir}/{name}/pid"):
            add(name, pid_file(f"{run_dir}/{name}/pid"))
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (read(f"/proc/{entry}/comm") or "").strip() == "workload-genera":
            found["workload-generator"] = [int(entry)]
    return found


def used(first, last):
    """CPU seconds of each part since it was first seen."""
    cpu = {}
    for (name, pid), seconds in last.items():
        cpu[name] = cpu.get(name, 0.0) + seconds - first[(name, pid)]
    return cpu


def main():
    run_dir, out = sys.argv[1], sys.argv[2]
    interval = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--interval" else 1.0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    first, last, peak_rss, peak_pss, peak_system_pss = {}, {}, {}, 0, 0
    start, series, pss_series, generator_seen, count = time.monotonic(), [], [], None, 0
    while not stop:
        children = children_map()
        total_pss, system_pss, part_pss = 0, 0, {}
        with_pss = count % 4 == 0
        now = time.monotonic() - start
        for name, pids in parts(run_dir, children).items():
            if name == "workload-generator":
                generator_seen = now
            for pid in pids:
                seconds = cpu_seconds(pid)
                if seconds is None:
                    continue
                first.setdefault((name, pid), seconds)
                last[(name, pid)] = seconds
                peak_rss[name] = max(peak_rss.get(name, 0), status_kib(pid, "VmHWM"))
                if with_pss:
                    pss = pss_kib(pid)
                    part_pss[name] = part_pss.get(name, 0) + pss
                    total_pss += pss
                    if name != "workload-generator":
                        system_pss += pss
        peak_pss = max(peak_pss, total_pss)
        peak_system_pss = max(peak_system_pss, system_pss)
        series.append([round(now, 2), {name: round(value, 2) for name, value in used(first, last).items()}])
        if with_pss:
            pss_series.append([round(now, 2), {name: round(kib / 1024, 1) for name, kib in part_pss.items()}])
        count += 1
        time.sleep(interval)
    report = {
        "cpuSeconds": {name: round(value, 2) for name, value in sorted(used(first, last).items())},
        "peakRssMiB": {name: round(kib / 1024, 1) for name, kib in sorted(peak_rss.items())},
        "peakStackPssMiB": round(peak_pss / 1024, 1),
        "peakSystemPssMiB": round(peak_system_pss / 1024, 1),
        "cpuSeries": series,
        "pssSeries": pss_series,
        "generatorLastSeen": generator_seen,
    }
    with open(out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
