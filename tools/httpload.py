#!/usr/bin/env python3
"""A bounded HTTP load: a few client threads hitting one URL until told to stop.

Bounded in clients, requests and seconds, and meant for 127.0.0.1 only. Used by the module's
tests, the Molecule scenarios and the benchmark to count failed requests during a reload.
"""
from __future__ import annotations

import argparse
import array
import collections
import json
import os
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

MAX_CLIENTS = 16
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Load(object):
    def __init__(self, url, clients=4, max_seconds=120.0, max_requests=200000, timeout=30.0,
                 fail_pause=0.01, headers=None, pace=0.0):
        if urlparse(url).hostname not in LOOPBACK:
            raise ValueError("load is only ever sent to the loopback address, not %s" % url)
        if not 1 <= clients <= MAX_CLIENTS:
            raise ValueError("clients must be 1..%d" % MAX_CLIENTS)
        self.url = url
        # Such as the Host an app's allowed hosts name (Django's ALLOWED_HOSTS).
        self.headers = dict(headers or {})
        self.clients = clients
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.timeout = timeout
        # A refused connection fails in microseconds: a short pause after a failure keeps a
        # server that is down from using up the request budget before it comes back.
        self.fail_pause = fail_pause
        # Seconds each client waits after an answer before its next request: 0 sends as fast as
        # the server answers. A paced load leaves the CPU to the deploy it runs beside.
        self.pace = pace
        self.ok = 0
        self.failed = 0
        self.errors = collections.Counter()
        self.bodies = collections.Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self.started = None
        self.elapsed = 0.0
        self.last_failed_at = None
        # Each request's start (time.monotonic()) and seconds, ok or not, for latency during a
        # window such as a reload (latencies()). Two doubles a request: bounded by max_requests.
        self._starts = array.array("d")
        self._seconds = array.array("d")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.started = time.monotonic()
        for _ in range(self.clients):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.elapsed = time.monotonic() - self.started

    def _done(self):
        return (self._stop.is_set() or time.monotonic() - self.started > self.max_seconds
                or self.ok + self.failed >= self.max_requests)

    def _client(self):
        while not self._done():
            began = time.monotonic()
            try:
                request = urllib.request.Request(self.url, headers=self.headers)
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read().decode("utf-8", "replace").strip()
                    status = response.status
            except urllib.error.HTTPError as exc:
                status, body = exc.code, ""
            except Exception as exc:  # noqa: BLE001 (any failure is a failed request, and the client goes on)
                status, body = None, type(exc).__name__ + ": " + str(exc)[:80]
            took = time.monotonic() - began
            with self._lock:
                self._starts.append(began)
                self._seconds.append(took)
                if status == 200:
                    self.ok += 1
                    self.bodies[body] += 1
                else:
                    self.failed += 1
                    self.errors[str(status) if status else body] += 1
                    self.last_failed_at = time.time()
            if status != 200 and self.fail_pause:
                time.sleep(self.fail_pause)
            elif self.pace:
                time.sleep(self.pace)

    def latencies(self, since, until):
        """The seconds of every request in flight at some moment between since and until
        (time.monotonic() values), failed ones included: what a reload made clients wait."""
        with self._lock:
            return sorted(took for began, took in zip(self._starts, self._seconds)
                          if began <= until and began + took >= since)

    def report(self):
        return {
            "url": self.url, "clients": self.clients, "ok": self.ok, "failed": self.failed,
            "seconds": round(self.elapsed, 2), "errors": dict(self.errors.most_common(5)),
            "bodies": dict(self.bodies.most_common(5)),
            "last_failed_at": round(self.last_failed_at, 3) if self.last_failed_at else None,
        }


def single(url, timeout):
    """One request, with when it started and ended, to show it spanned a reload."""
    started = time.time()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, body = response.status, response.read().decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, ""
    except OSError as exc:
        status, body = None, type(exc).__name__ + ": " + str(exc)[:80]
    return {"url": url, "status": status, "body": body,
            "started": round(started, 3), "ended": round(time.time(), 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--max-requests", type=int, default=500000)
    parser.add_argument("--pace", type=float, default=0.0,
                        help="seconds each client waits after an answer (default 0: as fast as answered)")
    parser.add_argument("--stop-file", help="stop once this file exists")
    parser.add_argument("--out", help="write the JSON report here too")
    parser.add_argument("--header", action="append", default=[], metavar="NAME: VALUE",
                        help="send this header with each request (repeatable)")
    parser.add_argument("--single", action="store_true",
                        help="send one request and report its status, body and times")
    args = parser.parse_args()
    if args.single:
        print(json.dumps(single(args.url, args.max_seconds), sort_keys=True))
        return
    headers = dict(item.split(":", 1) for item in args.header)
    load = Load(args.url, args.clients, args.max_seconds, args.max_requests,
                headers={name.strip(): value.strip() for name, value in headers.items()}, pace=args.pace)
    with load:
        while not load._done():
            if args.stop_file and os.path.exists(args.stop_file):
                break
            time.sleep(0.05)
    report = json.dumps(load.report(), sort_keys=True)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
