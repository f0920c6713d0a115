#!/usr/bin/env python3
"""Reload figures on real servers on 127.0.0.1: failed requests, durations, and return lag.

For each server, N consecutive deploys (a one-line change, then wsgi_reload) under a bounded
load. The lag is how long after the server's own end the module returned, the end being seen
by an independent observer polling every 2 ms: uWSGI's `chain reloading complete` line, or for
gunicorn the moment no old worker remains and every new one has reached its serving loop.
Prints a table and writes the same figures as JSON (bench/results/reload.json).

    ./dev bench            # or: .venv/bin/python bench/reload_bench.py --reloads 10
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "roles", "wsgi_deploy", "module_utils"), os.path.join(ROOT, "tools")]

import wsgi_procs  # noqa: E402
from httpload import Load  # noqa: E402
from testservers import Server, set_version  # noqa: E402
from wsgi_reload_core import reload_server  # noqa: E402

OBSERVER_POLL = 0.002


class EndObserver(threading.Thread):
    """Notes when the server itself finished the reload, independently of the module."""

    def __init__(self, server, old_workers, expected):
        super().__init__(daemon=True)
        self.server, self.old, self.expected = server, set(old_workers), expected
        self.ended = None
        self._halt = threading.Event()
        self._offset = os.path.getsize(server.log_file)

    def run(self):
        while not self._halt.is_set() and self.ended is None:
            if self._done():
                self.ended = time.monotonic()
            time.sleep(OBSERVER_POLL)

    def _done(self):
        if self.server.kind == "uwsgi":
            with open(self.server.log_file, "rb") as handle:
                handle.seek(self._offset)
                return b"chain reloading complete" in handle.read()
        current = set(self.server.worker_pids())
        return (not current & self.old and len(current) >= self.expected
                and all(wsgi_procs.gunicorn_worker_ready(pid) for pid in current))

    def stop(self):
        self._halt.set()
        self.join(5)


def bench_server(kind, reloads, clients, workers):
    base = tempfile.mkdtemp(prefix="wsgi-bench-%s-" % kind)
    server = Server(kind, base, workers=workers).start()
    rows = []
    try:
        with Load(server.url + "/", clients=clients, max_seconds=reloads * 30 + 60,
                  max_requests=20_000_000) as load:
            time.sleep(1)
            for number in range(2, reloads + 2):
                set_version(server.app_dir, str(number))
                observer = EndObserver(server, server.worker_pids(), workers)
                observer.start()
                facts = reload_server(server.params())
                returned = time.monotonic()
                observer.stop()
                lag = returned - observer.ended if observer.ended else None
                rows.append({"duration_s": facts["duration_s"],
                             "lag_s": round(lag, 4) if lag is not None else None,
                             "new_workers": len(facts["new_pids"])})
                time.sleep(0.5)
        report = load.report()
    finally:
        server.stop()
    durations = [row["duration_s"] for row in rows]
    lags = [row["lag_s"] for row in rows if row["lag_s"] is not None]
    return {
        "server": kind, "method": {"gunicorn": "hup", "uwsgi": "chain"}[kind],
        "workers": workers, "reloads": reloads, "clients": clients,
        "requests_ok": report["ok"], "requests_failed": report["failed"],
        "errors": report["errors"],
        "duration_s": {"min": min(durations), "median": statistics.median(durations),
                       "max": max(durations)},
        "lag_s": {"min": min(lags), "median": statistics.median(lags), "max": max(lags),
                  "seen": len(lags)},
        "each": rows,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "reload.json"))
    args = parser.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                           "when": time.strftime("%Y-%m-%d %H:%M:%S")},
               "servers": [bench_server(kind, args.reloads, args.clients, args.workers)
                           for kind in ("gunicorn", "uwsgi")]}
    print("%-9s %-6s %8s %8s %26s %26s" % ("server", "method", "ok", "failed",
                                           "reload s (min/med/max)", "return lag s (min/med/max)"))
    for row in results["servers"]:
        print("%-9s %-6s %8d %8d %26s %26s" % (
            row["server"], row["method"], row["requests_ok"], row["requests_failed"],
            "%.3f/%.3f/%.3f" % tuple(row["duration_s"][k] for k in ("min", "median", "max")),
            "%.3f/%.3f/%.3f" % tuple(row["lag_s"][k] for k in ("min", "median", "max"))))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)
    print("written to %s" % os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    main()
