# -*- coding: utf-8 -*-
"""Follow a server's log from a remembered offset, and read uWSGI's chain reload lines in it;
read its last lines."""
from __future__ import annotations

import re

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_files

MAX_KEPT_LINES = 200
# What one poll reads at most: a log that grew more (or a sparse file that claims to) is read
# from its last MAX_POLL_BYTES, where the lines that mark the reload's end are.
MAX_POLL_BYTES = 1 << 20

# What uWSGI 2.0 prints during a chain reload (tests/integration/test_logwatch.py holds a real one).
UWSGI_CHAIN_START = re.compile(r"chain reload|chain next victim")
UWSGI_COMPLETE = re.compile(r"chain reloading complete")
UWSGI_KILLING = re.compile(r"Gracefully killing worker (\d+) \(pid: (\d+)\)")
UWSGI_RESPAWNED = re.compile(r"Respawned uWSGI worker (\d+) \(new pid: (\d+)\)")
UWSGI_WAITING = re.compile(r"chain is still waiting for worker (\d+)")
# Lines that say the new code did not load or a worker cannot live: "complete" then means nothing.
# Not "worker respawning too fast": uWSGI says it of any worker that ends within a second of its
# spawn, a reload's too (two reloads in a row), then sleeps 2 s and spawns it; a worker that cannot
# load the app says so in the lines above.
UWSGI_FAILURES = re.compile(
    r"unable to load app|no app loaded|no python application found"
    r"|DAMN ! worker"
)
# A full reload: the master stops every worker, re-execs itself, and forks new ones.
UWSGI_FULL_START = re.compile(r"gracefully killing workers|binary reloading uWSGI|Gracefully killing worker")
UWSGI_RESPAWNED_MASTER = re.compile(r"gracefully \(RE\)spawned uWSGI master process")
UWSGI_APP_READY = re.compile(r"WSGI app \d+ \(mountpoint='[^']*'\) ready in .* pid: (\d+)")
# uvicorn 0.51+ (uvicorn/supervisors/multiprocess.py): the restart's start, a worker started (after
# its import), and the one line that says a new worker was not ready and the restart was abandoned.
UVICORN_RESTARTING = re.compile(r"Received SIGHUP, restarting processes")
UVICORN_STARTED = re.compile(r"Started server process \[(\d+)\]")
UVICORN_ABORTED = re.compile(r"New child process \[\d+\] was not ready in time; keeping worker \[\d+\] "
                             r"and aborting the restart\.|Child process \[\d+\] failed to start, stopping the parent")
# Granian 2.x (granian/server/common.py): the master's reload, each worker it spawns with its PID,
# "Started worker-N" written by that worker once it has loaded the app, the old one told to stop.
GRANIAN_RELOADING = re.compile(r"HUP signal received, gracefully respawning workers")
GRANIAN_SPAWNING = re.compile(r"Spawning worker-(\d+) with PID: (\d+)")
GRANIAN_STARTED = re.compile(r"Started worker-(\d+)")
GRANIAN_STOPPING_OLD = re.compile(r"Stopping old worker-(\d+)")
GRANIAN_FAILURES = re.compile(r"Unexpected exit from worker-\d+|Worker crash loop detected, exiting")
GUNICORN_FAILURES = re.compile(
    r"Exception in worker process|Worker failed to boot|Failed to read config file"
    r"|HaltServer|Reason: "
)


class LogWatcher(object):
    """Reads only what a log gained since it was opened; survives truncation and rotation.

    The log belongs to the app's user: it is read as a regular file only, never through a
    symlink or from a FIFO, and at most MAX_POLL_BYTES a poll; anything else reads as empty."""

    def __init__(self, path):
        self.path = path
        self.lines = []
        self._pending = b""
        self._inode, self.offset = self._stat()

    def _stat(self):
        try:
            info = app_files.regular_stat(self.path)
        except (app_files.UnsafeFile, OSError):
            info = None
        if info is None:
            return None, 0
        return info.st_ino, info.st_size

    def poll(self):
        """Return the complete lines written since the last poll."""
        inode, size = self._stat()
        if inode is None:
            return []
        if inode != self._inode or size < self.offset:
            self._inode, self.offset, self._pending = inode, 0, b""
        if size == self.offset:
            return []
        skipped = size - self.offset > MAX_POLL_BYTES
        if skipped:
            self.offset, self._pending = size - MAX_POLL_BYTES, b""
        try:
            data = app_files.read_regular(self.path, size - self.offset, self.offset)
        except (app_files.UnsafeFile, OSError):
            return []
        self.offset += len(data)
        if skipped:
            # Read from the middle of a line: only the complete lines after its end count.
            cut = data.find(b"\n")
            data = data[cut + 1:] if cut >= 0 else b""
        parts = (self._pending + data).split(b"\n")
        self._pending = parts.pop()
        new = [part.decode("utf-8", "replace").rstrip("\r") for part in parts]
        self._keep(new)
        return new

    def pending(self):
        """The last line so far if the server has not ended it yet."""
        return self._pending.decode("utf-8", "replace")

    def _keep(self, new):
        self.lines.extend(new)
        if len(self.lines) > MAX_KEPT_LINES:
            del self.lines[:-MAX_KEPT_LINES]


