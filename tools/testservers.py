"""Real gunicorn, pyuwsgi, uvicorn and Granian servers on 127.0.0.1, started from a copy of the example app.

Used by the tests and the benchmark, with the collection importable (pytest.ini's pythonpath).
"""
from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "hello")
BIN = os.path.dirname(sys.executable)
# The role's fix for uvicorn's reset of the requests a stopping worker accepted (plain Python).
UVICORN_PATIENCE = os.path.join(ROOT, "roles", "wsgi_deploy", "templates", "uvicorn_patience.py.j2")


def free_port():
    """A port free now, below the kernel's ephemeral range (no outgoing connection takes it
    meanwhile) and above the Molecule scenarios' 18xxx. Under pytest-xdist each test process
    takes only ports of its own residue modulo their count, so the two never pick the same one.
    (Ports from bind(0) would not do: Linux gives it ports of one parity only.)"""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    mine = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
    while True:
        port = random.randrange(20000 + mine, 32000, count)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def set_version(app_dir, version):
    """Rewrite the example app's VERSION, as a deploy of new code would."""
    path = os.path.join(app_dir, "main.py")
    with open(path) as handle:
        lines = handle.read().splitlines(True)
    with open(path, "w") as handle:
        for line in lines:
            handle.write('VERSION = "%s"\n' % version if line.startswith("VERSION =") else line)


def slow_import(app_dir, seconds):
    """The example app, made to take `seconds` to import, as a large Django site does."""
    path = os.path.join(app_dir, "main.py")
    with open(path) as handle:
        code = handle.read()
    with open(path, "w") as handle:
        handle.write("import time as _t\n_t.sleep(%r)\n%s" % (seconds, code))


def break_import(app_dir):
    with open(os.path.join(app_dir, "main.py"), "a") as handle:
        handle.write('\nraise RuntimeError("this release cannot be imported")\n')


def add_dependency(app_dir, requirement="six==1.17.0", module="six"):
    """Make the app need a package the example does not: it imports it and names its version."""
    with open(os.path.join(app_dir, "requirements.txt"), "a") as handle:
        handle.write(requirement + "\n")
    path = os.path.join(app_dir, "main.py")
    with open(path) as handle:
        code = handle.read()
    code = code.replace("from flask import", "import %s\nfrom flask import" % module, 1)
    code = code.replace('return f"hello v{VERSION}\\n"',
                        'return f"hello v{VERSION} with %s {%s.__version__}\\n"' % (module, module))
    with open(path, "w") as handle:
        handle.write(code)


