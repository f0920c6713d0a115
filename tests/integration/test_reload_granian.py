"""Granian's hup: one worker at a time, the old one stopped a fixed respawn interval after the new one
was spawned. The reload ends when no old worker is left and each new one logged that it started;
an old worker stopped before its successor had loaded the app is reported, a worker lost fails it."""
import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, reload_server
from testservers import Server, ServingTimeline, break_import, set_version, slow_import

IMPORT_SECONDS = 5


def test_with_a_respawn_interval_longer_than_the_start_every_worker_serves_throughout(tmp_path):
    # No load here: Granian 2.8.9 closes, unanswered, one or two connections that a stopping worker had
    # accepted in a reload under a full-rate load, under its plain SIGHUP as under the module's (README,
    # Figures, counts them). What the module proves is when each worker served.
    srv = Server("granian", tmp_path, extra={"respawn-interval": IMPORT_SECONDS + 2})
    slow_import(srv.app_dir, IMPORT_SECONDS)
    srv.start()
    try:
        old = srv.worker_pids()
        set_version(srv.app_dir, "2")
        timeline = ServingTimeline(srv)
        timeline.start()
        facts = reload_server(srv.params(method="hup"))
        timeline.stop()

        assert facts["server"] == "granian" and facts["master_pid"] == srv.proc.pid
        assert facts["old_pids"] == old and facts["new_pids"] == srv.worker_pids()
        assert not set(facts["new_pids"]) & set(old) and "warnings" not in facts
        # Never fewer workers serving than it runs: each old one went after its successor started.
        assert timeline.retired == set(old) and set(facts["new_pids"]) <= timeline.ready
        assert min(timeline.serving) == srv.workers
        assert srv.get("/") == (200, "hello v2")
    finally:
        srv.stop()


def test_an_old_worker_stopped_before_its_successor_started_is_reported(tmp_path):
    srv = Server("granian", tmp_path, extra={"respawn-interval": 0.5}).start()
    try:
        set_version(srv.app_dir, "2")
        slow_import(srv.app_dir, 3)
        facts = reload_server(srv.params(method="hup"))
        assert facts["stopped_early"] == [1, 2], srv.log_tail(40)
        assert ("Granian stopped old worker worker-1, worker-2 before its successor had loaded the app"
                in facts["warnings"][0])
        assert srv.get("/") == (200, "hello v2")
    finally:
        srv.stop()


def test_a_release_whose_worker_cannot_start_fails_the_reload_with_the_log(tmp_path):
    srv = Server("granian", tmp_path, extra={"respawn-interval": 1}).start()
    try:
        break_import(srv.app_dir)
        with pytest.raises(ReloadError) as failed:
            reload_server(srv.params(method="hup", timeout=60))
        # Granian then stops altogether: the role's import check keeps such code from a reload, and
        # its rollback starts the server again.
        assert "lost a worker during the reload" in failed.value.msg
        assert "Unexpected exit from worker-1" in failed.value.msg
    finally:
        srv.stop()


def test_granian_with_one_worker_is_refused_untouched(tmp_path):
    srv = Server("granian", tmp_path, workers=1).start()
    try:
        old = srv.worker_pids()
        with pytest.raises(ReloadError) as refused:
            reload_server(srv.params())
        assert "runs one worker: its reload stops that worker a fixed respawn interval" in refused.value.msg
        assert srv.worker_pids() == old
    finally:
        srv.stop()
