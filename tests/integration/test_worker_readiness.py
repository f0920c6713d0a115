"""gunicorn worker readiness as root without CAP_SYS_PTRACE, as in a container."""
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
from packaging.requirements import Requirement

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.processes import gunicorn_worker_ready
from testservers import EXAMPLE, ROOT, Server

PROBE = ("import json, sys; sys.path.insert(0, %r); "
         "from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes; "
         "print(json.dumps([processes.gunicorn_worker_ready(int(p)) for p in sys.argv[1:]]))"
         % os.path.join(ROOT, "collections"))
# Named `gunicorn` and run by the interpreter, as a plain start does: argv[1] says what runs.
LAUNCHER = "import sys\nfrom gunicorn.app.wsgiapp import run\nsys.exit(run())\n"


def _app_requirements():
    with open(os.path.join(EXAMPLE, "requirements.txt")) as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    return [Requirement(line).name for line in lines if line]


def _needs(dist):
    """The distributions dist requires when installed without extras."""
    requirements = [Requirement(text) for text in dist.requires or ()]
    return [req.name for req in requirements if req.marker is None or req.marker.evaluate({"extra": ""})]


def _copy_distributions(names, site):
    """Copy the installed distributions `names`, and all they require, into site.

    The checkout's virtualenv may sit where nobody cannot go (/root, a 0700 mkdtemp); site is
    where the server, run as nobody, finds its packages instead.
    """
    copied = set()
    todo = list(names)
    while todo:
        dist = importlib.metadata.distribution(todo.pop())
        if dist.metadata["Name"].lower() in copied:
            continue
        copied.add(dist.metadata["Name"].lower())
        for path in dist.files:
            # Console scripts live outside site-packages; bytecode is made again as needed.
            if path.parts[0] == ".." or "__pycache__" in path.parts:
                continue
            target = os.path.join(site, str(path))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(dist.locate_file(path), target)
        todo.extend(_needs(dist))


def _server_as_nobody(base):
    """A gunicorn Server whose every file, packages included, nobody can reach under base."""
    site = os.path.join(base, "site-packages")
    _copy_distributions(["gunicorn"] + _app_requirements(), site)
    with open(os.path.join(base, "gunicorn"), "w") as handle:
        handle.write(LAUNCHER)
    server = Server("gunicorn", base)
    for root, dirs, files in os.walk(base):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o777)
    server.bin_dir = base
    # The real interpreter: a virtualenv's bin/python is a link inside the virtualenv.
    server.prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                     os.path.realpath(sys.executable)]
    server.env = dict(os.environ, PYTHONPATH=site)
    return server


@pytest.fixture
def gunicorn_as_nobody():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.fail("this test needs root and setpriv (util-linux), as CI has")
    # Not pytest's tmp_path: that is root's alone (0700), and so may be the checkout.
    base = tempfile.mkdtemp(prefix="wsgi-deploy-nobody-")
    os.chmod(base, 0o777)
    try:
        server = _server_as_nobody(base)
        try:
            yield server.start()
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_serving_workers_of_another_user_count_as_ready_without_ptrace(gunicorn_as_nobody):
    workers = gunicorn_as_nobody.worker_pids()
    # Seen by root first: the one healthz answer that starts the server comes from one worker.
    deadline = time.monotonic() + 10
    while not all(gunicorn_worker_ready(pid) for pid in workers):
        assert time.monotonic() < deadline, "workers never reached their serving loop"
        time.sleep(0.05)
    probe = subprocess.run(
        ["setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace",
         sys.executable, "-c", PROBE] + [str(pid) for pid in workers],
        capture_output=True, text=True, check=True)
    assert json.loads(probe.stdout) == [True] * len(workers)


def test_the_master_is_not_a_serving_worker(gunicorn):
    # The master holds every worker's heartbeat file, so it never has exactly one.
    deadline = time.monotonic() + 10
    while not all(gunicorn_worker_ready(pid) for pid in gunicorn.worker_pids()):
        assert time.monotonic() < deadline, "workers never reached their serving loop"
        time.sleep(0.05)
    assert gunicorn_worker_ready(gunicorn.proc.pid) is False