class Server(object):
    """One server process; the Popen child is the master itself."""

    def __init__(self, kind, base, workers=2, threads=2, extra=None):
        self.kind = kind
        self.base = str(base)
        self.app_dir = os.path.join(self.base, "app")
        shutil.copytree(EXAMPLE, self.app_dir)
        self.port = free_port()
        self.pidfile = os.path.join(self.base, "server.pid")
        self.log_file = os.path.join(self.base, "server.log")
        self.reload_file = os.path.join(self.base, "reload.touch")
        self.workers = workers
        self.threads = threads
        self.extra = extra or {}
        # Words put before the server's script: a Python to run it with, as the role does.
        self.prefix = []
        # Where the server's script is, and the environment it starts with (None: this one's).
        self.bin_dir = BIN
        self.env = None
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def params(self, **override):
        params = {"server": self.kind, "pidfile": self.pidfile, "log_file": self.log_file,
                  "reload_file": self.reload_file if self.kind == "uwsgi" else None,
                  "timeout": 90, "expected_workers": None}
        params.update(override)
        return params

    def _gunicorn(self):
        conf = os.path.join(self.base, "gunicorn.conf.py")
        settings = {"bind": "127.0.0.1:%d" % self.port, "workers": self.workers,
                    "threads": self.threads, "pidfile": self.pidfile,
                    "errorlog": self.log_file, "loglevel": "info", "chdir": self.app_dir,
                    "control_socket_disable": True, "graceful_timeout": 30}
        settings.update(self.extra)
        with open(conf, "w") as handle:
            for key, value in settings.items():
                handle.write("%s = %r\n" % (key, value))
        return [os.path.join(self.bin_dir, "gunicorn"), "-c", conf, "main:app"], subprocess.DEVNULL

    def _uwsgi(self):
        ini = os.path.join(self.base, "uwsgi.ini")
        settings = {"master": "true", "http-socket": "127.0.0.1:%d" % self.port,
                    "chdir": self.app_dir, "module": "main:app",
                    "processes": self.workers, "threads": self.threads, "lazy-apps": "true",
                    "touch-chain-reload": self.reload_file, "pidfile": self.pidfile,
                    "logto": self.log_file, "die-on-term": "true",
                    "binary-path": sys.executable}
        settings.update(self.extra)
        with open(ini, "w") as handle:
            handle.write("[uwsgi]\n")
            for key, value in settings.items():
                if value is not None:
                    handle.write("%s = %s\n" % (key, value))
        return [os.path.join(self.bin_dir, "uwsgi"), "--ini", ini], subprocess.DEVNULL

    def _uvicorn(self):
        """uvicorn has no pidfile and no log file of its own: the test writes the one and sends its
        output to the other, as the role does. The example is a WSGI app, imported through a module
        that makes a stopping worker answer the requests it accepted, as the role's does."""
        with open(UVICORN_PATIENCE) as source, open(os.path.join(self.app_dir, "patient.py"), "w") as module:
            module.write(source.read() + "\n\n_read_accepted_requests_before_stopping()\nfrom main import app  # noqa\n")
        settings = {"app-dir": self.app_dir, "timeout-graceful-shutdown": 30}
        settings.update(self.extra)
        argv = [os.path.join(self.bin_dir, "uvicorn"), "patient:app", "--interface", "wsgi",
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        for key, value in settings.items():
            argv += ["--" + key] + ([] if value is None else [str(value)])
        return argv, open(self.log_file, "ab")

    def _granian(self):
        """Granian writes its own pidfile; its output goes to the log. The app is named by its path:
        a worker resolves it when it loads the app, not the directory the master started in."""
        settings = {"respawn-interval": 3.5, "pid-file": self.pidfile, "blocking-threads": self.threads}
        settings.update(self.extra)
        argv = [os.path.join(self.bin_dir, "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", str(self.workers)]
        for key, value in settings.items():
            argv += ["--" + key] + ([] if value is None else [str(value)])
        return argv + [os.path.join(self.app_dir, "main") + ":app"], open(self.log_file, "ab")

    def start(self):
        argv, out = {"gunicorn": self._gunicorn, "uwsgi": self._uwsgi, "uvicorn": self._uvicorn,
                     "granian": self._granian}[self.kind]()
        argv = self.prefix + argv
        self.proc = subprocess.Popen(argv, stdout=out, stderr=out, cwd=self.base,
                                     start_new_session=True, env=self.env)
        if self.kind in ("uvicorn", "granian"):
            out.close()
        if self.kind == "uvicorn":
            with open(self.pidfile, "w") as handle:
                handle.write("%d\n" % self.proc.pid)
        self.wait_ready()
        return self

    def wait_ready(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" % (self.kind, self.proc.returncode,
                                                               self.log_tail()))
            workers = self.worker_pids() if os.path.exists(self.pidfile) else []
            # uvicorn with one worker has none: it serves in its one process.
            wanted = 0 if self.kind == "uvicorn" and self.workers == 1 else self.workers
            if len(workers) >= wanted and self._loaded(workers):
                try:
                    if self.get("/healthz")[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("%s did not come up:\n%s" % (self.kind, self.log_tail()))

    def _loaded(self, workers):
        """Every lazy-apps uWSGI worker has logged its app ready: a reload signalled while one
        is still loading waits out the whole worker-reload-mercy in uWSGI 2.0.30. Every Granian
        worker has logged that it started: its line names no PID, and one written late would pass
        for its successor's."""
        if self.kind == "granian":
            return self.log_tail(400).count("Started worker-") >= self.workers
        if (self.kind != "uwsgi" or self.extra.get("lazy-apps", "true") is None
                or not os.path.exists(self.log_file)):
            return True
        log = self.log_tail(400)
        ready = [line for line in log.splitlines() if line.startswith("WSGI app ") and " ready in " in line]
        return sum(any(line.endswith("pid: %d (default app)" % pid) for line in ready)
                   for pid in workers) >= self.workers

    def worker_pids(self):
        from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
        return processes.workers(self.proc.pid, self.kind)

    def get(self, path="/", timeout=30):
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read().decode().strip()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    def reload_with_request_in_flight(self, seconds=10, **params):
        """Reload onto version 2 while a `seconds`-long request runs: (its answer, the facts)."""
        from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import reload_server
        result = {}
        slow = threading.Thread(
            target=lambda: result.update(r=self.get("/slow?s=%d" % seconds, seconds + 50)))
        slow.start()
        time.sleep(1)
        set_version(self.app_dir, "2")
        facts = reload_server(self.params(**params))
        slow.join(seconds + 60)
        return result.get("r"), facts

    def log_tail(self, lines=30):
        try:
            with open(self.log_file) as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # SIGTERM means "reload" to uWSGI 2.0 without die-on-term; SIGINT stops both.
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, AttributeError):
            pass


# What the log says of a worker, per server: it has loaded the app, and it is told to go (by PID).
SERVING_MARKS = {
    "uwsgi": (r"WSGI app \d+ \(mountpoint='[^']*'\) ready in .* pid: (\d+)", r"Gracefully killing worker \d+ \(pid: (\d+)\)"),
    "uvicorn": (r"Started server process \[(\d+)\]", r"Terminated child process \[(\d+)\]"),
}
# Granian names a worker by its number: its PID is in the line that spawned it.
GRANIAN_SPAWNING = re.compile(r"Spawning worker-(\d+) with PID: (\d+)")
GRANIAN_MARKS = (re.compile(r"Started worker-(\d+)"), re.compile(r"Stopping old worker-(\d+)"))


class ServingTimeline(threading.Thread):
    """How many workers could take a request, every 10 ms, during a reload: an old one until the
    server tells it to go, a new one once it has logged its app loaded. The log is read as it
    grows, so each line is timed within one tick of when the server wrote it."""

    def __init__(self, server):
        super().__init__(daemon=True)
        from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
        self.kind = server.kind
        self.workers = lambda: set(processes.workers(server.proc.pid, server.kind))
        self.marks = [re.compile(pattern) for pattern in SERVING_MARKS.get(server.kind, ())]
        self.ready, self.retired = set(), set()
        # Granian: each worker number's PID now and the one before it.
        self.numbered, self.before = {}, {}
        self.log = open(server.log_file)
        self._partial = ""
        self._read()
        self.old = self.workers()
        self.serving = []
        self._halt = threading.Event()

    def _read(self):
        # A line the server is still writing is kept until its end: read in halves, neither matches.
        lines = (self._partial + self.log.read()).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if self.kind != "granian":
                for pattern, found in zip(self.marks, (self.ready, self.retired)):
                    match = pattern.search(line)
                    if match:
                        found.add(int(match.group(1)))
                continue
            match = GRANIAN_SPAWNING.search(line)
            if match:
                number = int(match.group(1))
                self.before[number], self.numbered[number] = self.numbered.get(number), int(match.group(2))
            for pattern, found, names in zip(GRANIAN_MARKS, (self.ready, self.retired), (self.numbered, self.before)):
                match = pattern.search(line)
                if match and names.get(int(match.group(1))):
                    found.add(names[int(match.group(1))])

    def run(self):
        while not self._halt.is_set():
            self._read()
            alive = self.workers()
            self.serving.append(len((alive & self.old) - self.retired) + len((alive - self.old) & self.ready))
            time.sleep(0.01)

    def stop(self):
        self._halt.set()
        self.join(5)
        # What the server wrote during the last tick: the reload may end within it.
        self._read()
        self.log.close()
