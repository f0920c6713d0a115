"""uvicorn's hup (uvicorn 0.51 and later, several workers): each new worker ready before the old one
it replaces is stopped; the reload ends when no old worker is left. uvicorn's own way of giving up,
a new worker not ready in time, fails the reload with its line, while the old code still serves."""
import time

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, reload_server
from httpload import Load
from testservers import Server, ServingTimeline, break_import, set_version, slow_import

IMPORT_SECONDS = 5


def test_every_worker_is_replaced_by_one_that_serves_first_and_no_request_fails(tmp_path):
    # uvicorn waits this long for a new worker to be ready before it gives the restart up.
    srv = Server("uvicorn", tmp_path, extra={"timeout-worker-healthcheck": 30})
    slow_import(srv.app_dir, IMPORT_SECONDS)
    srv.start()
    try:
        old = srv.worker_pids()
        set_version(srv.app_dir, "2")
        timeline = ServingTimeline(srv)
        timeline.start()
        with Load(srv.url + "/", clients=4, max_seconds=120) as load:
            time.sleep(0.5)
            facts = reload_server(srv.params(method="hup"))
            time.sleep(0.5)
        timeline.stop()
        report = load.report()

        assert report["failed"] == 0 and report["ok"] > 0, report
        assert facts["server"] == "uvicorn" and facts["master_pid"] == srv.proc.pid
        assert facts["old_pids"] == old and facts["new_pids"] == srv.worker_pids()
        assert len(facts["new_pids"]) == srv.workers and not set(facts["new_pids"]) & set(old)
        # Never fewer workers in service than it runs: each old one went after its successor started.
        assert timeline.retired == set(old) and set(facts["new_pids"]) <= timeline.ready
        assert min(timeline.serving) == srv.workers
        assert srv.get("/") == (200, "hello v2")
        assert set(report["bodies"]) <= {"hello v1", "hello v2"}, report
    finally:
        srv.stop()


@pytest.mark.parametrize("release", ["slower than the health check", "cannot import"])
def test_a_restart_that_uvicorn_gives_up_fails_the_reload_and_the_old_code_serves(tmp_path, release):
    srv = Server("uvicorn", tmp_path, extra={"timeout-worker-healthcheck": 2}).start()
    try:
        old = srv.worker_pids()
        set_version(srv.app_dir, "2")
        if release == "cannot import":
            break_import(srv.app_dir)
        else:
            slow_import(srv.app_dir, 4)
        with pytest.raises(ReloadError) as failed:
            reload_server(srv.params(method="hup", timeout=60))
        assert "uvicorn gave the restart up" in failed.value.msg
        assert "was not ready in time; keeping worker [%d] and aborting the restart." % old[0] in failed.value.msg
        assert srv.worker_pids() == old and srv.get("/") == (200, "hello v1")
    finally:
        srv.stop()


def test_a_uvicorn_without_workers_or_with_a_relative_app_dir_is_refused_untouched(tmp_path):
    single = Server("uvicorn", tmp_path / "single", workers=1)
    # The app under the server's working directory, named from there.
    relative = Server("uvicorn", tmp_path / "relative", extra={"app-dir": "app"})
    try:
        single.start()
        with pytest.raises(ReloadError) as refused:
            reload_server(single.params())
        assert "runs without a master: started with --workers 1" in refused.value.msg

        relative.start()
        old = relative.worker_pids()
        with pytest.raises(ReloadError) as refused:
            reload_server(relative.params())
        assert "finds the app through --app-dir app, relative to its working directory" in refused.value.msg
        assert relative.worker_pids() == old
    finally:
        single.stop()
        relative.stop()
