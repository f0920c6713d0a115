"""What the module refuses before it signals or touches anything, against real processes."""
import os
import subprocess
import time

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, reload_server
from testservers import Server


def _refused(params, check_mode=False):
    with pytest.raises(ReloadError) as caught:
        reload_server(params, check_mode=check_mode)
    return caught.value.msg


@pytest.fixture(params=[False, True], ids=["run", "check"])
def check_mode(request):
    return request.param


def test_missing_pidfile_is_refused(gunicorn, check_mode):
    params = gunicorn.params(pidfile=gunicorn.pidfile + ".missing")
    assert "does not exist" in _refused(params, check_mode)


def test_pidfile_without_a_pid_is_refused(gunicorn, tmp_path, check_mode):
    bad = tmp_path / "bad.pid"
    bad.write_text("not-a-pid\n")
    assert "not a process ID" in _refused(gunicorn.params(pidfile=str(bad)), check_mode)


def test_stale_pidfile_naming_an_unrelated_process_never_signals_it(gunicorn, tmp_path,
                                                                     check_mode):
    # sleep dies of SIGHUP, so a signal sent by mistake would show.
    bystander = subprocess.Popen(["sleep", "120"])
    deadline = time.monotonic() + 5
    while processes.argv(bystander.pid) != ["sleep", "120"]:  # until its exec is done
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        stale = tmp_path / "stale.pid"
        stale.write_text("%d\n" % bystander.pid)
        msg = _refused(gunicorn.params(pidfile=str(stale)), check_mode)
        assert "sleep 120" in msg and "stale" in msg and "not signalled" in msg
        time.sleep(0.3)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_pidfile_naming_a_dead_pid_is_refused(gunicorn, tmp_path, check_mode):
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / "dead.pid"
    stale.write_text("%d\n" % gone.pid)
    assert "not running" in _refused(gunicorn.params(pidfile=str(stale)), check_mode)


def test_pidfile_naming_a_worker_is_refused_and_the_worker_keeps_serving(server, tmp_path,
                                                                         check_mode):
    worker = server.worker_pids()[0]
    wrong = tmp_path / "worker.pid"
    wrong.write_text("%d\n" % worker)
    msg = _refused(server.params(pidfile=str(wrong)), check_mode)
    assert "worker" in msg and str(server.proc.pid) in msg
    assert worker in server.worker_pids()


def test_uwsgi_without_a_log_file_is_refused_before_the_touch(tmp_path, check_mode):
    srv = Server("uwsgi", tmp_path, extra={"logto": None}).start()
    try:
        msg = _refused(srv.params(log_file=None), check_mode)
        assert "does not log to a file" in msg
        assert not os.path.exists(srv.reload_file)
    finally:
        srv.stop()


def test_uwsgi_log_file_is_found_behind_the_masters_stderr(tmp_path):
    srv = Server("uwsgi", tmp_path, extra={"logto": None, "daemonize": None})
    argv, _ = srv._uwsgi()
    with open(srv.log_file, "w") as log:
        srv.proc = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
    try:
        srv.wait_ready()
        facts = reload_server(srv.params(log_file=None))
        assert facts["log_file"] == srv.log_file
        assert facts["ended_by"] == "log: chain reloading complete"
    finally:
        srv.stop()
