#!/usr/bin/env python3
"""Stall figures: how long requests wait while each method reloads, for a light app and a slow one.

For each server, method and app (one that imports in 0.1 s, one in 5 s), a few reloads under a
bounded load: the requests that were in flight at any moment of a reload, their p50 / p99 / max
latency, and the failed ones. Beside them in the same run, the anchor: the server's own plain
signal (SIGHUP to the master, as a user's `kill -HUP` or `systemctl reload` sends it), whose end
the same observer as the reload figures' notes. Ratios are to that anchor. No test asserts these.

    .venv/bin/python bench/stall_bench.py [--reloads 2] [--only gunicorn] [--tcp-migrate-req 1]

--tcp-migrate-req sets net.ipv4.tcp_migrate_req for the run (as root; the old value is put back):
with 1 the kernel hands the connections queued on a closing SO_REUSEPORT listener (each Granian
worker has its own) to another listener instead of resetting them.
"""
import argparse
import json
import os
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "collections"), os.path.join(ROOT, "tools"), os.path.join(ROOT, "bench")]

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import reload_server  # noqa: E402
from httpload import Load  # noqa: E402
from reload_bench import EndObserver, master_of  # noqa: E402
from testservers import Server, set_version, slow_import  # noqa: E402

IMPORT_SECONDS = (0.1, 5.0)
# The anchor first: SIGHUP is gunicorn's own reload and uWSGI's own graceful reload.
# uvicorn's own reload is the plain SIGHUP that its one method sends: the anchor shows what the
# module's wait adds (nothing, to requests).
METHODS = {"gunicorn": ("plain HUP", "hup", "usr2", "ttin"),
           "uwsgi": ("plain HUP", "chain", "fifo", "full", "workers"),
           "uvicorn": ("plain HUP", "hup"),
           "granian": ("plain HUP", "hup")}
# What the observer watches for after the plain signal: the same end as the role's method of it.
ANCHOR_END = {"gunicorn": "hup", "uwsgi": "full", "uvicorn": "hup", "granian": "hup"}
# A request is counted once the reload is over and the new workers have served for this long.
SETTLE_SECONDS = 0.5
OUT = os.path.join(ROOT, "bench", "results", "stall.json")


MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req"


def _sysctl(path, value):
    """Set a sysctl; returns the value it had."""
    with open(path) as handle:
        before = handle.read().strip()
    with open(path, "w") as handle:
        handle.write(value)
    return before


def _percentile(ordered, fraction):
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _plain_hup(server, method):
    observer = EndObserver(server, ANCHOR_END[server.kind], server.workers)
    observer.start()
    os.kill(master_of(server), signal.SIGHUP)
    deadline = time.monotonic() + 120
    while observer.ended is None and time.monotonic() < deadline:
        time.sleep(0.05)
    observer.stop()
    if observer.ended is None:
        raise RuntimeError("the plain SIGHUP's end was not seen within 120 s:\n" + server.log_tail())
    return observer.ended


def _role(server, method):
    fifo = server.extra.get("master-fifo")
    reload_server(server.params(method=method, fifo_file=fifo))
    return time.monotonic()


def bench_case(kind, method, import_seconds, reloads, clients, workers):
    base = tempfile.mkdtemp(prefix="wsgi-stall-%s-" % kind)
    # uvicorn gives a new worker this long to be ready, or gives the whole restart up (default 5 s);
    # Granian stops an old worker this long after it spawned the new one (default 3.5 s), ready or
    # not: as the role sets it, longer than the app's start.
    extra = {"uwsgi": {"master-fifo": os.path.join(base, "master.fifo")},
             "uvicorn": {"timeout-worker-healthcheck": 30},
             "granian": {"respawn-interval": import_seconds + 2}}.get(kind)
    server = Server(kind, base, workers=workers, extra=extra)
    slow_import(server.app_dir, import_seconds)
    server.start()
    waited = []
    durations = []
    try:
        with Load(server.url + "/", clients=clients, max_seconds=reloads * 90 + 60,
                  max_requests=20_000_000) as load:
            time.sleep(1)
            for number in range(2, reloads + 2):
                set_version(server.app_dir, str(number))
                began = time.monotonic()
                ended = (_plain_hup if method == "plain HUP" else _role)(server, method)
                durations.append(ended - began)
                time.sleep(SETTLE_SECONDS)
                waited.extend(load.latencies(began, ended + SETTLE_SECONDS))
                # The next reload starts from workers that have all loaded the app.
                time.sleep(1.0)
        report = load.report()
    finally:
        server.stop()
    waited.sort()
    return {"server": kind, "method": method, "import_s": import_seconds, "reloads": reloads,
            "clients": clients, "workers": workers, "requests_ok": report["ok"],
            "requests_failed": report["failed"], "errors": report["errors"],
            "in_reload": len(waited),
            "p50_s": round(_percentile(waited, 0.50), 4), "p99_s": round(_percentile(waited, 0.99), 4),
            "max_s": round(waited[-1], 4), "reload_s_max": round(max(durations), 3)}


def run(reloads=2, clients=4, workers=2, servers=tuple(METHODS)):
    rows = []
    for kind in servers:
        for import_seconds in IMPORT_SECONDS:
            for method in METHODS[kind]:
                rows.append(bench_case(kind, method, import_seconds, reloads, clients, workers))
    return rows


def print_table(rows):
    anchors = {(row["server"], row["import_s"]): row for row in rows if row["method"] == "plain HUP"}
    print("%-9s %-10s %6s %8s %6s %8s %8s %8s %11s %9s" % (
        "server", "method", "import", "in reload", "failed", "p50 s", "p99 s", "max s",
        "max/anchor", "reload s"))
    for row in rows:
        anchor = anchors.get((row["server"], row["import_s"]))
        ratio = row["max_s"] / anchor["max_s"] if anchor and anchor["max_s"] else float("nan")
        print("%-9s %-10s %5.1fs %8d %6d %8.3f %8.3f %8.3f %10.2fx %9.2f" % (
            row["server"], row["method"], row["import_s"], row["in_reload"], row["requests_failed"],
            row["p50_s"], row["p99_s"], row["max_s"], ratio, row["reload_s_max"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reloads", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=sorted(METHODS), help="one server only")
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--tcp-migrate-req", choices=("0", "1"), help="net.ipv4.tcp_migrate_req for the run")
    args = parser.parse_args()
    before = _sysctl(MIGRATE_REQ, args.tcp_migrate_req) if args.tcp_migrate_req else None
    try:
        rows = run(args.reloads, args.clients, args.workers, (args.only,) if args.only else tuple(METHODS))
    finally:
        if before is not None:
            _sysctl(MIGRATE_REQ, before)
    if args.tcp_migrate_req:
        print("net.ipv4.tcp_migrate_req = %s during the run" % args.tcp_migrate_req)
    print_table(rows)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(rows, handle, indent=2, sort_keys=True)
        handle.write("\n")


if __name__ == "__main__":
    main()