class UwsgiChain(object):
    """What a uWSGI chain reload has shown so far, from its log lines."""

    def __init__(self):
        self.started = False
        self.complete = False
        self.old_pids = []
        self.new_pids = []
        self.waiting_for = None
        self.failures = []

    def note_unfinished(self, line):
        """`chain reloading complete` ends the chain even before uWSGI has ended its line."""
        if UWSGI_COMPLETE.search(line):
            self.complete = True

    def feed(self, lines):
        for line in lines:
            if UWSGI_CHAIN_START.search(line):
                self.started = True
            if UWSGI_COMPLETE.search(line):
                self.complete = True
            killing = UWSGI_KILLING.search(line)
            if killing:
                self.old_pids.append(int(killing.group(2)))
            respawned = UWSGI_RESPAWNED.search(line)
            if respawned:
                self.new_pids.append(int(respawned.group(2)))
            waiting = UWSGI_WAITING.search(line)
            if waiting:
                self.waiting_for = int(waiting.group(1))
            if UWSGI_FAILURES.search(line):
                self.failures.append(line)


class UwsgiFull(object):
    """What a uWSGI full reload, or a reload of all workers at once, has shown so far.

    A full reload re-executes the master first; a reload of the workers (FIFO `w`) does not,
    so only apps loaded after the re-exec count in the first, and all in the second.
    """

    def __init__(self, master_reexec=True):
        self.started = False
        self.respawned = not master_reexec
        self.ready_pids = set()
        self.failures = []

    def feed(self, lines):
        for line in lines:
            if UWSGI_FULL_START.search(line):
                self.started = True
            if UWSGI_RESPAWNED_MASTER.search(line):
                self.started = self.respawned = True
            # Only apps loaded after the re-exec count: the old ones are gone with it.
            ready = UWSGI_APP_READY.search(line)
            if ready and self.respawned:
                self.ready_pids.add(int(ready.group(1)))
            if UWSGI_FAILURES.search(line):
                self.failures.append(line)


class UvicornRestart(object):
    """What a uvicorn restart has shown so far, from its log lines."""

    def __init__(self):
        self.acknowledged = False
        self.started_pids = set()
        self.aborted = ""

    def feed(self, lines):
        for line in lines:
            if UVICORN_RESTARTING.search(line):
                self.acknowledged = True
            found = UVICORN_STARTED.search(line)
            if found:
                self.started_pids.add(int(found.group(1)))
            found = UVICORN_ABORTED.search(line)
            if found and not self.aborted:
                self.aborted = found.group(0)


class GranianRespawn(object):
    """What a Granian reload has shown so far, from its log lines. It replaces one worker at a time:
    a new worker-N, then, a fixed respawn interval later, the old worker-N; only one worker-N is new
    at a time, so its "Started worker-N" is the PID's that its spawn named."""

    def __init__(self):
        self.acknowledged = False
        self.spawned = {}
        self.started_pids = set()
        # The workers whose old process was told to stop before the new one had loaded the app.
        self.stopped_early = []
        self.failures = []

    def feed(self, lines):
        for line in lines:
            if GRANIAN_RELOADING.search(line):
                self.acknowledged = True
                continue
            found = GRANIAN_SPAWNING.search(line)
            if found:
                self.spawned[int(found.group(1))] = int(found.group(2))
                continue
            found = GRANIAN_STARTED.search(line)
            if found and int(found.group(1)) in self.spawned:
                self.started_pids.add(self.spawned[int(found.group(1))])
                continue
            found = GRANIAN_STOPPING_OLD.search(line)
            if found and self.spawned.get(int(found.group(1))) not in self.started_pids:
                self.stopped_early.append(int(found.group(1)))
                continue
            if GRANIAN_FAILURES.search(line):
                self.failures.append(line)


def gunicorn_failures(lines):
    return [line for line in lines if GUNICORN_FAILURES.search(line)]


def tail(path, lines=15, max_bytes=1 << 16):
    """The last lines of a log that the app's user may own: read as a regular file only, never
    through a symlink, never from a FIFO (which would block), at most max_bytes of it."""
    try:
        data = app_files.read_regular(path, max_bytes, tail=True)
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-lines:]
