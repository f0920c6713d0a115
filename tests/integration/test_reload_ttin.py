"""gunicorn's ttin reload: new workers beside the old ones, same master, the old ones retired
only once every new one serves. For an app whose import takes seconds, no request waits for it."""
import os
import signal
import threading
import time

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, reload_server
from httpload import Load
from testservers import Server, break_import, set_version, slow_import

IMPORT_SECONDS = 5


class WorkerTimeline(threading.Thread):
    """When each of the master's workers was first seen serving, and when each was last seen."""

    def __init__(self, master):
        super().__init__(daemon=True)
        self.master = master
        self.ready = {}
        self.last_seen = {}
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            now = time.monotonic()
            for pid in processes.children(self.master):
                self.last_seen[pid] = now
                if pid not in self.ready and processes.gunicorn_worker_ready(pid):
                    self.ready[pid] = now
            time.sleep(0.01)

    def stop(self):
        self._halt.set()
        self.join(5)


@pytest.fixture
def slow_gunicorn(tmp_path):
    server = Server("gunicorn", tmp_path)
    slow_import(server.app_dir, IMPORT_SECONDS)
    try:
        yield server.start()
    finally:
        server.stop()


def test_the_old_workers_serve_until_every_new_one_does_and_no_request_fails(slow_gunicorn):
    srv = slow_gunicorn
    master = srv.proc.pid
    old = srv.worker_pids()
    set_version(srv.app_dir, "2")
    timeline = WorkerTimeline(master)
    timeline.start()
    with Load(srv.url + "/", clients=4, max_seconds=120) as load:
        time.sleep(0.5)
        facts = reload_server(srv.params(method="ttin"))
        time.sleep(0.5)
    timeline.stop()
    report = load.report()

    assert report["failed"] == 0 and report["ok"] > 0, report
    assert facts["method"] == "ttin" and facts["master_pid"] == master
    assert facts["old_pids"] == old and len(facts["new_pids"]) == srv.workers
    assert not set(facts["new_pids"]) & set(old)
    assert processes.children(master) == facts["new_pids"]
    # Every old worker was still there after the last new one served: none stopped for the import.
    assert max(timeline.ready[pid] for pid in facts["new_pids"]) < min(timeline.last_seen[pid] for pid in old)
    assert srv.get("/") == (200, "hello v2")
    # Nothing it answered in the reload came from a half-loaded worker: old body or new one.
    assert set(report["bodies"]) <= {"hello v1", "hello v2"}, report


def test_a_release_that_cannot_import_stops_gunicorn_and_says_so(tmp_path):
    srv = Server("gunicorn", tmp_path).start()
    try:
        break_import(srv.app_dir)
        with pytest.raises(ReloadError) as failed:
            reload_server(srv.params(method="ttin", timeout=60))
        # gunicorn itself stops when a worker cannot load the app, as under hup: the role's import
        # check runs before any reload for that reason, and its rollback starts the server again.
        assert "died during the reload" in failed.value.msg and failed.value.facts["running"] is False
        assert any("this release cannot be imported" in line for line in failed.value.facts["log_lines"])
    finally:
        srv.stop()


def test_a_master_that_does_not_act_on_ttin_fails_the_reload_with_the_old_workers_serving(tmp_path):
    srv = Server("gunicorn", tmp_path).start()
    master = srv.proc.pid
    old = srv.worker_pids()
    try:
        set_version(srv.app_dir, "2")
        # A stopped master takes the signal but forks nothing, as one stuck would.
        os.kill(master, signal.SIGSTOP)
        with pytest.raises(ReloadError) as failed:
            reload_server(srv.params(method="ttin", timeout=60))
        assert "did not fork a worker within 10s of TTIN 1 of 2" in failed.value.msg
        assert "The old workers still serve" in failed.value.msg
        assert srv.worker_pids() == old
    finally:
        os.kill(master, signal.SIGCONT)
        srv.stop()
