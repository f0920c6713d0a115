"""Reloads that go wrong on real servers end in a clear failure, never a silent success."""
import time

import pytest

from testservers import Server, break_import
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, reload_server


def _failure(params):
    with pytest.raises(ReloadError) as caught:
        reload_server(params)
    return caught.value


def test_gunicorn_master_dying_on_broken_code_is_reported(tmp_path):
    # With more than one worker, a HUP with code that cannot import kills the master.
    srv = Server("gunicorn", tmp_path, workers=2).start()
    try:
        break_import(srv.app_dir)
        error = _failure(srv.params(timeout=30))
        assert "master" in error.msg and "died" in error.msg
        assert error.facts["running"] is False
        assert any("cannot be imported" in line or "Worker failed to boot" in line
                   or "HaltServer" in line for line in error.facts["log_lines"])
    finally:
        srv.stop()


def test_uwsgi_chain_with_broken_code_is_not_taken_for_success(uwsgi):
    break_import(uwsgi.app_dir)
    error = _failure(uwsgi.params(timeout=60))
    assert "failed to load the new code" in error.msg
    assert "unable to load app" in error.msg or "no app loaded" in error.msg


def test_uwsgi_that_ignores_the_touch_is_reported(tmp_path):
    srv = Server("uwsgi", tmp_path, extra={"touch-chain-reload": None}).start()
    try:
        error = _failure(srv.params(timeout=30))
        assert "did not react" in error.msg and "touch-chain-reload" in error.msg
    finally:
        srv.stop()


def test_gunicorn_that_never_reaches_the_expected_worker_count_times_out(gunicorn):
    error = _failure(gunicorn.params(expected_workers=5, timeout=3))
    assert "within 3.0s" in error.msg and "expected 5" in error.msg


@pytest.mark.parametrize("kind", ["gunicorn", "uwsgi"])
def test_check_mode_twin_with_broken_code_reports_and_leaves_the_old_code_serving(kind, tmp_path):
    srv = Server(kind, tmp_path).start()
    try:
        workers = srv.worker_pids()
        break_import(srv.app_dir)
        facts = reload_server(srv.params(), check_mode=True)
        assert facts["changed"] is True and facts["reloaded"] is False
        time.sleep(2.5)  # past uWSGI's touch poll and gunicorn's ~0.3 s death on a bad HUP
        assert srv.proc.poll() is None
        assert srv.worker_pids() == workers
        assert srv.get("/") == (200, "hello v1")
    finally:
        srv.stop()
