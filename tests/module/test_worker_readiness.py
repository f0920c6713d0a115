"""gunicorn worker readiness as root without CAP_SYS_PTRACE, as in a container."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from testservers import Server

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_UTILS = os.path.join(HERE, "..", "..", "roles", "wsgi_deploy", "module_utils")
PROBE = ("import json, sys; sys.path.insert(0, %r); import wsgi_procs; "
         "print(json.dumps([processes.gunicorn_worker_ready(int(p)) for p in sys.argv[1:]]))"
         % os.path.abspath(MODULE_UTILS))


@pytest.fixture
def gunicorn_as_nobody():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.fail("this test needs root and setpriv (util-linux), as CI has")
    base = tempfile.mkdtemp(prefix="wsgi-deploy-nobody-")
    os.chmod(base, 0o777)
    server = Server("gunicorn", base)
    argv, _ = server._gunicorn()
    for root, dirs, files in os.walk(base):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o777)
    server.proc = subprocess.Popen(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + argv,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_serving_workers_of_another_user_count_as_ready_without_ptrace(gunicorn_as_nobody):
    from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.processes import gunicorn_worker_ready
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
    from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.processes import gunicorn_worker_ready
    deadline = time.monotonic() + 10
    while not all(gunicorn_worker_ready(pid) for pid in gunicorn.worker_pids()):
        assert time.monotonic() < deadline, "workers never reached their serving loop"
        time.sleep(0.05)
    assert gunicorn_worker_ready(gunicorn.proc.pid) is False
