"""Reload figures on real servers on 127.0.0.1, for every method: failed requests, durations, lag.

For each server and method, N consecutive deploys (a one-line change, then wsgi_reload) under
a bounded load. The lag is how long after the server's own end the module returned, the end
being seen by an independent observer polling every 2 ms (see EndObserver). Also the seed's
own uWSGI shape (4 workers x 2 threads) chain-reloaded with a 10 s request in flight.
"""
import os
import re
import statistics
import tempfile
import threading
import time

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from httpload import Load
from testservers import Server, set_version
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, read_pidfile, reload_server
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.server_log import GranianRespawn

OBSERVER_POLL = 0.002
METHODS = [("gunicorn", "hup"), ("gunicorn", "usr2"), ("gunicorn", "ttin"), ("uwsgi", "chain"), ("uwsgi", "fifo"),
           ("uwsgi", "full"), ("uwsgi", "workers")]


def master_of(server):
    """The master named by the pidfile: after a USR2 it is no longer the process started."""
    return read_pidfile(server.pidfile)


def _app_ready_pids(text):
    return {int(line.rsplit("pid: ", 1)[1].split()[0]) for line in text.splitlines()
            if line.startswith("WSGI app ") and " ready in " in line and "pid: " in line}


class EndObserver(threading.Thread):
    """Notes when the server itself finished the reload, independently of the module.

    chain and fifo: uWSGI logs `chain reloading complete`. full and workers: every worker is
    new and has logged its app ready (full: after the master's re-exec). hup and ttin: no old
    worker is left and every new one reached its serving loop. usr2: the pidfile names a new master,
    the old one has exited, and the new one's workers all serve. uvicorn: no old worker is left and
    every new one has logged its start. Granian: the same, its start by worker number.
    """

    def __init__(self, server, method, expected):
        super().__init__(daemon=True)
        self.server, self.method, self.expected = server, method, expected
        self.old_master = master_of(server)
        self.old = set(processes.workers(self.old_master, server.kind))
        self.ended = None
        self._halt = threading.Event()
        self._offset = os.path.getsize(server.log_file)

    def run(self):
        while not self._halt.is_set() and self.ended is None:
            try:
                if self._done():
                    self.ended = time.monotonic()
            except (OSError, ValueError, ReloadError, processes.ProcessGone):
                pass  # a USR2 master takes over the pidfile in two steps
            time.sleep(OBSERVER_POLL)

    def _log(self):
        with open(self.server.log_file, "rb") as handle:
            handle.seek(self._offset)
            return handle.read().decode("utf-8", "replace")

    def _done(self):
        if self.method in ("chain", "fifo"):
            return "chain reloading complete" in self._log()
        if self.server.kind == "uvicorn":
            current = set(processes.workers(self.old_master, "uvicorn"))
            started = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", self._log())}
            return len(current) >= self.expected and not current & self.old and current <= started
        if self.server.kind == "granian":
            current = set(processes.workers(self.old_master, "granian"))
            respawn = GranianRespawn()
            respawn.feed(self._log().splitlines())
            return len(current) >= self.expected and not current & self.old and current <= respawn.started_pids
        if self.method in ("full", "workers"):
            log = self._log()
            if self.method == "full":
                if "(RE)spawned uWSGI master" not in log:
                    return False
                log = log.split("(RE)spawned uWSGI master", 1)[1]
            current = set(processes.children(self.old_master))
            return (len(current) >= self.expected and not current & self.old
                    and current <= _app_ready_pids(log))
        master = master_of(self.server)
        if self.method == "usr2" and (master == self.old_master
                                      or processes.running(self.old_master)):
            return False
        current = set(processes.children(master))
        return (not current & self.old and len(current) >= self.expected
                and all(processes.gunicorn_worker_ready(pid) for pid in current))

    def stop(self):
        self._halt.set()
        self.join(5)


def _spread(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def bench_method(kind, method, reloads, clients, workers):
    base = tempfile.mkdtemp(prefix="wsgi-bench-%s-%s-" % (kind, method))
    fifo = os.path.join(base, "master.fifo")
    extra = {"master-fifo": fifo} if kind == "uwsgi" else None
    server = Server(kind, base, workers=workers, extra=extra).start()
    rows = []
    try:
        with Load(server.url + "/", clients=clients, max_seconds=reloads * 30 + 60,
                  max_requests=20_000_000) as load:
            time.sleep(1)
            for number in range(2, reloads + 2):
                set_version(server.app_dir, str(number))
                observer = EndObserver(server, method, workers)
                observer.start()
                facts = reload_server(server.params(method=method, fifo_file=fifo))
                returned = time.monotonic()
                observer.stop()
                lag = returned - observer.ended if observer.ended else None
                rows.append({"duration_s": facts["duration_s"],
                             "lag_s": round(lag, 4) if lag is not None else None,
                             "new_workers": len(facts["new_pids"])})
                # The next reload starts from workers that have all loaded the app.
                time.sleep(1.0)
        report = load.report()
    finally:
        server.stop()
    lags = [row["lag_s"] for row in rows if row["lag_s"] is not None]
    return {
        "server": kind, "method": method, "workers": workers, "reloads": reloads,
        "clients": clients, "requests_ok": report["ok"], "requests_failed": report["failed"],
        "errors": report["errors"],
        "duration_s": _spread([row["duration_s"] for row in rows]),
        "lag_s": dict(_spread(lags), seen=len(lags)) if lags else None,
        "each": rows,
    }


def bench_seed_chain(router):
    """The seed's uWSGI (4 workers x 2 threads, lazy-apps) with a 10 s request in flight."""
    base = tempfile.mkdtemp(prefix="wsgi-bench-seed-")
    extra = {"http-socket": None, "http": None} if router else None
    server = Server("uwsgi", base, workers=4, threads=2, extra=extra)
    if router:
        server.extra["http"] = "127.0.0.1:%d" % server.port
    server.start()
    try:
        in_flight, facts = server.reload_with_request_in_flight(10)
    finally:
        server.stop()
    return {"setup": "http= router" if router else "http-socket", "workers": 4, "threads": 2,
            "chain_s": facts["duration_s"], "in_flight": list(in_flight or ())}


def run(reloads, clients, workers):
    return {
        "methods": [bench_method(kind, method, reloads, clients, workers)
                    for kind, method in METHODS],
        "seed": [bench_seed_chain(router) for router in (True, False)],
    }


def print_tables(figures):
    print("%-9s %-8s %9s %7s %24s %24s" % ("server", "method", "ok", "failed",
                                          "reload s min/med/max", "return lag s min/med/max"))
    for row in figures["methods"]:
        lag = row["lag_s"]
        print("%-9s %-8s %9d %7d %24s %24s" % (
            row["server"], row["method"], row["requests_ok"], row["requests_failed"],
            "%.3f/%.3f/%.3f" % tuple(row["duration_s"][k] for k in ("min", "median", "max")),
            "%.3f/%.3f/%.3f" % tuple(lag[k] for k in ("min", "median", "max")) if lag else "unseen"))
    print()
    print("seed uWSGI, 4 workers x 2 threads, a 10 s request in flight, chain reload:")
    for row in figures["seed"]:
        print("  %-13s chain %6.2f s; the 10 s request ended %s" % (
            row["setup"], row["chain_s"], " ".join(str(part) for part in row["in_flight"])))
